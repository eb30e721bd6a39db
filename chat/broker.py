"""How show events travel between server processes.

With ``REDIS_URL`` every process publishes to one Redis pub/sub channel per show and
subscribes once per show it has sockets for (not once per socket). Without Redis
(embedded mode) publishing hands the payload straight to the hubs of this process.

Pub/sub is at-most-once: a payload lost here is recovered by the hub from the
durable log (``chat.hub``), so the broker only has to be fast.

Other topics (a channel's ``now_playing``, ``chat.topics``) share the same
connection: ``subscribe_topic`` routes a topic's payloads to its own handler.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import threading
from collections.abc import Callable

import redis
import redis.asyncio
import redis.connection
from django.conf import settings

logger = logging.getLogger("liveshop.chat")

MessageHandler = Callable[[int, bytes], None]
TopicHandler = Callable[[bytes], None]


def topic_prefix() -> str:
    """The start of every pub/sub topic name: the key prefix and the Redis database.

    Pub/sub ignores the database a client selected, so two deployments (or two
    test runs) sharing one Redis server on different databases would otherwise
    hear each other's shows.
    """
    return _topic_prefix(settings.REDIS_URL, settings.LIVESHOP_REDIS_PREFIX)


# Every published event names its topic: the URL is parsed once, not per event.
@functools.lru_cache(maxsize=8)
def _topic_prefix(redis_url: str, prefix: str) -> str:
    database = redis.connection.parse_url(redis_url).get("db", 0) if redis_url else 0
    return f"{prefix}:{database}"


def show_topic(show_id: int) -> str:
    return f"{topic_prefix()}:show:{show_id}"


def channel_topic(channel_id: int) -> str:
    return f"{topic_prefix()}:channel:{channel_id}"


def _show_id_from_topic(topic: bytes) -> int:
    return int(topic.rsplit(b":", 1)[1])


_local_handlers: list[tuple[asyncio.AbstractEventLoop, MessageHandler]] = []
_local_subscribers: list[LocalSubscriber] = []
_local_lock = threading.Lock()
_redis_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _redis_client
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(settings.REDIS_URL)
    return _redis_client


def broker_publish(*, show_id: int, payload: bytes) -> None:
    """Send ``payload`` to every process's hub for ``show_id``; callable from any thread."""
    if settings.REDIS_URL:
        try:
            _redis().publish(show_topic(show_id), payload)
        except redis.RedisError:
            # The write is committed and in the log; hubs fetch what they missed.
            logger.exception("publishing show %s event to Redis failed", show_id)
        return
    with _local_lock:
        handlers = list(_local_handlers)
    for loop, handler in handlers:
        if not loop.is_closed():
            # A fresh context: the caller may be a sync_to_async worker thread, and
            # tasks the handler starts must not inherit its executor marker.
            loop.call_soon_threadsafe(handler, show_id, payload, context=contextvars.Context())


def broker_topic_publish(*, topic: str, payload: bytes) -> None:
    """Send ``payload`` to every process subscribed to ``topic``; callable from any thread."""
    if settings.REDIS_URL:
        try:
            _redis().publish(topic, payload)
        except redis.RedisError:
            logger.exception("publishing to Redis topic %s failed", topic)
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

    async def subscribe(self, show_id: int) -> None:
        return None

    async def unsubscribe(self, show_id: int) -> None:
        return None

    async def publish(self, show_id: int, payload: bytes) -> None:
        broker_publish(show_id=show_id, payload=payload)

    async def close(self) -> None:
        with _local_lock:
            if self._entry in _local_handlers:
                _local_handlers.remove(self._entry)
            if self in _local_subscribers:
                _local_subscribers.remove(self)


class RedisSubscriber:
    """One Redis pub/sub connection per process, one SUBSCRIBE per show."""

    def __init__(self, handler: MessageHandler) -> None:
        self._handler = handler
        self._client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._reader: asyncio.Task | None = None
        # Sockets of two shows can subscribe at once; without the lock both
        # would start a reader, and two readers of one connection fail.
        self._reader_lock = asyncio.Lock()
        self._topic_handlers: dict[bytes, TopicHandler] = {}
        # A process-wide topic keeps the reader alive while no show is subscribed.
        self._idle_topic = f"{topic_prefix()}:hub"

    async def _ensure_reader(self) -> None:
        async with self._reader_lock:
            if self._reader is None or self._reader.done():
                await self._pubsub.subscribe(self._idle_topic)
                self._reader = asyncio.get_running_loop().create_task(
                    self._read(), context=contextvars.Context()
                )

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=5.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Redis pub/sub read failed; retrying")
                await asyncio.sleep(0.5)
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
            try:
                self._handler(_show_id_from_topic(topic), message["data"])
            except Exception:
                logger.exception("hub failed to handle a show event")

    async def subscribe(self, show_id: int) -> None:
        await self._ensure_reader()
        await self._pubsub.subscribe(show_topic(show_id))

    async def unsubscribe(self, show_id: int) -> None:
        await self._pubsub.unsubscribe(show_topic(show_id))

    async def subscribe_topic(self, topic: str, handler: TopicHandler) -> None:
        """Route ``topic``'s payloads to ``handler`` (on this connection, not a show's)."""
        self._topic_handlers[topic.encode()] = handler
        await self._ensure_reader()
        await self._pubsub.subscribe(topic)

    async def unsubscribe_topic(self, topic: str) -> None:
        self._topic_handlers.pop(topic.encode(), None)
        await self._pubsub.unsubscribe(topic)

    async def publish(self, show_id: int, payload: bytes) -> None:
        await self._client.publish(show_topic(show_id), payload)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self._pubsub.aclose()
        await self._client.aclose()


def subscriber_create(handler: MessageHandler) -> LocalSubscriber | RedisSubscriber:
    if settings.REDIS_URL:
        return RedisSubscriber(handler)
    return LocalSubscriber(handler)
