"""The Redis cache backend: one client per pool, and the one-trip counter."""

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache

from liveshop.common import cache as cache_module
from liveshop.common.cache import RedisCache, cache_counter_increment


@pytest.fixture
def counter_key():
    key = "liveshop-test-counter"
    cache.delete(key)
    yield key
    cache.delete(key)


@pytest.mark.redis
def test_redis_cache_reuses_one_client_per_pool():
    backend = caches["default"]
    client = backend._cache.get_client("a", write=True)

    assert isinstance(backend, RedisCache)
    assert backend._cache.get_client("b", write=True) is client


@pytest.mark.redis
def test_counter_counts_in_redis_and_sets_its_expiry_once(counter_key):
    assert cache_counter_increment(key=counter_key, timeout=30) == 1
    redis_key = cache.make_and_validate_key(counter_key)
    client = cache._cache.get_client(redis_key)
    client.expire(redis_key, 100)  # a later increment must not shorten it again

    assert cache_counter_increment(key=counter_key, timeout=30) == 2
    assert cache.get(counter_key) == 2
    assert 90 < client.ttl(redis_key) <= 100


def test_counter_on_the_in_process_cache(monkeypatch, counter_key):
    local = LocMemCache("liveshop-counter-test", {})
    monkeypatch.setattr(cache_module, "cache", local)

    assert [cache_counter_increment(key=counter_key, timeout=30) for _ in range(3)] == [1, 2, 3]
    assert local.get(counter_key) == 3
