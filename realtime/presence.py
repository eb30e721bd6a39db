"""Unique viewers of a show across all server processes.

Each process reports the viewer keys of its own sockets every few seconds; a key
counts once however many sockets (and processes) it has. With Redis the keys live in
one sorted set per show scored by when they were last reported, so a process that
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

logger = logging.getLogger("liveshop.realtime")


class LocalPresence:
    async def count(self, show_id: int, keys: set[str]) -> int:
        return len(keys)


class RedisPresence:
    def __init__(self) -> None:
        self._client = redis.asyncio.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
            socket_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
        )

    async def count(self, show_id: int, keys: set[str]) -> int:
        key = f"{settings.LIVESHOP_REDIS_PREFIX}:presence:{show_id}"
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
            logger.warning("counting show %s's viewers in Redis failed (%s)", show_id, error)
            return len(keys)
        return int(results[-2])


def presence_store_create() -> LocalPresence | RedisPresence:
    if settings.REDIS_URL:
        return RedisPresence()
    return LocalPresence()
