"""POST /api/v1/shows/<public_id>/{reminder,publish,cancel,go-live,end} outcomes."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from shows.models import Show, ShowReminder
from tests.conftest import client_for
from tests.factories import ShowFactory, ShowReminderFactory, UserFactory

pytestmark = pytest.mark.django_db


def _show(status=Show.Status.SCHEDULED, start_minutes: int = 120, **kwargs) -> Show:
    start = timezone.now() + dt.timedelta(minutes=start_minutes)
    return ShowFactory(
        status=status,
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(hours=1),
        **kwargs,
    )


def _state(show: Show) -> tuple:
    show.refresh_from_db()
    return (show.status, show.actual_start, show.actual_end, show.cancelled_at, show.updated_at)


def test_reminder_subscribe_is_idempotent():
    show, user = _show(), UserFactory()
    client = client_for(user)

    first = client.post(f"/api/v1/shows/{show.public_id}/reminder")
    second = client.post(f"/api/v1/shows/{show.public_id}/reminder")

    assert first.status_code == 201
    assert second.status_code == 200
    reminder = ShowReminder.objects.get()
    assert (reminder.show_id, reminder.user_id, reminder.reminded_at) == (show.pk, user.pk, None)
    assert first.json() == second.json()
    assert first.json()["show"] == show.public_id
    assert first.json()["is_reminded"] is True
    assert client.get(f"/api/v1/shows/{show.public_id}").json()["is_reminded"] is True


def test_reminder_uniqueness_is_enforced_by_the_database():
    reminder = ShowReminderFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        ShowReminder.objects.create(show=reminder.show, user=reminder.user)

    assert ShowReminder.objects.count() == 1


@pytest.mark.parametrize(
    ("status", "start_minutes"),
    [
        (Show.Status.LIVE, -5),
        (Show.Status.ENDED, -120),
        (Show.Status.CANCELLED, 120),
        (Show.Status.SCHEDULED, -5),
    ],
)
def test_reminder_for_a_show_that_is_not_upcoming_is_refused(status, start_minutes):
    show = _show(status=status, start_minutes=start_minutes)
    before = _state(show)

    response = client_for(UserFactory()).post(f"/api/v1/shows/{show.public_id}/reminder")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Reminders are only for scheduled shows that have not started.",
        "code": "show_not_upcoming",
    }
    assert ShowReminder.objects.count() == 0
    assert _state(show) == before


def test_reminder_unsubscribe_deletes_only_own_reminder():
    show, user = _show(), UserFactory()
    ShowReminderFactory(show=show, user=user)
    other = ShowReminderFactory(show=show)
    client = client_for(user)

    response = client.delete(f"/api/v1/shows/{show.public_id}/reminder")

    assert response.status_code == 204
    assert list(ShowReminder.objects.values_list("pk", flat=True)) == [other.pk]
    again = client.delete(f"/api/v1/shows/{show.public_id}/reminder")
    assert again.status_code == 404
    assert again.json() == {
        "detail": "You have no reminder for this show.",
        "code": "reminder_not_found",
    }
    assert list(ShowReminder.objects.values_list("pk", flat=True)) == [other.pk]


def test_reminder_subscribe_ignores_a_garbage_body():
    show = _show()

    response = client_for(UserFactory()).post(
        f"/api/v1/shows/{show.public_id}/reminder", data=b"{nope", content_type="application/json"
    )

    assert response.status_code == 201
    assert ShowReminder.objects.count() == 1


def test_go_live_then_end_records_actual_times(merchandiser):
    show = _show(start_minutes=1)
    client = client_for(merchandiser)

    live = client.post(f"/api/v1/shows/{show.public_id}/go-live")
    ended = client.post(f"/api/v1/shows/{show.public_id}/end")

    assert live.status_code == 200
    assert live.json()["status"] == "live"
    assert ended.status_code == 200
    show.refresh_from_db()
    assert show.status == Show.Status.ENDED
    assert show.actual_start is not None
    assert show.actual_end >= show.actual_start
    assert ended.json() == {
        "public_id": show.public_id,
        "status": "ended",
        "actual_start": show.actual_start.isoformat().replace("+00:00", "Z"),
        "actual_end": show.actual_end.isoformat().replace("+00:00", "Z"),
        "cancelled_at": None,
        "cancellation_reason": "",
    }


def test_publish_puts_a_draft_on_the_schedule(merchandiser):
    show = _show(status=Show.Status.DRAFT)

    response = client_for(merchandiser).post(f"/api/v1/shows/{show.public_id}/publish")

    assert response.status_code == 200
    assert response.json()["status"] == "scheduled"
    show.refresh_from_db()
    assert show.status == Show.Status.SCHEDULED


def test_publish_into_a_taken_slot_is_refused_and_changes_nothing(merchandiser):
    taken = _show()
    draft = _show(status=Show.Status.DRAFT, channel=taken.channel, slug="draft")
    before = _state(draft)

    response = client_for(merchandiser).post(f"/api/v1/shows/{draft.public_id}/publish")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == ["scheduled_start"]
    assert _state(draft) == before


def test_cancel_with_reason(merchandiser):
    show = _show()

    response = client_for(merchandiser).post(
        f"/api/v1/shows/{show.public_id}/cancel", {"reason": "Host is ill."}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancellation_reason"] == "Host is ill."
    show.refresh_from_db()
    assert (show.status, show.cancellation_reason) == (Show.Status.CANCELLED, "Host is ill.")
    assert show.cancelled_at is not None


@pytest.mark.parametrize(
    ("body", "content_type", "code", "fields"),
    [
        ({"reason": "x" * 301}, "json", "max_length", True),
        ({"reason": ["a", "b"]}, "json", "invalid", True),
        ({"reason": {"a": 1}}, "json", "invalid", True),
        ({"reason": None}, "json", "null", True),
        (b"{not json", "application/json", "parse_error", False),
        (b"\xff\xfe", "application/json", "parse_error", False),
    ],
)
def test_cancel_with_garbage_is_refused_and_changes_nothing(
    merchandiser, body, content_type, code, fields
):
    show = _show()
    before = _state(show)
    client = client_for(merchandiser)
    url = f"/api/v1/shows/{show.public_id}/cancel"

    if content_type == "json":
        response = client.post(url, body, format="json")
    else:
        response = client.post(url, data=body, content_type=content_type)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert ("fields" in response.json()) is fields
    assert _state(show) == before


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("go-live", Show.Status.CANCELLED, "A cancelled show cannot become live."),
        ("end", Show.Status.SCHEDULED, "A scheduled show cannot become ended."),
        ("publish", Show.Status.LIVE, "A live show cannot become scheduled."),
        ("cancel", Show.Status.ENDED, "An ended show cannot become cancelled."),
        ("cancel", Show.Status.CANCELLED, "A cancelled show cannot become cancelled."),
        ("go-live", Show.Status.DRAFT, "A draft show cannot become live."),
    ],
)
def test_illegal_transition_is_a_conflict_and_changes_nothing(merchandiser, path, status, message):
    show = _show(status=status)
    before = _state(show)

    response = client_for(merchandiser).post(f"/api/v1/shows/{show.public_id}/{path}")

    assert response.status_code == 409
    assert response.json() == {"detail": message, "code": "invalid_transition"}
    assert _state(show) == before
