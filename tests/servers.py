"""Real ASGI server processes for tests: what only a running server shows.

A server started here serves the current test's database (the test must use
``transactional_db`` so the server sees its rows) and the suite's Redis.
"""

import os
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

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
    names: tuple[str, ...], ports: dict[str, int] | None = None, **environment: str
) -> Iterator[dict[str, int]]:
    """Start one process per server name; yields {name: port} once all listen.

    ``ports`` fixes the port of some servers, for settings that must name it.
    """
    started: dict[str, int] = {}
    processes: list[subprocess.Popen] = []
    env = server_environment(**environment)
    try:
        for name in names:
            port = (ports or {}).get(name) or free_port()
            command = asgi_server_command(server=name, host="127.0.0.1", port=port)
            process = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
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
