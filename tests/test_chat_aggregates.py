"""Reactions and viewer counts are aggregated, not forwarded one by one."""

import time
import types

import pytest
from channels.db import database_sync_to_async
from rest_framework.authtoken.models import Token

from chat import services as chat_services
from chat.services import user_sanction_create
from realtime import hub as hub_module
from realtime.rooms import RoomRef
from shows.models import Show, ShowRoom
from tests import factories
from tests.sockets import frames_until, hub_shutdown, socket_open

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def _live_show_and_tokens(count: int) -> tuple[Show, list[str]]:
    show = factories.ShowFactory(status=Show.Status.LIVE)
    tokens = [Token.objects.create(user=factories.UserFactory()).key for _ in range(count)]
    return show, tokens


async def test_taps_from_many_viewers_arrive_as_one_counts_frame():
    show, tokens = await _live_show_and_tokens(2)
    try:
        watcher = await socket_open(show.public_id)
        first = await socket_open(show.public_id, token=tokens[0])
        second = await socket_open(show.public_id, token=tokens[1])
        for socket in (watcher, first, second):
            await frames_until(socket, lambda frame: frame["type"] == "snapshot")
        for _ in range(3):
            await first.send_json_to({"type": "reaction", "kind": "heart"})
        await second.send_json_to({"type": "reaction", "kind": "heart"})
        await second.send_json_to({"type": "reaction", "kind": "fire"})
        frames = await frames_until(watcher, lambda frame: frame["type"] == "reactions")
        for socket in (watcher, first, second):
            await socket.disconnect()
    finally:
        await hub_shutdown()
    assert frames[-1] == {"type": "reactions", "counts": {"heart": 4, "fire": 1}}
    room = await database_sync_to_async(ShowRoom.objects.get)(show=show)
    assert room.reaction_count == 5


async def test_reactions_over_the_per_second_cap_are_dropped(settings):
    settings.LIVESHOP_REACTIONS_PER_SECOND = 2
    show, tokens = await _live_show_and_tokens(1)
    try:
        socket = await socket_open(show.public_id, token=tokens[0])
        await frames_until(socket, lambda frame: frame["type"] == "snapshot")
        for _ in range(5):
            await socket.send_json_to({"type": "reaction", "kind": "clap"})
        frames = await frames_until(socket, lambda frame: frame["type"] == "reactions")
        await socket.disconnect()
    finally:
        await hub_shutdown()
    assert frames[-1]["counts"] == {"clap": 2}


async def test_viewer_count_is_unique_viewers_and_the_peak_is_recorded(settings):
    settings.LIVESHOP_PRESENCE_INTERVAL_SECONDS = 1
    show, tokens = await _live_show_and_tokens(2)
    try:
        sockets = [
            await socket_open(show.public_id, token=tokens[0]),
            await socket_open(show.public_id, token=tokens[0]),  # same viewer, second tab
            await socket_open(show.public_id, token=tokens[1]),
            await socket_open(show.public_id),  # anonymous
        ]
        frames = await frames_until(sockets[0], lambda frame: frame["type"] == "presence")
        for socket in sockets:
            await socket.disconnect()
    finally:
        await hub_shutdown()
    assert frames[-1] == {"type": "presence", "viewers": 3, "peak": 3}
    room = await database_sync_to_async(ShowRoom.objects.get)(show=show)
    assert room.peak_viewers == 3


@database_sync_to_async
def _user_and_token() -> tuple:
    user = factories.UserFactory()
    return user, Token.objects.create(user=user).key


@database_sync_to_async
def _sanction(show: Show, user, kind: str, duration_seconds: int | None) -> None:
    moderator = factories.ShowMemberFactory(show=show, role="moderator").user
    user_sanction_create(
        actor=moderator, show=show, user_id=user.pk, kind=kind, duration_seconds=duration_seconds
    )


async def test_the_reaction_cap_is_per_user_across_connections(settings, monkeypatch):
    settings.LIVESHOP_REACTIONS_PER_SECOND = 2
    # One second for the whole test: the cap counts per second.
    frozen = time.time()
    monkeypatch.setattr(
        chat_services, "time", types.SimpleNamespace(time=lambda: frozen, monotonic=time.monotonic)
    )
    show, tokens = await _live_show_and_tokens(1)
    try:
        first = await socket_open(show.public_id, token=tokens[0])
        second = await socket_open(show.public_id, token=tokens[0])
        for socket in (first, second):
            await frames_until(socket, lambda frame: frame["type"] == "snapshot")
        for socket in (first, second, first, second):
            await socket.send_json_to({"type": "reaction", "kind": "clap"})
        frames = await frames_until(first, lambda frame: frame["type"] == "reactions")
        for socket in (first, second):
            await socket.disconnect()
    finally:
        await hub_shutdown()
    assert frames[-1]["counts"] == {"clap": 2}


@pytest.mark.parametrize(
    ("kind", "duration_seconds", "code", "when"),
    [
        ("ban", None, "banned", "before"),
        ("timeout", 600, "timed_out", "before"),
        ("ban", 600, "banned", "while connected"),
        ("timeout", 600, "timed_out", "while connected"),
    ],
)
async def test_a_sanctioned_users_reactions_are_refused_and_not_counted(
    kind, duration_seconds, code, when
):
    show, tokens = await _live_show_and_tokens(1)
    sanctioned, token = await _user_and_token()
    if when == "before":
        await _sanction(show, sanctioned, kind, duration_seconds)
    try:
        other = await socket_open(show.public_id, token=tokens[0])
        socket = await socket_open(show.public_id, token=token)
        for websocket in (other, socket):
            await frames_until(websocket, lambda frame: frame["type"] == "snapshot")
        if when != "before":
            # It reacted before: the socket had checked and allowed it once.
            await socket.send_json_to({"type": "reaction", "kind": "fire"})
            await frames_until(other, lambda frame: frame["type"] == "reactions")
            await _sanction(show, sanctioned, kind, duration_seconds)
            await frames_until(socket, lambda frame: frame["type"] == "batch")
        taps_before = hub_module.hub_get().feeds[RoomRef("show", show.pk)].reaction_taps.copy()
        await socket.send_json_to({"type": "reaction", "kind": "heart"})
        refusal = await frames_until(socket, lambda frame: frame["type"] == "error")
        assert hub_module.hub_get().feeds[RoomRef("show", show.pk)].reaction_taps == taps_before
        await other.send_json_to({"type": "reaction", "kind": "heart"})
        frames = await frames_until(other, lambda frame: frame["type"] == "reactions")
        for websocket in (other, socket):
            await websocket.disconnect()
    finally:
        await hub_shutdown()
    assert refusal[-1]["code"] == code
    assert frames[-1]["counts"] == {"heart": 1}
