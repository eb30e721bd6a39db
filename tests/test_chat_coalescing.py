"""The coalescing window rule the hub and the benchmark's reference share."""

import pytest

from realtime.coalescing import MAX_WINDOW_SECONDS, window_next


@pytest.mark.parametrize(
    ("flush_seconds", "window"),
    [
        (0.0, 0.1),  # quiet: the configured window
        (0.04, 0.1),  # a 40 ms flush still fits in half of 100 ms
        (0.06, 0.12),  # then the window is twice the flush
        (0.2, MAX_WINDOW_SECONDS),  # never past the cap
    ],
)
def test_window_widens_to_twice_the_flush_up_to_the_cap(flush_seconds, window):
    assert window_next(base=0.1, flush_seconds=flush_seconds) == pytest.approx(window)
