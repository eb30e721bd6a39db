"""The suite runs on the engines CI configures; these tests prove it."""

import pytest
from django.core.cache import cache, caches
from django.db import connection


@pytest.mark.postgres
@pytest.mark.django_db
def test_database_is_postgresql():
    with connection.cursor() as cursor:
        cursor.execute("select version()")
        (version,) = cursor.fetchone()

    assert version.startswith("PostgreSQL")


@pytest.mark.redis
def test_cache_is_redis():
    cache.set("liveshop-engine-check", "ok", 10)

    assert cache.get("liveshop-engine-check") == "ok"
    assert type(caches["default"]).__name__ == "RedisCache"
