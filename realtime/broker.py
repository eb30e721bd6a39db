"""How room events travel between server processes.

With ``REDIS_URL`` every process publishes to one Redis pub/sub channel per room and
subscribes once per room it has sockets for (not once per socket). Without Redis
(embedded mode) publishing hands the payload straight to the hubs of this process.

Pub/sub is at-most-once: a payload lost here is recovered by the hub from the
durable log (``realtime.hub``), so the broker only has to be fast.

Other topics (a channel's ``now_playing``, ``realtime.topics``) share the same
connection: ``subscribe_topic`` routes a topic's payloads to its own handler.

Redis may go away. A publish that fails is logged, never raised into the writer:
the event is committed in the log. The subscriber never raises either: it keeps
the topics it was asked for, reconnects by itself and then calls its reconnect
handlers, which read from the log what the outage kept from them
(docs/realtime.md, "When Redis is down").
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import threading
import time
from collections.abc import Callable

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.backoff
import redis.connection
from django.conf import settings

from realtime.rooms import RoomRef

logger = logging.getLogger("liveshop.realtime")

MessageHandler = Callable[[RoomRef, bytes], None]
TopicHandler = Callable[[bytes], None]
ReconnectHandler = Callable[[], None]

# An unreachable Redis must cost a writer a moment, not a hung request.
REDIS_CONNECT_TIMEOUT_SECONDS = 2
# How often a subscriber that lost Redis tries again: delivery resumes this soon
# after Redis is back.
RECONNECT_INTERVAL_SECONDS = 0.25
# After a failed publish, publishes skip Redis this long. An unreachable Redis (a
# connect that times out, not one refused) would otherwise cost every event the
# whole connect timeout, one after another in the writers' database thread; the
# skipped events are in the log, where the hubs read them.
PUBLISH_RETRY_SECONDS = 1.0
_publish_skip_until = 0.0


def topic_prefix() -> str:
    """The start of every pub/sub topic name: the key prefix and the Redis database.

    Pub/sub ignores the database a client selected, so two deployments (or two
    test runs) sharing one Redis server on different databases would otherwise
    hear each other's rooms.
    """
    return _topic_prefix(settings.REDIS_URL, settings.LIVESHOP_REDIS_PREFIX)


# Every published event names its topic: the URL is parsed once, not per event.
@functools.lru_cache(maxsize=8)
def _topic_prefix(redis_url: str, prefix: str) -> str:
    database = redis.connection.parse_url(redis_url).get("db", 0) if redis_url else 0
    return f"{prefix}:{database}"


def room_topic(kind: str, key: int) -> str:
    """The pub/sub topic of a room: ``<prefix>:<db>:show:<id>`` for a show, as ever (old and
    new processes of a rolling deploy hear each other)."""
    return f"{topic_prefix()}:{kind}:{key}"


def channel_topic(channel_id: int) -> str:
    """The topic of a 24/7 channel's ``now_playing`` (a topic feed, ``realtime.topics``)."""
    return f"{topic_prefix()}:channel:{channel_id}"


_local_handlers: list[tuple[asyncio.AbstractEventLoop, MessageHandler]] = []
_local_subscribers: list[LocalSubscriber] = []
_local_lock = threading.Lock()
_redis_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _redis_client
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
            socket_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
        )
    return _redis_client


def _redis_publish(topic: str, payload: bytes) -> None:
    """PUBLISH unless Redis failed in the last ``PUBLISH_RETRY_SECONDS``; never raises for Redis."""
    global _publish_skip_until
    if time.monotonic() < _publish_skip_until:
        return
    try:
        _redis().publish(topic, payload)
    except (redis.RedisError, OSError) as error:
        _publish_skip_until = time.monotonic() + PUBLISH_RETRY_SECONDS
        logger.warning(
            "publishing to Redis topic %s failed (%s); publishes skip Redis for %s s, "
            "hubs read the events from the log",
            topic,
            error,
            PUBLISH_RETRY_SECONDS,
        )


