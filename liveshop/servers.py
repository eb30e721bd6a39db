"""How liveshop's ASGI application is served: daphne or uvicorn, same limits either way.

Both enforce the protocol's 64 KiB frame limit themselves (closing with 1009), so an
oversized frame is dropped before it is buffered. uvicorn runs the websocket path
several times cheaper per frame (docs/benchmarks.md) and is the default.
"""

from __future__ import annotations

import gc
import sys

from django.conf import settings

SERVERS = ("daphne", "uvicorn")
# The server ``make run`` starts. uvicorn keeps the whole protocol: daphne sends close
# codes without their reason text (docs/protocol.md, 1.2, promises both; daphne's
# ``serverClose`` drops the ASGI ``reason``, django/daphne#374), and under the 3,000-viewer
# benchmark uvicorn's p99 was 206 ms where daphne's was 7 s (docs/benchmarks.md).
ASGI_SERVER_DEFAULT = "uvicorn"
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


# Young-generation threshold of the garbage collector in a server process (Python's
# default is 700 allocations).
GC_YOUNG_THRESHOLD = 50_000


def asgi_process_tune() -> None:
    """Tune this interpreter for one event loop serving thousands of sockets.

    Called once by ``liveshop.asgi`` after Django is set up. Measured under
    ``make bench`` (docs/benchmarks.md):

    - The event loop writes broadcast frames while chat sends run their queries on a
      database thread. After each round trip that thread needs the GIL back, and
      Python lets the busy loop keep it for up to 5 ms first: a send of eight queries
      waited 100 ms and more and sends queued. A shorter switch interval hands the GIL
      over sooner; it costs a switch only while a thread is waiting.
    - Full garbage collections paused the loop for 100-630 ms every few seconds at
      3,000 sockets: each walks every object of the process. ``gc.freeze`` takes what
      exists after start-up (Django, the URL and model registries) out of every later
      collection, and a larger young generation lets the objects of one flush die
      young instead of being promoted, which is what made full collections frequent.
    """
    sys.setswitchinterval(settings.LIVESHOP_GIL_SWITCH_INTERVAL_US / 1_000_000)
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
