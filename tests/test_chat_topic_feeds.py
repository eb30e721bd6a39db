"""Topic feeds (realtime.topics) keep checking the database for what no broker brought."""

import asyncio

import orjson
import pytest

from realtime import hub as hub_module
from realtime.hub import HubConnection
from realtime.topics import TopicFeeds


async def _ignore(*args) -> None:
    return None


def _connection(key: str) -> HubConnection:
    return HubConnection(send=_ignore, close=_ignore, user_id=None, is_team=False, viewer_key=key)


@pytest.mark.asyncio
# The check runs in a database thread, which closes stale connections first.
@pytest.mark.django_db(transaction=True)
async def test_a_socket_joining_as_the_last_one_leaves_keeps_the_database_check(settings):
    """A page reload: the old socket leaves and the new one joins in one loop turn."""
    settings.REDIS_URL = ""
    hub = hub_module.Hub()
    feeds = TopicFeeds(hub)
    feeds.check_seconds = 0.01
    loop = asyncio.get_running_loop()
    checked = asyncio.Event()
    versions: list[int] = []

    def catch_up(version: int) -> bytes | None:
        versions.append(version)
        loop.call_soon_threadsafe(checked.set)
        return orjson.dumps({"type": "now_playing", "version": 4})

    old, new = _connection("old"), _connection("new")
    try:
        await feeds.join("channel:1", old, catch_up=catch_up)
        await asyncio.sleep(0)  # the check is waiting for its next turn
        await feeds.leave("channel:1", old)
        feed = await feeds.join("channel:1", new, catch_up=catch_up)

        await asyncio.wait_for(checked.wait(), timeout=5)
        assert versions[0] == 0
        async with asyncio.timeout(5):
            while feed.latest_version != 4:
                await asyncio.sleep(0.01)
        assert feed.latest_version == 4
        assert not feeds.ticker.done()
    finally:
        await feeds.leave("channel:1", new)
        if feeds.ticker is not None:
            feeds.ticker.cancel()
        await hub.close()
