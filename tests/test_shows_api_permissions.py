"""Who may call each show endpoint, and what a refused request leaves behind (nothing)."""

import datetime as dt

import pytest
from django.utils import timezone

from shows.models import Show, ShowMember, ShowReminder
from tests.conftest import client_for
from tests.factories import ShowFactory, ShowMemberFactory, ShowReminderFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTORS = ["anonymous", "viewer", "other_staff", "service_staff", "host", "moderator", "merch"]

NOT_AUTHENTICATED = {
    "detail": "Authentication credentials were not provided.",
    "code": "not_authenticated",
}
FORBIDDEN = {"detail": "You may not do this to this show.", "code": "permission_denied"}
NOT_FOUND = {"detail": "No show with this id.", "code": "not_found"}


def _actor(name: str, show: Show):
    if name == "anonymous":
        return None
    if name == "viewer":
        return UserFactory()
    if name == "merch":
        return UserFactory(role="merchandiser", is_staff=True)
    if name == "other_staff":
        return ShowMemberFactory(role=ShowMember.Role.HOST).user
    role = {"service_staff": "service_staff", "host": "host", "moderator": "moderator"}[name]
    return ShowMemberFactory(show=show, role=role).user


def _snapshot(show: Show) -> tuple:
    show.refresh_from_db()
    return (
        show.status,
        show.actual_start,
        show.actual_end,
        show.cancelled_at,
        show.cancellation_reason,
        show.updated_at,
        sorted(ShowReminder.objects.values_list("show_id", "user_id", "reminded_at")),
    )


def _live_show() -> Show:
    now = timezone.now()
    return ShowFactory(
        status=Show.Status.LIVE,
        actual_start=now,
        scheduled_start=now - dt.timedelta(minutes=5),
        scheduled_end=now + dt.timedelta(minutes=55),
    )


def _soon_show(hours: int = 2, **kwargs) -> Show:
    start = timezone.now() + dt.timedelta(hours=hours)
    return ShowFactory(scheduled_start=start, scheduled_end=start + dt.timedelta(hours=1), **kwargs)


READS = dict.fromkeys(ACTORS, 200)
TEAM_ACTION = {
    "anonymous": 401,
    "viewer": 403,
    "other_staff": 403,
    "service_staff": 403,
    "host": 200,
    "moderator": 200,
    "merch": 200,
}
MERCH_ACTION = {**TEAM_ACTION, "host": 403, "moderator": 403}
# Drafts are hidden from everyone outside the show's team.
MERCH_ACTION_ON_DRAFT = {**MERCH_ACTION, "viewer": 404, "other_staff": 404}
SIGNED_IN = dict.fromkeys(ACTORS, 201) | {"anonymous": 401}
SIGNED_IN_DELETE = dict.fromkeys(ACTORS, 204) | {"anonymous": 401}

