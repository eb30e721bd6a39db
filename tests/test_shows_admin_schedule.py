"""The admin schedule: a channel's shows by day and by week, in the channel's time."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.utils import timezone

from shows.models import Show
from tests import factories
from tests.timeutil import BERLIN, berlin_at, monday_in_berlin

pytestmark = pytest.mark.django_db

SCHEDULE_URL = "/admin/shows/show/schedule/"


def _titles(html: str) -> list[str]:
    return re.findall(r'class="show-title" href="[^"]+">(?:<s>)?([^<]+)', html)


@pytest.fixture
def channel():
    return factories.ChannelFactory(name="Sneakers", slug="sneakers", timezone="Europe/Berlin")


@pytest.fixture
def week_of_shows(channel):
    monday = monday_in_berlin(weeks_ahead=1)
    # Created out of order so the page's order comes from the times.
    factories.ShowFactory(
        channel=channel,
        title="Wednesday night",
        status=Show.Status.CANCELLED,
        scheduled_start=berlin_at(monday + dt.timedelta(days=2), 22),
        scheduled_end=berlin_at(monday + dt.timedelta(days=2), 23),
    )
    factories.ShowFactory(
        channel=channel,
        title="Monday morning",
        status=Show.Status.DRAFT,
        is_test=True,
        scheduled_start=berlin_at(monday, 9, 30),
        scheduled_end=berlin_at(monday, 10, 30),
    )
    factories.ShowFactory(
        channel=channel,
        title="Sunday finale",
        is_private=True,
        scheduled_start=berlin_at(monday + dt.timedelta(days=6), 20),
        scheduled_end=berlin_at(monday + dt.timedelta(days=6), 21),
    )
    factories.ShowFactory(
        channel=channel,
        title="Next Monday",
        scheduled_start=berlin_at(monday + dt.timedelta(days=7), 9),
        scheduled_end=berlin_at(monday + dt.timedelta(days=7), 10),
    )
    other = factories.ChannelFactory(slug="other", timezone="Europe/Berlin")
    factories.ShowFactory(
        channel=other,
        title="Other channel",
        scheduled_start=berlin_at(monday, 12),
        scheduled_end=berlin_at(monday, 13),
    )
    return monday


def test_week_view_lists_the_channels_shows_in_order_in_channel_time(
    merchandiser_client, channel, week_of_shows
):
    monday = week_of_shows
    wednesday = monday + dt.timedelta(days=2)

    response = merchandiser_client.get(
        SCHEDULE_URL, {"channel": "sneakers", "view": "week", "date": wednesday.isoformat()}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert _titles(html) == ["Monday morning", "Wednesday night", "Sunday finale"]
    days = response.context["days"]
    assert [day.date for day in days] == [monday + dt.timedelta(days=n) for n in range(7)]
    assert [[entry.show.title for entry in day.entries] for day in days] == [
        ["Monday morning"],
        [],
        ["Wednesday night"],
        [],
        [],
        [],
        ["Sunday finale"],
    ]
    assert '<time datetime="' in html
    assert ">09:30</time>–<time" in html
    assert ">22:00</time>–<time" in html
    assert '<li class="status-cancelled">' in html
    assert "<s>Wednesday night</s>" in html
    assert '<span class="badge">Test</span>' in html
    assert '<span class="badge">Private</span>' in html
    assert "(times in Europe/Berlin)" in html
    assert 'href="/admin/shows/show/add/?channel=' in html
    previous_week = (monday - dt.timedelta(weeks=1)).isoformat()
    next_week = (monday + dt.timedelta(weeks=1)).isoformat()
    assert f'href="?channel=sneakers&amp;view=week&amp;date={previous_week}"' in html
    assert f'href="?channel=sneakers&amp;view=week&amp;date={next_week}"' in html


def test_day_view_lists_only_that_day(merchandiser_client, channel, week_of_shows):
    monday = week_of_shows

    response = merchandiser_client.get(
        SCHEDULE_URL, {"channel": "sneakers", "view": "day", "date": monday.isoformat()}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert _titles(html) == ["Monday morning"]
    show = Show.objects.get(title="Monday morning")
    assert f'href="/admin/shows/show/{show.pk}/change/"' in html
    tuesday = (monday + dt.timedelta(days=1)).isoformat()
    assert f'href="?channel=sneakers&amp;view=day&amp;date={tuesday}"' in html


def test_week_view_defaults_to_this_week_of_the_first_channel(merchandiser_client, channel):
    today = timezone.localtime(timezone.now(), BERLIN).date()
    this_monday = today - dt.timedelta(days=today.weekday())

    response = merchandiser_client.get(SCHEDULE_URL)

    assert response.status_code == 200
    assert response.context["channel"] == channel
    assert response.context["view"] == "week"
    assert response.context["first"] == this_monday


def test_a_show_from_the_evening_before_appears_on_the_first_day(merchandiser_client, channel):
    monday = monday_in_berlin(weeks_ahead=1)
    factories.ShowFactory(
        channel=channel,
        title="Late night",
        scheduled_start=berlin_at(monday - dt.timedelta(days=1), 23),
        scheduled_end=berlin_at(monday, 1),
    )

    response = merchandiser_client.get(
        SCHEDULE_URL, {"channel": "sneakers", "view": "day", "date": monday.isoformat()}
    )

    assert _titles(response.content.decode()) == ["Late night"]


@pytest.mark.parametrize(
    ("params", "view"),
    [
        ({"view": "month", "date": "not-a-date"}, "week"),
        ({"view": ["day", "week"], "date": "2026-13-45"}, "week"),
        ({"view": "day", "date": "9" * 500}, "day"),
    ],
)
def test_schedule_falls_back_on_garbage_parameters(merchandiser_client, channel, params, view):
    today = timezone.localtime(timezone.now(), BERLIN).date()

    response = merchandiser_client.get(SCHEDULE_URL, {"channel": "sneakers", **params})

    assert response.status_code == 200
    assert response.context["view"] == view
    expected_first = today - dt.timedelta(days=today.weekday()) if view == "week" else today
    assert response.context["first"] == expected_first


def test_schedule_of_an_unknown_channel_is_not_found(merchandiser_client, channel):
    response = merchandiser_client.get(SCHEDULE_URL, {"channel": "<script>"})

    assert response.status_code == 404


def test_schedule_without_channels_offers_to_add_one(merchandiser_client):
    response = merchandiser_client.get(SCHEDULE_URL)

    assert response.status_code == 200
    assert 'href="/admin/shows/channel/add/"' in response.content.decode()


def test_changelist_links_to_the_schedule(merchandiser_client):
    response = merchandiser_client.get("/admin/shows/show/")

    assert response.status_code == 200
    assert f'href="{SCHEDULE_URL}"' in response.content.decode()


@pytest.mark.parametrize("count", [1, 10])
def test_week_view_query_count_does_not_grow_with_shows(
    merchandiser_client, channel, django_assert_num_queries, count
):
    monday = monday_in_berlin(weeks_ahead=1)
    for number in range(count):
        factories.ShowFactory(
            channel=channel,
            scheduled_start=berlin_at(monday, 8) + dt.timedelta(hours=number),
            scheduled_end=berlin_at(monday, 8, 45) + dt.timedelta(hours=number),
        )

    # session, user, user and group permissions, channels, shows
    with django_assert_num_queries(6):
        response = merchandiser_client.get(
            SCHEDULE_URL, {"channel": "sneakers", "date": monday.isoformat()}
        )

    assert len(_titles(response.content.decode())) == count


@pytest.mark.parametrize("count", [1, 10])
def test_changelist_query_count_does_not_grow_with_shows(
    merchandiser_client, django_assert_num_queries, count
):
    for _ in range(count):
        factories.ShowFactory()

    with django_assert_num_queries(10):
        response = merchandiser_client.get("/admin/shows/show/")

    assert response.status_code == 200
    assert response.context["cl"].result_count == count


@pytest.mark.parametrize(
    "query",
    [
        "date=9999-12-31",
        "date=9999-12-28",
        "date=0001-01-01",
        "date=0001-01-03&view=day",
        "date=not-a-date",
    ],
)
def test_schedule_dates_at_the_edge_of_the_calendar_fall_back_to_today(
    merchandiser_client, channel, query
):
    today = timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(channel.timezone)).date()

    first = today if "view=day" in query else today - dt.timedelta(days=today.weekday())

    response = merchandiser_client.get(f"{SCHEDULE_URL}?channel=sneakers&{query}")

    assert response.status_code == 200
    assert f'name="date" value="{first:%Y-%m-%d}"' in response.content.decode()
