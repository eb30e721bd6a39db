"""shows.lifecycle: the apps above shows hear of status changes through registered listeners."""

import datetime as dt

import pytest

from chat.models import ShowEvent
from chat.services import system_message_on_transition
from shows import lifecycle, replays
from shows.models import Show, ShowPin
from shows.services import show_end, show_go_live
from tests.factories import ProductFactory, ShowFactory
from video import selectors as video_selectors
from video.services import channel_now_playing_on_transition, show_replay_announce

pytestmark = pytest.mark.django_db

STARTED = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.UTC)


def _event_types(show: Show) -> list[str]:
    return list(ShowEvent.objects.filter(show=show).order_by("seq").values_list("type", flat=True))


@pytest.fixture
def listeners(monkeypatch):
    """Only the listeners a test registers (the apps' own are put back afterwards)."""
    monkeypatch.setattr(lifecycle, "_transition_listeners", [])
    monkeypatch.setattr(lifecycle, "_end_listeners", [])


def test_chat_and_video_listen_in_app_order_and_video_installs_the_replay_rule():
    assert lifecycle.show_transition_listeners() == (
        system_message_on_transition,
        channel_now_playing_on_transition,
    )
    assert lifecycle.show_end_listeners() == (show_replay_announce,)
    assert replays.show_replay_rule() is video_selectors.show_has_visible_replay_q


def test_listeners_run_after_the_status_event_and_end_listeners_after_the_pins(listeners):
    show = ShowFactory(status=Show.Status.LIVE, actual_start=STARTED)
    ShowPin.objects.create(
        show=show, product=ProductFactory(), pinned_at=STARTED, start_offset_ms=0
    )
    seen = []

    def on_transition(*, show):
        seen.append(("transition", show.status, _event_types(show)))

    def on_end(*, show):
        open_pins = ShowPin.objects.filter(show=show, unpinned_at__isnull=True).count()
        seen.append(("end", show.status, _event_types(show), open_pins))

    lifecycle.show_end_listener_register(on_end)
    lifecycle.show_transition_listener_register(on_transition)

    show_end(show=show)

    assert seen == [
        ("transition", "ended", ["show.status"]),
        ("end", "ended", ["show.status", "product.unpinned"], 0),
    ]


def test_a_listener_is_registered_once_and_end_listeners_hear_only_ends(listeners):
    show = ShowFactory()
    calls = []

    def on_transition(*, show):
        calls.append(("transition", show.status))

    def on_end(*, show):
        calls.append(("end", show.status))

    for _ in range(2):
        lifecycle.show_transition_listener_register(on_transition)
        lifecycle.show_end_listener_register(on_end)

    show_go_live(show=show)
    show_end(show=show)

    assert calls == [("transition", "live"), ("transition", "ended"), ("end", "ended")]


def test_a_listener_that_raises_rolls_the_transition_back(listeners):
    show = ShowFactory()

    def refuse(*, show):
        raise RuntimeError("listener failed")

    lifecycle.show_transition_listener_register(refuse)

    with pytest.raises(RuntimeError, match="listener failed"):
        show_go_live(show=show)

    show.refresh_from_db()
    assert (show.status, show.actual_start) == (Show.Status.SCHEDULED, None)
    assert _event_types(show) == []