ENDPOINTS = [
    ("get", "/api/v1/shows/{id}", Show.Status.SCHEDULED, READS),
    ("get", "/api/v1/shows/{id}/calendar.ics", Show.Status.SCHEDULED, READS),
    ("get", "/api/v1/channels/{channel}/schedule", Show.Status.SCHEDULED, READS),
    ("get", "/api/v1/channels/{channel}/schedule.ics", Show.Status.SCHEDULED, READS),
    ("get", "/api/v1/channels", Show.Status.SCHEDULED, READS),
    ("post", "/api/v1/shows/{id}/reminder", Show.Status.SCHEDULED, SIGNED_IN),
    ("delete", "/api/v1/shows/{id}/reminder", Show.Status.SCHEDULED, SIGNED_IN_DELETE),
    ("post", "/api/v1/shows/{id}/publish", Show.Status.DRAFT, MERCH_ACTION_ON_DRAFT),
    ("post", "/api/v1/shows/{id}/cancel", Show.Status.SCHEDULED, MERCH_ACTION),
    ("post", "/api/v1/shows/{id}/go-live", Show.Status.SCHEDULED, TEAM_ACTION),
    ("post", "/api/v1/shows/{id}/end", Show.Status.LIVE, TEAM_ACTION),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    ("method", "path", "status", "expected"),
    ENDPOINTS,
    ids=[f"{method} {path}" for method, path, _, _ in ENDPOINTS],
)
def test_permission_matrix(method, path, status, expected, actor):
    show = _live_show() if status == Show.Status.LIVE else ShowFactory(status=status)
    user = _actor(actor, show)
    if method == "delete" and user is not None:
        ShowReminderFactory(show=show, user=user)
    ShowReminderFactory(show=show)
    before = _snapshot(show)
    url = path.format(id=show.public_id, channel=show.channel.slug)

    response = getattr(client_for(user), method)(url)

    assert response.status_code == expected[actor]
    if expected[actor] >= 400:
        assert (
            response.json()
            == {
                401: NOT_AUTHENTICATED,
                403: FORBIDDEN,
                404: NOT_FOUND,
            }[expected[actor]]
        )
        assert _snapshot(show) == before
    if method == "get":
        assert _snapshot(show) == before


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("anonymous", 404),
        ("viewer", 404),
        ("other_staff", 404),
        ("service_staff", 200),
        ("host", 200),
        ("merch", 200),
    ],
)
@pytest.mark.parametrize("suffix", ["", "/calendar.ics"])
def test_test_show_is_seen_only_by_its_team_and_merchandisers(actor, expected, suffix):
    show = ShowFactory(is_test=True)
    user = _actor(actor, show)

    response = client_for(user).get(f"/api/v1/shows/{show.public_id}{suffix}")

    assert response.status_code == expected
    if expected == 404:
        assert response.json() == NOT_FOUND


@pytest.mark.parametrize("actor", ["viewer", "other_staff"])
@pytest.mark.parametrize(
    "path", ["reminder", "publish", "cancel", "go-live", "end"], ids=lambda path: path
)
def test_acting_on_a_hidden_test_show_is_not_found_and_changes_nothing(actor, path):
    show = ShowFactory(is_test=True)
    user = _actor(actor, show)
    before = _snapshot(show)

    response = client_for(user).post(f"/api/v1/shows/{show.public_id}/{path}")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert _snapshot(show) == before


@pytest.mark.parametrize("actor", ACTORS)
def test_private_show_opens_by_link_for_everyone(actor):
    show = ShowFactory(is_private=True)

    response = client_for(_actor(actor, show)).get(f"/api/v1/shows/{show.public_id}")

    assert response.status_code == 200
    assert response.json()["is_private"] is True


@pytest.mark.parametrize("actor", ACTORS)
def test_private_show_is_never_listed(actor):
    show = _soon_show(is_private=True)
    public = _soon_show(channel=show.channel, hours=4)
    client = client_for(_actor(actor, show))

    schedule = client.get(f"/api/v1/channels/{show.channel.slug}/schedule").json()
    feed = client.get(f"/api/v1/channels/{show.channel.slug}/schedule.ics").content

    assert [item["public_id"] for item in schedule["upcoming"]] == [public.public_id]
    assert show.public_id.encode() not in feed
    assert public.public_id.encode() in feed


@pytest.mark.parametrize(
    ("actor", "listed"),
    [
        ("anonymous", False),
        ("viewer", False),
        ("other_staff", False),
        ("service_staff", True),
        ("host", True),
        ("merch", True),
    ],
)
def test_test_show_is_listed_only_for_its_team_and_never_in_the_feed(actor, listed):
    show = _soon_show(is_test=True)
    client = client_for(_actor(actor, show))

    schedule = client.get(f"/api/v1/channels/{show.channel.slug}/schedule").json()
    feed = client.get(f"/api/v1/channels/{show.channel.slug}/schedule.ics").content

    assert [item["public_id"] for item in schedule["upcoming"]] == (
        [show.public_id] if listed else []
    )
    assert show.public_id.encode() not in feed


@pytest.mark.parametrize(("actor", "expected"), [("viewer", 404), ("host", 200), ("merch", 200)])
def test_draft_is_seen_only_by_its_team_and_merchandisers(actor, expected):
    show = ShowFactory(status=Show.Status.DRAFT)

    response = client_for(_actor(actor, show)).get(f"/api/v1/shows/{show.public_id}")

    assert response.status_code == expected
