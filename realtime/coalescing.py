"""How long the hub waits between two frames of one show (no Django here: the
benchmark's reference server applies the very same rule).

A lone event goes out at once; after a frame, the next waits at least the configured
window (50-100 ms), so a burst becomes one frame. Under load a flush to thousands of
sockets takes tens of ms: the window then widens to twice the last flush, so
flushing never takes more than about half of the event loop and receiving keeps up.
It never widens past ``MAX_WINDOW_SECONDS``: an event can wait a whole window before
its frame goes out, and the latency target (p99 under 250 ms at 3,000 viewers,
docs/benchmarks.md) leaves room for about 150 ms of it.
"""

FLUSH_SHARE = 0.5
MAX_WINDOW_SECONDS = 0.15


def window_next(*, base: float, flush_seconds: float) -> float:
    """The window after a flush that took ``flush_seconds``; ``base`` is the configured one."""
    return min(MAX_WINDOW_SECONDS, max(base, flush_seconds / FLUSH_SHARE))
