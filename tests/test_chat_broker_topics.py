"""Pub/sub topic names: deployments on one Redis server keep to themselves.

Each test sets ``LIVESHOP_REDIS_PREFIX`` itself: the names must not depend on the
prefix of the environment the suite runs in.
"""

from realtime.broker import channel_topic, room_topic


def show_topic(show_id: int) -> str:
    return room_topic("show", show_id)


def test_topics_of_two_redis_databases_differ(settings):
    settings.LIVESHOP_REDIS_PREFIX = "liveshop"
    settings.REDIS_URL = "redis://127.0.0.1:6379/6"
    sixth = (show_topic(2), channel_topic(3))
    settings.REDIS_URL = "redis://127.0.0.1:6379/7"
    seventh = (show_topic(2), channel_topic(3))

    assert sixth == ("liveshop:6:show:2", "liveshop:6:channel:3")
    assert seventh == ("liveshop:7:show:2", "liveshop:7:channel:3")


def test_a_url_without_a_database_is_database_zero(settings):
    settings.LIVESHOP_REDIS_PREFIX = "liveshop"
    settings.REDIS_URL = "redis://127.0.0.1:6379"

    assert show_topic(2) == "liveshop:0:show:2"


def test_topics_of_two_prefixes_on_one_database_differ(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/6"
    settings.LIVESHOP_REDIS_PREFIX = "shop-a"
    first = (show_topic(2), channel_topic(3))
    settings.LIVESHOP_REDIS_PREFIX = "shop-b"
    second = (show_topic(2), channel_topic(3))

    assert first == ("shop-a:6:show:2", "shop-a:6:channel:3")
    assert second == ("shop-b:6:show:2", "shop-b:6:channel:3")
