"""Pub/sub topic names: deployments on one Redis server keep to themselves."""

from chat.broker import channel_topic, show_topic


def test_topics_of_two_redis_databases_differ(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/6"
    sixth = (show_topic(2), channel_topic(3))
    settings.REDIS_URL = "redis://127.0.0.1:6379/7"
    seventh = (show_topic(2), channel_topic(3))

    assert sixth == ("liveshop:6:show:2", "liveshop:6:channel:3")
    assert seventh == ("liveshop:7:show:2", "liveshop:7:channel:3")


def test_a_url_without_a_database_is_database_zero(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379"

    assert show_topic(2) == "liveshop:0:show:2"
