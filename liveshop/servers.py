"""How liveshop's ASGI application is served: daphne or uvicorn, same limits either way.

Both enforce the protocol's 64 KiB frame limit themselves (closing with 1009), so an
oversized frame is dropped before it is buffered. uvicorn runs the websocket path
several times cheaper per frame (docs/benchmarks.md); daphne is the default.
"""

from __future__ import annotations

import sys

from django.conf import settings

SERVERS = ("daphne", "uvicorn")
APPLICATION = "liveshop.asgi:application"


def asgi_server_command(*, server: str, host: str, port: int) -> list[str]:
    """The command line that serves liveshop with ``server`` on ``host:port``."""
    max_bytes = str(settings.LIVESHOP_WS_MAX_FRAME_BYTES)
    python = sys.executable
    if server == "daphne":
        return [
            python,
            "-m",
            "daphne",
            "-b",
            host,
            "-p",
            str(port),
            "--websocket-max-message-size",
            max_bytes,
            "--websocket-max-frame-size",
            max_bytes,
            APPLICATION,
        ]
    if server == "uvicorn":
        return [
            python,
            "-m",
            "uvicorn",
            APPLICATION,
            "--host",
            host,
            "--port",
            str(port),
            "--ws",
            "websockets-sansio",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--ws-max-size",
            max_bytes,
            "--ws-per-message-deflate",
            "false",
            # Django's ASGI handler does not speak the lifespan protocol.
            "--lifespan",
            "off",
            "--no-access-log",
        ]
    raise ValueError(f"unknown ASGI server {server!r}; choose one of {', '.join(SERVERS)}")
