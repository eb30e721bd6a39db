"""Real ASGI server processes for tests: what only a running server shows.

A server started here serves the current test's database (the test must use
``transactional_db`` so the server sees its rows) and the suite's Redis.
"""

import os
import shutil
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from liveshop.servers import asgi_server_command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_wait(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


def server_environment(**extra: str) -> dict[str, str]:
    """The environment of a server process on this test's database and Redis."""
    url = urllib.parse.urlsplit(settings.DATABASE_URL)
    test_database_url = url._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    environment = dict(
        os.environ,
        DATABASE_URL=test_database_url,
        REDIS_URL=settings.REDIS_URL,
        DJANGO_SETTINGS_MODULE="liveshop.settings.test",
        LIVESHOP_LOG_LEVEL="WARNING",
    )
    environment.update(extra)
    return environment


@contextmanager
def servers_running(
    names: tuple[str, ...],
    ports: dict[str, int] | None = None,
    log: Path | None = None,
    env: dict[str, str] | None = None,
    **environment: str,
) -> Iterator[dict[str, int]]:
    """Start one process per server name; yields {name: port} once all listen.

    ``ports`` fixes the port of some servers, for settings that must name it.
    ``log`` receives the servers' stderr (their log), for tests that read it.
    ``env`` replaces the whole environment (``server_environment`` by default).
    """
    started: dict[str, int] = {}
    processes: list[subprocess.Popen] = []
    env = env if env is not None else server_environment(**environment)
    log_file = open(log, "ab") if log is not None else None  # noqa: SIM115
    try:
        for name in names:
            port = (ports or {}).get(name) or free_port()
            command = asgi_server_command(server=name, host="127.0.0.1", port=port)
            process = subprocess.Popen(
                command,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log_file if log_file is not None else subprocess.PIPE,
            )
            processes.append(process)
            started[name] = port
        for process, port in zip(processes, started.values(), strict=True):
            port_wait(port, process)
        yield started
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if log_file is not None:
            log_file.close()


def redis_server_installed() -> bool:
    return shutil.which("redis-server") is not None


class RedisServer:
    """A redis-server of one test's own on a free port, saving nothing: stop and start it
    to see what liveshop does while Redis is down. The port stays the same."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        port_wait(self.port, self.process, timeout=10)

    def stop(self) -> None:
        """Kill it, as a crash would; returns once the port is closed."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None
