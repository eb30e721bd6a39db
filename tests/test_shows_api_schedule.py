"""GET /api/v1/channels and /api/v1/channels/<slug>/schedule."""

import datetime as dt

import pytest
from django.utils import timezone

from shows.models import Show
from tests.conftest import client_for
from tests.factories import (
    ChannelFactory,
    RecordingFactory,
    ShowFactory,
    ShowProductFactory,
    ShowReminderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SHOW_KEYS = {
    "public_id",
    "title",
    "slug",
    "description",
    "cover_image_url",
    "kind",
    "status",
    "scheduled_start",
    "scheduled_end",
    "actual_start",
    "actual_end",
    "starts_in_seconds",
    "cancelled_at",
    "cancellation_reason",
    "is_reminded",
    "lineup_count",
}


def _at(hours: float) -> dt.datetime:
    return timezone.now().replace(microsecond=0) + dt.timedelta(hours=hours)


def _show(channel, start_hours: float, **kwargs) -> Show:
    return ShowFactory(
        channel=channel,
        scheduled_start=_at(start_hours),
        scheduled_end=_at(start_hours + 1),
        **kwargs,
    )


def _replay(channel, start_hours: float, **kwargs) -> Show:
    """An ended show with a recording that plays: a replay."""
    show = _show(
        channel, start_hours, status=Show.Status.ENDED, actual_end=_at(start_hours + 1), **kwargs
    )
    RecordingFactory(show=show)
    return show


def _ids(shows: list[dict]) -> list[str]:
    return [show["public_id"] for show in shows]


def test_channel_list_is_paginated_by_name(api_client):
    ChannelFactory(name="Zeta", slug="zeta", timezone="UTC")
    ChannelFactory(name="Alpha", slug="alpha", timezone="America/New_York", description="A")

    response = api_client.get("/api/v1/channels")

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            {"slug": "alpha", "name": "Alpha", "timezone": "America/New_York", "description": "A"},
            {"slug": "zeta", "name": "Zeta", "timezone": "UTC", "description": ""},
        ],
    }


@pytest.mark.parametrize("channels", [1, 10])
def test_channel_list_query_count_is_constant(api_client, django_assert_num_queries, channels):
    ChannelFactory.create_batch(channels)

    with django_assert_num_queries(2):
        response = api_client.get("/api/v1/channels")

    assert len(response.json()["results"]) == channels


@pytest.mark.parametrize("page", ["0", "x", "999"])
def test_channel_list_bad_page_is_not_found_in_error_shape(api_client, page):
    ChannelFactory()

    response = api_client.get("/api/v1/channels", {"page": page})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert set(response.json()) == {"detail", "code"}


def test_schedule_splits_live_upcoming_and_replays(api_client):
    channel = ChannelFactory(slug="main", name="Main", timezone="Europe/Berlin")
    live = _show(channel, -0.5, status=Show.Status.LIVE, actual_start=_at(-0.5))
    soon = _show(channel, 2, title="Soon", description="Shoes")
    later = _show(channel, 30)
    cancelled = _show(channel, 5, status=Show.Status.CANCELLED)
    beyond_window = _show(channel, 24 * 8)
    _show(channel, 10, status=Show.Status.DRAFT)
    _show(channel, -50, status=Show.Status.CANCELLED)
    old_replay = _replay(channel, -30)
    new_replay = _replay(channel, -5)
    _replay(channel, -10, replay_allowed=False)
    ShowProductFactory.create_batch(3, show=soon)
    _show(ChannelFactory(), 3)

    response = api_client.get("/api/v1/channels/main/schedule")

    assert response.status_code == 200
    body = response.json()
    assert body["channel"] == {
        "slug": "main",
        "name": "Main",
        "timezone": "Europe/Berlin",
        "description": "",
    }
    assert _ids(body["live"]) == [live.public_id]
    assert _ids(body["upcoming"]) == [soon.public_id, later.public_id]
    assert _ids(body["cancelled"]) == [cancelled.public_id]
    assert _ids(body["replays"]) == [new_replay.public_id, old_replay.public_id]
    assert beyond_window.public_id not in _ids(body["upcoming"])
    first = body["upcoming"][0]
    assert set(first) == SHOW_KEYS
    server_time = dt.datetime.fromisoformat(body["server_time"])
    assert first["starts_in_seconds"] == int((soon.scheduled_start - server_time).total_seconds())
    assert first["lineup_count"] == 3
    assert first["is_reminded"] is False
    assert first["title"] == "Soon"
    assert first["description"] == "Shoes"
    assert first["status"] == "scheduled"
    assert first["cancelled_at"] is None
    assert first["cancellation_reason"] == ""
    assert body["live"][0]["starts_in_seconds"] == 0
    assert body["live"][0]["actual_start"] is not None


def test_schedule_lists_a_cancelled_show_apart_with_its_reason(api_client, merchandiser):
    channel = ChannelFactory(slug="main")
    show = _show(channel, 2)
    reminded = UserFactory()
    ShowReminderFactory(show=show, user=reminded)
    cancelled = client_for(merchandiser).post(
        f"/api/v1/shows/{show.public_id}/cancel", {"reason": "The host is ill."}, format="json"
    )
    assert cancelled.status_code == 200

    body = client_for(reminded).get("/api/v1/channels/main/schedule").json()

    assert body["upcoming"] == []
    assert _ids(body["cancelled"]) == [show.public_id]
    [listed] = body["cancelled"]
    assert listed["status"] == "cancelled"
    assert listed["cancellation_reason"] == "The host is ill."
    assert listed["cancelled_at"] == cancelled.json()["cancelled_at"]
    assert listed["starts_in_seconds"] == 0


