"""The hub's flush in parts: every socket gets each frame once, in seq order."""

import asyncio

import orjson
import pytest
from channels.db import database_sync_to_async

from realtime import hub as hub_module
from realtime.hub import JOINING, LIVE, HubConnection, RoomFeed
from realtime.rooms import RoomRef
from shows.events import show_room_ensure
from shows.models import Show, ShowEvent, ShowRoom
from tests.factories import ShowFactory
from tests.sockets import batch_events, frame_receive, frames_until, hub_shutdown, socket_open


def _event(seq: int) -> dict:
    return {"seq": seq, "type": "message.created", "data": {"n": seq}, "aud": "public", "uid": None}


def _connection(received: list, *, state: int = LIVE) -> HubConnection:
    async def send(message: dict) -> None:
        received.append(orjson.loads(message["text"]))

    async def close(code: int) -> None:
        raise AssertionError(f"closed with {code}")

    connection = HubConnection(send=send, close=close, user_id=None, is_team=False, viewer_key="a")
    connection.state = state
    return connection


def _seqs(frames: list) -> list[int]:
    return [event["seq"] for frame in frames for event in frame["events"]]


async def _drain(feed: RoomFeed) -> None:
    for _ in range(200):
        if feed.flush_handle is None and not feed.outbox:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the feed never finished flushing")


@pytest.mark.asyncio
async def test_a_flush_in_parts_reaches_every_socket_once_and_in_order(monkeypatch, settings):
    monkeypatch.setattr(hub_module, "FLUSH_PART_SOCKETS", 2)
    settings.LIVESHOP_FANOUT_WINDOW_MS = 10
    feed = RoomFeed(None, RoomRef("show", 1))
    feed.delivered_seq = 0
    inboxes = [[] for _ in range(5)]
    for inbox in inboxes:
        feed.connections.add(_connection(inbox))

    feed.receive(_event(1))
    await asyncio.sleep(0)  # the first part goes out
    assert feed.flush_handle is not None  # the other parts wait for later loop turns
    feed.receive(_event(2))  # arrives mid-flush: it must not overtake event 1
    await _drain(feed)

    assert [_seqs(inbox) for inbox in inboxes] == [[1, 2]] * 5
    assert all(inbox[0]["seq"] == 1 for inbox in inboxes)


@pytest.mark.asyncio
async def test_a_socket_that_goes_live_during_a_flush_gets_each_event_once(monkeypatch, settings):
    monkeypatch.setattr(hub_module, "FLUSH_PART_SOCKETS", 1)
    settings.LIVESHOP_FANOUT_WINDOW_MS = 10
    feed = RoomFeed(None, RoomRef("show", 1))
    feed.delivered_seq = 0
    early, joining_inbox = [], []
    feed.connections.add(_connection(early))
    joining = _connection(joining_inbox, state=JOINING)
    feed.connections.add(joining)

    feed.receive(_event(1))
    feed.receive(_event(2))
    await asyncio.sleep(0)
    # Its snapshot was read at seq 1, while the flush of 1-2 is under way.
    feed.activate(joining, floor=1)
    await _drain(feed)

    assert _seqs(early) == [1, 2]
    assert _seqs(joining_inbox) == [2]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_event_no_broker_carried_is_read_from_the_log(settings):
    # As in embedded mode, when the Celery worker (another process) wrote the event.
    settings.LIVESHOP_FANOUT_WINDOW_MS = 10
    show = await database_sync_to_async(ShowFactory)(status=Show.Status.LIVE)
    await database_sync_to_async(show_room_ensure)(show_id=show.pk)
    feed = RoomFeed(None, RoomRef("show", show.pk))
    feed.delivered_seq = 0
    inbox = []
    feed.connections.add(_connection(inbox))

    def write_without_publishing() -> None:
        ShowRoom.objects.filter(show_id=show.pk).update(last_seq=1)
        ShowEvent.objects.create(show_id=show.pk, seq=1, type="video.replay", data={"n": 1})

    await database_sync_to_async(write_without_publishing)()
    await feed.log_catch_up()
    await _drain(feed)
    await feed.log_catch_up()  # nothing new: nothing sent again
    await _drain(feed)

    assert [(event["seq"], event["type"]) for frame in inbox for event in frame["events"]] == [
        (1, "video.replay")
    ]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_embedded_mode_delivers_events_other_processes_wrote(settings):
    # No Redis: the in-process broker cannot carry a Celery worker's events; the
    # hub's tick reads them from the log.
    settings.REDIS_URL = ""
    show = await database_sync_to_async(ShowFactory)(status=Show.Status.LIVE)
    try:
        viewer = await socket_open(show.public_id)
        snapshot = await frame_receive(viewer)

        def write_without_publishing() -> None:
            ShowRoom.objects.filter(show_id=show.pk).update(last_seq=snapshot["seq"] + 1)
            ShowEvent.objects.create(
                show_id=show.pk, seq=snapshot["seq"] + 1, type="video.replay", data={"n": 1}
            )

        await database_sync_to_async(write_without_publishing)()
        frames = await frames_until(viewer, lambda frame: frame["type"] == "batch", timeout=5)
        assert [(event["seq"], event["type"]) for event in batch_events(frames)] == [
            (snapshot["seq"] + 1, "video.replay")
        ]
        await viewer.disconnect()
    finally:
        await hub_shutdown()


@pytest.mark.asyncio
async def test_an_aggregate_frame_goes_out_in_parts_to_live_sockets_only(monkeypatch):
    monkeypatch.setattr(hub_module, "FLUSH_PART_SOCKETS", 2)
    feed = RoomFeed(None, RoomRef("show", 1))
    inboxes = [[] for _ in range(5)]
    for inbox in inboxes:
        feed.connections.add(_connection(inbox))
    joining = []
    feed.connections.add(_connection(joining, state=JOINING))
    presence = {"type": "presence", "viewers": 5, "peak": 5}

    feed.broadcast_text(orjson.dumps(presence).decode())
    written_in_first_turn = sum(len(inbox) for inbox in (*inboxes, joining))
    for _ in range(3):
        await asyncio.sleep(0)

    # Six sockets in parts of two: at most two written before the loop turns.
    assert 1 <= written_in_first_turn <= 2
    assert inboxes == [[presence]] * 5
    assert joining == []