def broker_publish(*, room: RoomRef, payload: bytes) -> None:
    """Send ``payload`` to every process's hub for ``room``; callable from any thread.

    Never raises for Redis: the event is already committed in the log, and every
    hub reads from the log what no publish brought it (on reconnecting, on a seq
    gap, and on its periodic log check). After a failure Redis is not tried again
    for ``PUBLISH_RETRY_SECONDS``.
    """
    if settings.REDIS_URL:
        _redis_publish(room_topic(room.kind, room.key), payload)
        return
    with _local_lock:
        handlers = list(_local_handlers)
    for loop, handler in handlers:
        if not loop.is_closed():
            # A fresh context: the caller may be a sync_to_async worker thread, and
            # tasks the handler starts must not inherit its executor marker.
            loop.call_soon_threadsafe(handler, room, payload, context=contextvars.Context())


def broker_topic_publish(*, topic: str, payload: bytes) -> None:
    """Send ``payload`` to every process subscribed to ``topic``; callable from any thread."""
    if settings.REDIS_URL:
        # Topic feeds check their state in the database (periodically, and when
        # their subscription reconnects): a failed or skipped publish is caught up.
        _redis_publish(topic, payload)
        return
    with _local_lock:
        subscribers = list(_local_subscribers)
    for subscriber in subscribers:
        if not subscriber.loop.is_closed():
            subscriber.loop.call_soon_threadsafe(
                subscriber.topic_deliver, topic, payload, context=contextvars.Context()
            )


class LocalSubscriber:
    """Embedded mode: every hub of this process sees every published payload."""

    def __init__(self, handler: MessageHandler) -> None:
        self.loop = asyncio.get_running_loop()
        self._entry = (self.loop, handler)
        self._topic_handlers: dict[str, TopicHandler] = {}
        with _local_lock:
            _local_handlers.append(self._entry)
            _local_subscribers.append(self)

    def topic_deliver(self, topic: str, payload: bytes) -> None:
        handler = self._topic_handlers.get(topic)
        if handler is not None:
            handler(payload)

    async def subscribe_topic(self, topic: str, handler: TopicHandler) -> None:
        self._topic_handlers[topic] = handler

    async def unsubscribe_topic(self, topic: str) -> None:
        self._topic_handlers.pop(topic, None)

    def add_reconnect_handler(self, handler: ReconnectHandler) -> None:
        """In-process delivery never disconnects: nothing to call."""

    async def subscribe(self, room: RoomRef) -> None:
        return None

    async def unsubscribe(self, room: RoomRef) -> None:
        return None

    async def publish(self, room: RoomRef, payload: bytes) -> None:
        broker_publish(room=room, payload=payload)

    async def close(self) -> None:
        with _local_lock:
            if self._entry in _local_handlers:
                _local_handlers.remove(self._entry)
            if self in _local_subscribers:
                _local_subscribers.remove(self)


