"""Unique viewers of a room across all server processes.

Each process reports the viewer keys of its own sockets every few seconds; a key
counts once however many sockets (and processes) it has. With Redis the keys live in
one sorted set per room scored by when they were last reported, so a process that
dies stops counting once its reports age out. While Redis is down each process
counts its own viewers: a low count for a while, never a made-up peak.
"""

from __future__ import annotations

import logging
import time

import redis
import redis.asyncio
from django.conf import settings

from realtime.broker import REDIS_CONNECT_TIMEOUT_SECONDS
from realtime.rooms import RoomRef

logger = logging.getLogger("liveshop.realtime")


class LocalPresence:
    async def count(self, room: RoomRef, keys: set[str]) -> int:
        return len(keys)


def _presence_key(room: RoomRef) -> str:
    # A show's set keeps its name (old and new processes of a rolling deploy count together).
    name = str(room.key) if room.kind == "show" else f"{room.kind}:{room.key}"
    return f"{settings.LIVESHOP_REDIS_PREFIX}:presence:{name}"


class RedisPresence:
    def __init__(self) -> None:
        self._client = redis.asyncio.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
            socket_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
        )

    async def count(self, room: RoomRef, keys: set[str]) -> int:
        key = _presence_key(room)
        now = time.time()
        # Three report intervals without a report means the viewer has gone.
        horizon = now - 3 * settings.LIVESHOP_PRESENCE_INTERVAL_SECONDS
        try:
            async with self._client.pipeline(transaction=False) as pipeline:
                if keys:
                    pipeline.zadd(key, dict.fromkeys(keys, now))
                pipeline.zremrangebyscore(key, "-inf", horizon)
                pipeline.zcard(key)
                pipeline.expire(key, 3600)
                results = await pipeline.execute()
        except (redis.RedisError, OSError) as error:
            logger.warning("counting the viewers of %s in Redis failed (%s)", room, error)
            return len(keys)
        return int(results[-2])


def presence_store_create() -> LocalPresence | RedisPresence:
    if settings.REDIS_URL:
        return RedisPresence()
    return LocalPresence()