def test_schedule_keeps_a_cancelled_show_until_its_slot_would_have_ended(api_client):
    channel = ChannelFactory(slug="main")
    during = _show(channel, -0.5, status=Show.Status.CANCELLED)
    _show(channel, -1.5, status=Show.Status.CANCELLED)
    _show(channel, 24 * 8, status=Show.Status.CANCELLED)

    body = api_client.get("/api/v1/channels/main/schedule").json()

    assert (_ids(body["upcoming"]), _ids(body["cancelled"])) == ([], [during.public_id])


def test_schedule_replays_are_ended_shows_with_a_recording_that_plays(api_client):
    channel = ChannelFactory(slug="main")
    replay = _replay(channel, -5)
    _show(channel, -10, status=Show.Status.ENDED, actual_end=_at(-9))
    for status in ("pending", "processing", "failed"):
        RecordingFactory(
            show=_show(channel, -20, status=Show.Status.ENDED, actual_end=_at(-19)),
            status=status,
            ready_at=None,
        )
    # A premiere's processed video before it airs is no replay either.
    RecordingFactory(show=_show(channel, 3, kind=Show.Kind.RECORDED), provider="upload")

    body = api_client.get("/api/v1/channels/main/schedule").json()

    assert _ids(body["replays"]) == [replay.public_id]


def test_schedule_keeps_a_late_show_until_its_slot_ends(api_client):
    channel = ChannelFactory(slug="main")
    late = _show(channel, -0.25)

    body = api_client.get("/api/v1/channels/main/schedule").json()

    assert _ids(body["upcoming"]) == [late.public_id]
    assert body["upcoming"][0]["starts_in_seconds"] == 0


def test_schedule_days_and_replays_limit(api_client):
    channel = ChannelFactory(slug="main")
    in_two_days = _show(channel, 47)
    _show(channel, 24 * 20)
    replays = [_replay(channel, -10 * n) for n in range(1, 4)]

    body = api_client.get("/api/v1/channels/main/schedule", {"days": 2, "replays_limit": 2}).json()

    assert _ids(body["upcoming"]) == [in_two_days.public_id]
    assert _ids(body["replays"]) == [replays[0].public_id, replays[1].public_id]
    wide = api_client.get("/api/v1/channels/main/schedule", {"days": 31}).json()
    assert len(wide["upcoming"]) == 2


def test_schedule_marks_reminded_shows_for_the_signed_in_user():
    channel = ChannelFactory(slug="main")
    reminded, other = _show(channel, 2), _show(channel, 4)
    user = UserFactory()
    ShowReminderFactory(show=reminded, user=user)
    ShowReminderFactory(show=other)

    body = client_for(user).get("/api/v1/channels/main/schedule").json()

    assert [show["is_reminded"] for show in body["upcoming"]] == [True, False]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"days": "0"}, "days", "Ensure this value is greater than or equal to 1."),
        ({"days": "32"}, "days", "Ensure this value is less than or equal to 31."),
        ({"days": "abc"}, "days", "A valid integer is required."),
        ({"days": "1.5"}, "days", "A valid integer is required."),
        ({"days": "9" * 400}, "days", "Ensure this value is less than or equal to 31."),
        ({"days": "9" * 5000}, "days", "String value too large."),
        (
            {"replays_limit": "101"},
            "replays_limit",
            "Ensure this value is less than or equal to 100.",
        ),
        (
            {"replays_limit": "-1"},
            "replays_limit",
            "Ensure this value is greater than or equal to 0.",
        ),
    ],
)
def test_schedule_bad_parameters_are_refused_in_error_shape(api_client, params, field, message):
    ChannelFactory(slug="main")

    response = api_client.get("/api/v1/channels/main/schedule", params)

    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Some fields are invalid."
    assert body["fields"] == {field: [message]}


def test_schedule_of_unknown_channel_is_not_found(api_client):
    response = api_client.get("/api/v1/channels/nope/schedule")

    assert response.status_code == 404
    assert response.json() == {"detail": "No channel with this slug.", "code": "not_found"}


@pytest.mark.parametrize("shows_per_section", [1, 10])
def test_schedule_query_count_is_constant(django_assert_num_queries, shows_per_section):
    channel = ChannelFactory(slug="main")
    user = UserFactory()
    for n in range(shows_per_section):
        upcoming = _show(channel, 2 + 2 * n)
        ShowProductFactory(show=upcoming)
        ShowReminderFactory(show=upcoming, user=user)
        _replay(channel, -10 - 2 * n)
        _show(channel, 3 + 2 * n, status=Show.Status.CANCELLED)
    _show(channel, -0.5, status=Show.Status.LIVE)
    client = client_for(user)

    with django_assert_num_queries(3):
        body = client.get("/api/v1/channels/main/schedule").json()

    assert len(body["upcoming"]) == shows_per_section
    assert len(body["cancelled"]) == shows_per_section
    assert len(body["replays"]) == shows_per_section
    assert len(body["live"]) == 1
