"""Reactions and viewer counts are aggregated, not forwarded one by one."""

import pytest
from channels.db import database_sync_to_async
from rest_framework.authtoken.models import Token

from chat.models import ShowRoom
from shows.models import Show
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
