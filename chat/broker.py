"""How show events travel between server processes.

With ``REDIS_URL`` every process publishes to one Redis pub/sub channel per show and
subscribes once per show it has sockets for (not once per socket). Without Redis
(embedded mode) publishing hands the payload straight to the hubs of this process.

Pub/sub is at-most-once: a payload lost here is recovered by the hub from the
durable log (``chat.hub``), so the broker only has to be fast.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Callable

import redis
import redis.asyncio
from django.conf import settings

logger = logging.getLogger("liveshop.chat")

MessageHandler = Callable[[int, bytes], None]


def show_topic(show_id: int) -> str:
    return f"{settings.LIVESHOP_REDIS_PREFIX}:show:{show_id}"


def _show_id_from_topic(topic: bytes) -> int:
    return int(topic.rsplit(b":", 1)[1])


_local_handlers: list[tuple[asyncio.AbstractEventLoop, MessageHandler]] = []
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


class LocalSubscriber:
    """Embedded mode: every hub of this process sees every published payload."""

    def __init__(self, handler: MessageHandler) -> None:
        self._entry = (asyncio.get_running_loop(), handler)
        with _local_lock:
            _local_handlers.append(self._entry)

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
        # A process-wide topic keeps the reader alive while no show is subscribed.
        self._idle_topic = f"{settings.LIVESHOP_REDIS_PREFIX}:hub"

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
            try:
                self._handler(_show_id_from_topic(topic), message["data"])
            except Exception:
                logger.exception("hub failed to handle a show event")

    async def subscribe(self, show_id: int) -> None:
        await self._ensure_reader()
        await self._pubsub.subscribe(show_topic(show_id))

    async def unsubscribe(self, show_id: int) -> None:
        await self._pubsub.unsubscribe(show_topic(show_id))

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
