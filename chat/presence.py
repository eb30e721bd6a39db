"""Unique viewers of a show across all server processes.

Each process reports the viewer keys of its own sockets every few seconds; a key
counts once however many sockets (and processes) it has. With Redis the keys live in
one sorted set per show scored by when they were last reported, so a process that
dies stops counting once its reports age out.
"""

from __future__ import annotations

import time

import redis.asyncio
from django.conf import settings


class LocalPresence:
    async def count(self, show_id: int, keys: set[str]) -> int:
        return len(keys)


class RedisPresence:
    def __init__(self) -> None:
        self._client = redis.asyncio.Redis.from_url(settings.REDIS_URL)

    async def count(self, show_id: int, keys: set[str]) -> int:
        key = f"{settings.LIVESHOP_REDIS_PREFIX}:presence:{show_id}"
        now = time.time()
        # Three report intervals without a report means the viewer has gone.
        horizon = now - 3 * settings.LIVESHOP_PRESENCE_INTERVAL_SECONDS
        async with self._client.pipeline(transaction=False) as pipeline:
            if keys:
                pipeline.zadd(key, dict.fromkeys(keys, now))
            pipeline.zremrangebyscore(key, "-inf", horizon)
            pipeline.zcard(key)
            pipeline.expire(key, 3600)
            results = await pipeline.execute()
        return int(results[-2])


def presence_store_create() -> LocalPresence | RedisPresence:
    if settings.REDIS_URL:
        return RedisPresence()
    return LocalPresence()
