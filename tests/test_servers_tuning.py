"""The interpreter tuning every ASGI server process applies at start-up."""

import gc
import sys

import pytest

from liveshop.servers import GC_YOUNG_THRESHOLD, asgi_process_tune


@pytest.fixture
def interpreter_restored():
    interval, threshold = sys.getswitchinterval(), gc.get_threshold()
    yield
    sys.setswitchinterval(interval)
    gc.set_threshold(*threshold)
    gc.unfreeze()


def test_server_process_hands_the_gil_over_sooner_and_collects_less_often(
    settings, interpreter_restored
):
    settings.LIVESHOP_GIL_SWITCH_INTERVAL_US = 500
    _, middle, old = gc.get_threshold()

    asgi_process_tune()

    assert sys.getswitchinterval() == pytest.approx(0.0005)
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, middle, old)
    # What existed at start-up is out of every later collection.
    assert gc.get_freeze_count() > 10_000
