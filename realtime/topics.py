"""Per-process feeds of whole-state topics (a channel's ``now_playing``), next to the hub.

A topic is not a log: every frame it carries is the whole state with a ``version``
that grows by one per change. A socket joins its topic's ``TopicFeed`` (the process
subscribes once per topic, on the hub's broker connection), sends its snapshot,
then goes live; the feed writes each newer frame, the text exactly as published
(encoded once, by the publisher), to every live socket of this process. A frame
that arrived while a socket was joining is sent after its snapshot when it is newer.
Nothing is replayed: a reconnecting client gets a fresh snapshot.

A frame the broker did not bring (written by another process in embedded mode, or
published while Redis was down) is caught up from the database: a topic joined with
a ``catch_up`` function is checked with it once a second in embedded mode, every
``LOG_CHECK_TICKS`` seconds with Redis, and at once when the subscription is back.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections.abc import Callable

import orjson
from channels.db import database_sync_to_async

from realtime import broker
from realtime import hub as hub_module
from realtime.hub import CLOSED, LIVE, HubConnection

logger = logging.getLogger("liveshop.realtime")

# ``catch_up(version)``, run in a database thread: the topic's current frame
# (encoded, as published) if its version is past ``version``, else None.
CatchUp = Callable[[int], bytes | None]
EMBEDDED_CHECK_SECONDS = 1.0


class TopicFeed:
    """One topic's sockets in this process and the newest frame it received."""

    def __init__(self, topic: str, catch_up: CatchUp | None = None) -> None:
        self.topic = topic
        self.catch_up = catch_up
        self.connections: set[HubConnection] = set()
        self.ready: asyncio.Future | None = None
        self.latest_version = 0
        self.latest_text: str | None = None
        # The newest version any socket here has (a frame or a snapshot): a catch-up
        # builds a frame only when the topic is past it.
        self.known_version = 0

    def receive(self, payload: bytes) -> None:
        version = orjson.loads(payload)["version"]
        if version <= self.latest_version:
            return
        self.latest_version, self.latest_text = version, payload.decode()
        self.known_version = max(self.known_version, version)
        for connection in self.connections:
            if connection.state == LIVE and connection.floor < version:
                connection.floor = version
                connection.push(self.latest_text)

    def activate(self, connection: HubConnection, *, floor: int) -> None:
        """Go live after a snapshot of ``floor``; send a newer frame received meanwhile."""
        connection.state = LIVE
        connection.floor = floor
        self.known_version = max(self.known_version, floor)
        if self.latest_text is not None and self.latest_version > floor:
            connection.floor = self.latest_version
            connection.push(self.latest_text)


class TopicFeeds:
    """The topic feeds of one hub (one server process)."""

    def __init__(self, hub: hub_module.Hub) -> None:
        self.subscriber = hub.subscriber
        self.feeds: dict[str, TopicFeed] = {}
        self.ticker: asyncio.Task | None = None
        self.catch_up_task: asyncio.Task | None = None
        self.subscriber.add_reconnect_handler(self._on_reconnect)
        embedded = isinstance(self.subscriber, broker.LocalSubscriber)
        self.check_seconds = EMBEDDED_CHECK_SECONDS if embedded else hub_module.LOG_CHECK_TICKS

    async def join(
        self, topic: str, connection: HubConnection, *, catch_up: CatchUp | None = None
    ) -> TopicFeed:
        """Add ``connection`` (joining) to the topic's feed; subscribed when this returns.

        ``catch_up`` (see ``CatchUp``) lets the feed fetch a frame no broker brought.
        """
        feed = self.feeds.get(topic)
        if feed is None:
            feed = self.feeds[topic] = TopicFeed(topic, catch_up)
        feed.connections.add(connection)
        if feed.catch_up is not None and (self.ticker is None or self.ticker.done()):
            self.ticker = asyncio.get_running_loop().create_task(
                self._tick(), context=contextvars.Context()
            )
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
            # The ticker is not cancelled: it ends by itself once no feed is left.
            # Cancelled, it would still look running to a socket that joins before
            # the cancellation lands, and that socket's feed would never be checked.
            await self.subscriber.unsubscribe_topic(topic)

    async def catch_up_all(self) -> None:
        """Fetch, for every feed that can, the frame newer than its sockets have."""
        for feed in list(self.feeds.values()):
            if feed.catch_up is None:
                continue
            try:
                payload = await database_sync_to_async(feed.catch_up)(feed.known_version)
            except Exception:
                logger.exception("catching up topic %s failed", feed.topic)
                continue
            if payload is not None:
                feed.receive(payload)

    async def _tick(self) -> None:
        # Ends (done at once, no await between) when the last feed has left.
        while self.feeds:
            await asyncio.sleep(self.check_seconds)
            await self.catch_up_all()

    def _on_reconnect(self) -> None:
        if self.catch_up_task is None or self.catch_up_task.done():
            self.catch_up_task = asyncio.get_running_loop().create_task(
                self.catch_up_all(), context=contextvars.Context()
            )


_registries: weakref.WeakKeyDictionary[hub_module.Hub, TopicFeeds] = weakref.WeakKeyDictionary()


def topic_feeds_get() -> TopicFeeds:
    """The topic feeds of the running event loop's hub (sharing its broker connection)."""
    hub = hub_module.hub_get()
    feeds = _registries.get(hub)
    if feeds is None:
        feeds = _registries[hub] = TopicFeeds(hub)
    return feeds
