"""The pieces that keep the chat working while Redis is down, one at a time.

The whole outage under a real server is tests/test_chat_redis_down.py.
"""

import asyncio
import time

import pytest
import redis
from django.core import signing

from chat.services import ChatRefusal, chat_rate_limit_hit
from liveshop.common import cache as cache_module
from liveshop.common.cache import cache_value_add, cache_value_get, cache_value_set
from realtime import broker
from realtime.rooms import RoomRef
from realtime.tickets import realtime_ticket_create, realtime_ticket_redeem


class _DownCache:
    """A cache whose every call fails as the Redis cache does with Redis down."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

        return fail


@pytest.fixture
def cache_down(monkeypatch):
    monkeypatch.setattr(cache_module, "cache", _DownCache())
    monkeypatch.setattr(cache_module, "_local", cache_module.LocMemCache("redis-down-test", {}))


def test_a_ticket_redeems_once_and_a_forged_or_expired_one_never(viewer, settings):
    ticket = realtime_ticket_create(user=viewer)
    forged = signing.dumps([viewer.pk + 1, "nonce"], salt="another.salt")

    assert realtime_ticket_redeem(ticket=ticket) == viewer.pk
    assert realtime_ticket_redeem(ticket=ticket) is None
    assert realtime_ticket_redeem(ticket=forged) is None
    assert realtime_ticket_redeem(ticket=ticket[:-2] + "xx") is None
    assert realtime_ticket_redeem(ticket="x" * 500) is None

    settings.LIVESHOP_WS_TICKET_SECONDS = 1
    old = realtime_ticket_create(user=viewer)
    time.sleep(2.1)
    assert realtime_ticket_redeem(ticket=old) is None


def test_while_the_cache_is_down_tickets_still_redeem_once(viewer, cache_down):
    ticket = realtime_ticket_create(user=viewer)

    assert realtime_ticket_redeem(ticket=ticket) == viewer.pk
    assert realtime_ticket_redeem(ticket=ticket) is None


def test_while_the_cache_is_down_the_rate_limit_holds_in_this_process(settings, cache_down):
    settings.LIVESHOP_CHAT_RATE = "2/60"
    chat_rate_limit_hit(user_id=7, is_team=False)
    chat_rate_limit_hit(user_id=7, is_team=False)

    with pytest.raises(ChatRefusal) as refused:
        chat_rate_limit_hit(user_id=7, is_team=False)
    assert refused.value.code == "rate_limited"
    chat_rate_limit_hit(user_id=8, is_team=False)  # another user has a count of their own


def test_while_the_cache_is_down_values_are_kept_in_this_process(cache_down):
    cache_value_set(key="slow", value=1.5, timeout=30)

    assert cache_value_get(key="slow") == 1.5
    assert cache_value_add(key="once", value=1, timeout=30) is True
    assert cache_value_add(key="once", value=1, timeout=30) is False


@pytest.mark.asyncio
async def test_a_subscriber_that_lost_redis_subscribes_again_and_says_so(settings, throwaway_redis):
    settings.REDIS_URL = throwaway_redis.url
    received: list[tuple[RoomRef, bytes]] = []
    subscriber = broker.RedisSubscriber(lambda show, payload: received.append((show, payload)))
    reconnected = asyncio.Event()
    subscriber.add_reconnect_handler(reconnected.set)
    publisher = redis.Redis.from_url(throwaway_redis.url)
    try:
        await subscriber.subscribe(RoomRef("show", 1))
        throwaway_redis.stop()
        await subscriber.subscribe(RoomRef("show", 2))  # while Redis is down: no error
        await subscriber.unsubscribe(RoomRef("show", 1))
        await asyncio.sleep(0.3)
        assert subscriber.broken is True

        throwaway_redis.start()
        await asyncio.wait_for(reconnected.wait(), timeout=5)
        publisher.publish(broker.room_topic("show", 1), b"left")
        publisher.publish(broker.room_topic("show", 2), b"joined while down")
        async with asyncio.timeout(5):
            while not received:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        assert received == [(RoomRef("show", 2), b"joined while down")]
        assert subscriber.broken is False
    finally:
        publisher.close()
        await subscriber.close()


@pytest.fixture
def redis_cache_unreachable(settings, monkeypatch):
    """The project's Redis cache backend pointed at a port nothing listens on: every
    module's ``cache``, whichever way it was imported, fails as with Redis down."""
    from tests.servers import free_port

    settings.CACHES = {
        "default": {
            "BACKEND": "liveshop.common.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    monkeypatch.setattr(cache_module, "_local", cache_module.LocMemCache("redis-down-test", {}))


@pytest.mark.django_db(transaction=True)
def test_while_the_cache_is_down_revoking_a_token_still_changes_its_stamp(
    viewer, redis_cache_unreachable
):
    from liveshop.accounts.selectors import auth_token_stamp
    from liveshop.accounts.services import auth_token_revoke

    before = auth_token_stamp(user_id=viewer.pk)
    auth_token_revoke(user=viewer)

    after = auth_token_stamp(user_id=viewer.pk)
    assert before is None
    assert after is not None


@pytest.mark.django_db(transaction=True)
def test_while_the_cache_is_down_a_reaction_is_admitted_and_a_sanction_still_stops_it(
    viewer, redis_cache_unreachable
):
    from chat.services import chat_reaction_admit, user_sanction_create
    from tests import factories

    show = factories.ShowFactory(status="live")
    moderator = factories.UserFactory(role="merchandiser", is_staff=True)

    admitted = chat_reaction_admit(
        show_id=show.pk, channel_id=show.channel_id, user=viewer, gate=None
    )
    user_sanction_create(actor=moderator, show=show, user_id=viewer.pk, kind="ban")
    refused = chat_reaction_admit(
        show_id=show.pk, channel_id=show.channel_id, user=viewer, gate=admitted.gate
    )

    assert (admitted.refusal, admitted.counted) == (None, True)
    assert refused.refusal is not None
    assert refused.refusal.code == "banned"


def test_a_ticket_used_before_the_cache_went_down_stays_used_in_that_process(viewer, monkeypatch):
    monkeypatch.setattr(cache_module, "_local", cache_module.LocMemCache("redis-down-test", {}))
    ticket = realtime_ticket_create(user=viewer)
    assert realtime_ticket_redeem(ticket=ticket) == viewer.pk

    monkeypatch.setattr(cache_module, "cache", _DownCache())

    assert realtime_ticket_redeem(ticket=ticket) is None


def test_while_the_cache_is_down_the_process_forgets_no_used_ticket_or_count(viewer, monkeypatch):
    """Thousands of viewers connect to one process: its store does not cull at 300 keys."""
    monkeypatch.setattr(cache_module, "cache", _DownCache())
    cache_module._local.clear()
    tickets = [realtime_ticket_create(user=viewer) for _ in range(1000)]
    assert [realtime_ticket_redeem(ticket=ticket) for ticket in tickets] == [viewer.pk] * 1000

    assert [realtime_ticket_redeem(ticket=ticket) for ticket in tickets] == [None] * 1000
    cache_module._local.clear()


class _UnreachableCache:
    """A cache whose every call fails, counting the calls (each would cost a timeout)."""

    def __init__(self) -> None:
        self.calls = 0

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            self.calls += 1
            raise redis.TimeoutError("Timeout connecting to server")

        return fail


def test_after_a_failure_the_cache_reads_leave_redis_alone_for_a_moment(viewer, monkeypatch):
    """Reads and counts skip Redis; writes others must see (set, add) still try it."""
    unreachable = _UnreachableCache()
    monkeypatch.setattr(cache_module, "cache", unreachable)
    ticket = realtime_ticket_create(user=viewer)

    cache_value_set(key="slow", value=1.5, timeout=30)
    assert unreachable.calls == 1
    assert cache_value_get(key="slow") == 1.5
    chat_rate_limit_hit(user_id=7, is_team=False)
    assert unreachable.calls == 1
    cache_value_set(key="stamp", value="b", timeout=None)
    assert realtime_ticket_redeem(ticket=ticket) == viewer.pk
    assert unreachable.calls == 3
    assert cache_value_get(key="stamp") == "b"

    cache_module._redis_skip_until = 0.0  # the moment has passed
    assert cache_value_get(key="slow") == 1.5
    assert unreachable.calls == 4


def test_after_a_failed_publish_publishes_leave_redis_alone_for_a_moment(settings, monkeypatch):
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    unreachable = _UnreachableCache()
    monkeypatch.setattr(broker, "_redis", lambda: unreachable)

    broker.broker_publish(room=RoomRef("show", 1), payload=b"one")
    broker.broker_publish(room=RoomRef("show", 1), payload=b"two")
    broker.broker_topic_publish(topic="liveshop:0:channel:1", payload=b"three")
    assert unreachable.calls == 1

    broker._publish_skip_until = 0.0  # the moment has passed
    broker.broker_publish(room=RoomRef("show", 1), payload=b"four")
    assert unreachable.calls == 2
