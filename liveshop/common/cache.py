"""The Redis cache backend, with one Redis client per pool and a one-trip counter.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every
operation, and each one copies redis-py's table of ~200 response callbacks: measured
on the chat send path, that was more CPU than the Redis round trips themselves. A
``redis.Redis`` over a connection pool is safe to share between threads, so one per
pool is kept. ``counter_increment`` counts in one round trip where Django's ``add``
then ``incr`` take three.

While Redis is down the ``cache_*`` helpers below keep their values in this process
instead of raising: a rate limit, slow mode or a ticket's single use is then
enforced per process until Redis is back (docs/realtime.md, "When Redis is down").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import cast

import redis
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    # Django's private API that get_client() below is built on; django-stubs leave it out.
    _client: type[redis.Redis]
    _get_connection_pool: Callable[[bool], redis.ConnectionPool]

    def __init__(self, servers, **options) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key=None, *, write=False) -> redis.Redis:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def counter_increment(self, key: str, timeout: int) -> int:
        pipeline = self.get_client(key, write=True).pipeline(transaction=True)
        pipeline.incr(key)
        # NX: the first increment of a window sets its expiry; later ones keep it.
        pipeline.expire(key, timeout, nx=True)
        count, _ = pipeline.execute()
        return count


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def counter_increment(self, key: str, timeout: int) -> int:
        # _cache is built from self._class, set to this module's client above.
        client = cast(RedisCacheClient, self._cache)
        return client.counter_increment(self.make_and_validate_key(key), timeout)


logger = logging.getLogger("liveshop.cache")

# What the cache helpers fall back to while Redis does not answer.
_CACHE_DOWN_ERRORS = (redis.RedisError, OSError)
# Not culled at Django's default of 300 keys: one process of thousands of viewers
# holds a used ticket or a rate count for each of them while Redis is down.
_local = LocMemCache("liveshop-while-redis-is-down", {"OPTIONS": {"MAX_ENTRIES": 100_000}})
_WARN_EVERY_SECONDS = 10.0
_last_warning = 0.0
# After a failure the reading helpers (get, counter) skip Redis this long. An
# unreachable Redis (a connect that times out, not one refused) would otherwise
# cost every call the whole timeout, and a chat send makes several, one after
# another in the process's database thread. Writes (set, add) always try Redis:
# a value other processes must see (a token's revocation stamp, a used ticket)
# must not stay in this process only because Redis failed a moment ago.
REDIS_RETRY_SECONDS = 1.0
_redis_skip_until = 0.0


def _resting() -> bool:
    """Whether Redis failed in the last ``REDIS_RETRY_SECONDS`` (reads use ``_local``)."""
    return time.monotonic() < _redis_skip_until


def _fallback(error: BaseException) -> BaseCache:
    """The in-process cache, with one warning per ``_WARN_EVERY_SECONDS``, not one per call;
    Redis is left alone for ``REDIS_RETRY_SECONDS``."""
    global _last_warning, _redis_skip_until
    now = time.monotonic()
    _redis_skip_until = now + REDIS_RETRY_SECONDS
    if now - _last_warning >= _WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning("the Redis cache failed (%s); keeping values in this process", error)
    return _local


def _local_increment(store: BaseCache, key: str, timeout: int) -> int:
    store.add(key, 0, timeout=timeout)
    try:
        return store.incr(key)
    except ValueError:
        # Expired between add and incr.
        store.set(key, 1, timeout=timeout)
        return 1


def cache_counter_increment(*, key: str, timeout: int) -> int:
    """Add one to the counter ``key`` (created with ``timeout`` seconds to live); its new value.

    Atomic across processes on Redis; on the embedded in-process cache, within this
    process, which is all there is. While Redis is down, counted in this process.
    """
    increment = getattr(cache, "counter_increment", None)
    if increment is None:
        return _local_increment(cache, key, timeout)
    if _resting():
        return _local_increment(_local, key, timeout)
    try:
        return increment(key, timeout)
    except _CACHE_DOWN_ERRORS as error:
        return _local_increment(_fallback(error), key, timeout)


def cache_value_get(*, key: str):
    """The value of ``key``, or None; while Redis is down, what this process set."""
    if _resting():
        return _local.get(key)
    try:
        return cache.get(key)
    except _CACHE_DOWN_ERRORS as error:
        return _fallback(error).get(key)


def cache_value_set(*, key: str, value, timeout: int | None) -> None:
    """Store ``value`` for ``timeout`` seconds (None: no expiry); in this process while Redis
    is down."""
    if _resting():
        # Reads go to this process for a moment: they must find it here too.
        _local.set(key, value, timeout=timeout)
    try:
        cache.set(key, value, timeout=timeout)
    except _CACHE_DOWN_ERRORS as error:
        _fallback(error).set(key, value, timeout=timeout)


def cache_value_add(*, key: str, value, timeout: int) -> bool:
    """Store ``value`` under ``key`` unless it is there (atomic on Redis); whether it stored.

    While Redis is down, decided in this process. The key is also kept in this
    process while Redis answers, so one added before Redis failed is still
    refused here during the outage (a used ticket stays used).
    """
    if not _local.add(key, value, timeout=timeout):
        return False
    try:
        return cache.add(key, value, timeout=timeout)
    except _CACHE_DOWN_ERRORS as error:
        _fallback(error)
        return True
