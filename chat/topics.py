"""Per-process feeds of whole-state topics (a channel's ``now_playing``), next to the hub.

A topic is not a log: every frame it carries is the whole state with a ``version``
that grows by one per change. A socket joins its topic's ``TopicFeed`` (the process
subscribes once per topic, on the hub's broker connection), sends its snapshot,
then goes live; the feed writes each newer frame, the text exactly as published
(encoded once, by the publisher), to every live socket of this process. A frame
that arrived while a socket was joining is sent after its snapshot when it is newer.
Nothing is replayed: a reconnecting client gets a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

import orjson

from chat import hub as hub_module
from chat.hub import CLOSED, LIVE, HubConnection

logger = logging.getLogger("liveshop.chat")


class TopicFeed:
    """One topic's sockets in this process and the newest frame it received."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.connections: set[HubConnection] = set()
        self.ready: asyncio.Future | None = None
        self.latest_version = 0
        self.latest_text: str | None = None

    def receive(self, payload: bytes) -> None:
        version = orjson.loads(payload)["version"]
        if version <= self.latest_version:
            return
        self.latest_version, self.latest_text = version, payload.decode()
        for connection in self.connections:
            if connection.state == LIVE and connection.floor < version:
                connection.floor = version
                connection.push(self.latest_text)

    def activate(self, connection: HubConnection, *, floor: int) -> None:
        """Go live after a snapshot of ``floor``; send a newer frame received meanwhile."""
        connection.state = LIVE
        connection.floor = floor
        if self.latest_text is not None and self.latest_version > floor:
            connection.floor = self.latest_version
            connection.push(self.latest_text)


class TopicFeeds:
    """The topic feeds of one hub (one server process)."""

    def __init__(self, hub: hub_module.Hub) -> None:
        self.subscriber = hub.subscriber
        self.feeds: dict[str, TopicFeed] = {}

    async def join(self, topic: str, connection: HubConnection) -> TopicFeed:
        """Add ``connection`` (joining) to the topic's feed; subscribed when this returns."""
        feed = self.feeds.get(topic)
        if feed is None:
            feed = self.feeds[topic] = TopicFeed(topic)
        feed.connections.add(connection)
        try:
            if feed.ready is None:
                feed.ready = asyncio.get_running_loop().create_future()
                try:
                    await self.subscriber.subscribe_topic(topic, feed.receive)
                    feed.ready.set_result(None)
                except BaseException as error:
                    ready, feed.ready = feed.ready, None
                    ready.set_exception(error)
                    ready.exception()
                    raise
            await asyncio.shield(feed.ready)
        except BaseException:
            await self.leave(topic, connection)
            raise
        return feed

    async def leave(self, topic: str, connection: HubConnection) -> None:
        connection.state = CLOSED
        feed = self.feeds.get(topic)
        if feed is None:
            return
        feed.connections.discard(connection)
        if not feed.connections:
            del self.feeds[topic]
            await self.subscriber.unsubscribe_topic(topic)


_registries: weakref.WeakKeyDictionary[hub_module.Hub, TopicFeeds] = weakref.WeakKeyDictionary()


def topic_feeds_get() -> TopicFeeds:
    """The topic feeds of the running event loop's hub (sharing its broker connection)."""
    hub = hub_module.hub_get()
    feeds = _registries.get(hub)
    if feeds is None:
        feeds = _registries[hub] = TopicFeeds(hub)
    return feeds
