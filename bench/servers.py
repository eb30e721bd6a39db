"""Starting and measuring the servers under test.

liveshop is started the way production runs it (docs/deploy.md): PostgreSQL, Redis, one ASGI
server process per port with the command line of ``liveshop.servers``, DEBUG off. Its CPU and
memory are read from the server processes with psutil.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/liveshop_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"


class BenchSetupError(RuntimeError):
    """Something the benchmark needs (PostgreSQL, Redis, a port) is not there."""


@dataclass(frozen=True)
class Engines:
    database_url: str
    redis_url: str

    @classmethod
    def from_environment(cls) -> Engines:
        return cls(
            database_url=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
            redis_url=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        )


def _redis_client(redis_url: str):
    import redis

    return redis.Redis.from_url(redis_url, socket_connect_timeout=3)


def engines_check(engines: Engines) -> None:
    """Fail with a clear message when PostgreSQL or Redis cannot be reached."""
    import psycopg
    import redis

    parts = urlsplit(engines.database_url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(admin_url, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        raise BenchSetupError(
            f"PostgreSQL is not reachable at {parts.hostname}:{parts.port or 5432} "
            f"(set BENCH_DATABASE_URL): {error}"
        ) from error
    try:
        _redis_client(engines.redis_url).ping()
    except redis.RedisError as error:
        raise BenchSetupError(
            f"Redis is not reachable at {engines.redis_url} (set BENCH_REDIS_URL): {error}"
        ) from error


def database_ensure(engines: Engines) -> None:
    """Create the benchmark database when it is missing (it is kept between runs)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(engines.database_url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def redis_flush(engines: Engines) -> None:
    """Empty the benchmark's own Redis database so every run starts from a clean log."""
    _redis_client(engines.redis_url).flushdb()


def redis_cpu_seconds(engines: Engines) -> float:
    info = _redis_client(engines.redis_url).info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def liveshop_environment(engines: Engines, extra: dict[str, str]) -> dict[str, str]:
    environment = os.environ.copy()
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "liveshop.settings",
            "DATABASE_URL": engines.database_url,
            "REDIS_URL": engines.redis_url,
            "DJANGO_DEBUG": "false",
            # A throw-away key: production refuses to start without one.
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LIVESHOP_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    environment.update(extra)
    return environment


def liveshop_prepare(
    environment: dict[str, str],
    senders: int,
    log_dir: Path,
    server: str,
    ports: list[int],
    pin_products: int = 0,
) -> dict:
    """Migrate the benchmark database, create a live show and its senders, and return them
    with the production command line of ``server`` for each port.

    Runs in child processes so the orchestrator never imports Django.
    """
    python = sys.executable
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "migrate.log", "w") as log:
        result = subprocess.run(
            [python, "manage.py", "migrate", "--no-input"],
            cwd=BASE_DIR,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise BenchSetupError(f"manage.py migrate failed; see {log_dir / 'migrate.log'}")
    setup = subprocess.run(
        [
            python,
            "-m",
            "bench.setup_show",
            "--senders",
            str(senders),
            "--server",
            server,
            "--ports",
            ",".join(str(port) for port in ports),
            "--pin-products",
            str(pin_products),
        ],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if setup.returncode != 0:
        raise BenchSetupError(f"bench.setup_show failed:\n{setup.stderr[-2000:]}")
    return json.loads(setup.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reference_command(port: int, window: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bench.reference_server",
        "--port",
        str(port),
        "--window",
        str(window),
    ]


@dataclass
class ServerGroup:
    """One or more server processes of the same kind, each on its own port."""

    kind: str
    ports: list[int]
    processes: list[subprocess.Popen] = field(default_factory=list)
    handles: list[psutil.Process] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start(self, environment: dict[str, str], log_dir: Path, commands: list[list[str]]) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        for port, command in zip(self.ports, commands, strict=True):
            log_path = log_dir / f"{self.kind}-{port}.log"
            with open(log_path, "w") as log:
                process = subprocess.Popen(
                    command,
                    cwd=BASE_DIR,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_nofile_raise_child,
                )
            self.processes.append(process)
            self.handles.append(psutil.Process(process.pid))
            self.logs.append(log_path)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for process, port, log in zip(self.processes, self.ports, self.logs, strict=True):
            while True:
                if process.poll() is not None:
                    raise BenchSetupError(
                        f"{self.kind} on port {port} exited with {process.returncode}:\n"
                        + _tail(log)
                    )
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise BenchSetupError(
                            f"{self.kind} on port {port} did not listen within {timeout:.0f} s"
                        ) from None
                    time.sleep(0.2)

    def cpu_seconds(self) -> float:
        total = 0.0
        for handle in self.handles:
            times = handle.cpu_times()
            total += times.user + times.system
        return total

    def rss_bytes(self) -> int:
        return sum(handle.memory_info().rss for handle in self.handles)

    def profile_start(self, directory: Path, label: str) -> list[subprocess.Popen]:
        """py-spy profiles of every server process until ``profile_stop``.

        Collapsed stacks (one line per stack with its sample count): grep-able, and
        flamegraph.pl, speedscope or inferno draw them.
        """
        spy = Path(sys.executable).with_name("py-spy")
        directory.mkdir(parents=True, exist_ok=True)
        profilers = []
        for handle, port in zip(self.handles, self.ports, strict=True):
            output = directory / f"{label}-{port}.txt"
            profilers.append(
                subprocess.Popen(
                    [
                        str(spy),
                        "record",
                        "--pid",
                        str(handle.pid),
                        "--rate",
                        "100",
                        "--format",
                        "raw",
                        "-o",
                        str(output),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        return profilers

    @staticmethod
    def profile_stop(profilers: list[subprocess.Popen]) -> None:
        for profiler in profilers:
            # py-spy writes its file on SIGINT.
            profiler.send_signal(signal.SIGINT)
        for profiler in profilers:
            try:
                profiler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                profiler.kill()

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _nofile_raise_child() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