class RedisSubscriber:
    """One Redis pub/sub connection per process, one SUBSCRIBE per room.

    ``subscribe`` and ``unsubscribe`` record the topics this process wants and never
    raise for Redis: while Redis is down the reader retries every
    ``RECONNECT_INTERVAL_SECONDS`` on a fresh connection, subscribes every wanted
    topic again, then calls the reconnect handlers (they read from the log what
    was published, or failed to be, in between).
    """

    def __init__(self, handler: MessageHandler) -> None:
        self._handler = handler
        # No retries inside redis-py: a reconnect it made by itself would go
        # unnoticed, and what was published meanwhile would not be read from the log.
        self._client = redis.asyncio.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
            socket_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
            retry=redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0),
        )
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._reader: asyncio.Task | None = None
        # Sockets of two rooms can subscribe at once; without the lock both
        # would start a reader, and two readers of one connection fail.
        self._reader_lock = asyncio.Lock()
        self._topic_handlers: dict[bytes, TopicHandler] = {}
        self._room_topics: dict[bytes, RoomRef] = {}
        self._reconnect_handlers: list[ReconnectHandler] = []
        # A process-wide topic keeps the reader alive while no room is subscribed.
        self._idle_topic = f"{topic_prefix()}:hub"
        self._wanted: set[str] = {self._idle_topic}
        # True from a failed Redis call until the reader has subscribed again.
        self.broken = False

    def add_reconnect_handler(self, handler: ReconnectHandler) -> None:
        """Call ``handler`` (on the loop) each time the subscription is back after a loss."""
        self._reconnect_handlers.append(handler)

    async def _ensure_reader(self) -> None:
        async with self._reader_lock:
            if self._reader is None or self._reader.done():
                try:
                    await self._pubsub.subscribe(self._idle_topic)
                except (redis.RedisError, OSError) as error:
                    self._lost(error)
                self._reader = asyncio.get_running_loop().create_task(
                    self._read(), context=contextvars.Context()
                )

    def _lost(self, error: BaseException) -> None:
        if not self.broken:
            logger.warning("Redis pub/sub connection lost (%s); reconnecting", error)
        self.broken = True

    async def _reconnect(self) -> None:
        """A fresh connection subscribed to every wanted topic; raises while Redis is down."""
        stale, self._pubsub = self._pubsub, self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await stale.aclose()
        except Exception:
            pass
        subscribed: set[str] = set()
        # A topic wanted while SUBSCRIBE was on its way is subscribed in the next turn.
        while missing := self._wanted - subscribed:
            await self._pubsub.subscribe(*sorted(missing))
            subscribed |= missing
        self.broken = False

    def _reconnected(self) -> None:
        logger.warning("Redis pub/sub connection is back; reading what was missed from the log")
        for handler in list(self._reconnect_handlers):
            try:
                handler()
            except Exception:
                logger.exception("a reconnect handler failed")

    async def _read(self) -> None:
        while True:
            if self.broken:
                try:
                    await self._reconnect()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    await asyncio.sleep(RECONNECT_INTERVAL_SECONDS)
                    continue
                self._reconnected()
            try:
                message = await self._pubsub.get_message(timeout=5.0)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._lost(error)
                continue
            if message is None or message["type"] != "message":
                continue
            topic = message["channel"]
            if topic.endswith(b":hub"):
                continue
            topic_handler = self._topic_handlers.get(topic)
            if topic_handler is not None:
                try:
                    topic_handler(message["data"])
                except Exception:
                    logger.exception("failed to handle a message on %s", topic)
                continue
            room = self._room_topics.get(topic)
            if room is None:
                continue  # a topic left while its UNSUBSCRIBE was on its way
            try:
                self._handler(room, message["data"])
            except Exception:
                logger.exception("hub failed to handle an event of %s", room)

    async def _subscribe(self, topic: str) -> None:
        self._wanted.add(topic)
        await self._ensure_reader()
        if self.broken:
            return  # the reader subscribes it when Redis is back
        try:
            await self._pubsub.subscribe(topic)
        except (redis.RedisError, OSError) as error:
            self._lost(error)

    async def _unsubscribe(self, topic: str) -> None:
        self._wanted.discard(topic)
        if self.broken:
            return  # not subscribed again on reconnecting
        try:
            await self._pubsub.unsubscribe(topic)
        except (redis.RedisError, OSError) as error:
            self._lost(error)

    async def subscribe(self, room: RoomRef) -> None:
        topic = room_topic(room.kind, room.key)
        self._room_topics[topic.encode()] = room
        await self._subscribe(topic)

    async def unsubscribe(self, room: RoomRef) -> None:
        topic = room_topic(room.kind, room.key)
        self._room_topics.pop(topic.encode(), None)
        await self._unsubscribe(topic)

    async def subscribe_topic(self, topic: str, handler: TopicHandler) -> None:
        """Route ``topic``'s payloads to ``handler`` (on this connection, not a room's)."""
        self._topic_handlers[topic.encode()] = handler
        await self._subscribe(topic)

    async def unsubscribe_topic(self, topic: str) -> None:
        self._topic_handlers.pop(topic.encode(), None)
        await self._unsubscribe(topic)

    async def publish(self, room: RoomRef, payload: bytes) -> None:
        """Publish an aggregate (reaction taps); dropped with a warning while Redis is down."""
        try:
            await self._client.publish(room_topic(room.kind, room.key), payload)
        except (redis.RedisError, OSError) as error:
            logger.warning("publishing to %s on Redis failed (%s)", room, error)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self._pubsub.aclose()
        await self._client.aclose()


def subscriber_create(handler: MessageHandler) -> LocalSubscriber | RedisSubscriber:
    if settings.REDIS_URL:
        return RedisSubscriber(handler)
    return LocalSubscriber(handler)
