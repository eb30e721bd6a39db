"""The hub's flush in parts: every socket gets each frame once, in seq order."""

import asyncio

import orjson
import pytest

from chat import hub as hub_module
from chat.hub import JOINING, LIVE, HubConnection, ShowFeed


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


async def _drain(feed: ShowFeed) -> None:
    for _ in range(200):
        if feed.flush_handle is None and not feed.outbox:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the feed never finished flushing")


@pytest.mark.asyncio
async def test_a_flush_in_parts_reaches_every_socket_once_and_in_order(monkeypatch, settings):
    monkeypatch.setattr(hub_module, "FLUSH_PART_SOCKETS", 2)
    settings.LIVESHOP_FANOUT_WINDOW_MS = 10
    feed = ShowFeed(None, show_id=1)
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
    feed = ShowFeed(None, show_id=1)
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
