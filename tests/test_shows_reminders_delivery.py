"""The "starting soon" beat job and cancellation notices: email, hook, once only."""

import datetime as dt
import json
import threading

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.db import connection
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Response as WerkzeugResponse

from liveshop.common.webhooks import webhook_signature_verify
from shows.models import Show, ShowReminder
from shows.notifications import show_reminder_deliver, show_reminders_due_list
from shows.services import show_cancel, show_update
from shows.tasks import show_cancellation_deliver as show_cancellation_deliver_task
from shows.tasks import show_cancellation_notify as show_cancellation_notify_task
from shows.tasks import show_reminders_send_due
from tests.factories import ChannelFactory, ShowFactory, ShowReminderFactory, UserFactory

SECRET = "whsec-test-secret"


def _show(start_minutes: float, **kwargs) -> Show:
    start = timezone.now().replace(microsecond=0) + dt.timedelta(minutes=start_minutes)
    kwargs.setdefault("channel", ChannelFactory(name="Main"))
    return ShowFactory(scheduled_start=start, scheduled_end=start + dt.timedelta(hours=1), **kwargs)


def _run_beat_job(capture) -> int:
    with capture(execute=True):
        return show_reminders_send_due.delay().get()


@pytest.mark.django_db
def test_each_subscriber_is_emailed_within_fifteen_minutes_of_start(
    django_capture_on_commit_callbacks,
):
    show = _show(10, title="Spring boots")
    ada = ShowReminderFactory(show=show, user=UserFactory(email="ada@example.com"))
    bob = ShowReminderFactory(show=show, user=UserFactory(email="bob@example.com"))
    ShowReminderFactory(show=_show(20))

    sent = _run_beat_job(django_capture_on_commit_callbacks)

    assert sent == 2
    assert sorted(message.to[0] for message in mail.outbox) == [
        "ada@example.com",
        "bob@example.com",
    ]
    assert {message.subject for message in mail.outbox} == {"Starting soon: Spring boots"}
    assert "Spring boots on Main starts in 10 minutes." in mail.outbox[0].body
    assert show.public_id in mail.outbox[0].body
    for reminder in (ada, bob):
        reminder.refresh_from_db()
        assert reminder.reminded_at is not None
    assert ShowReminder.objects.filter(reminded_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_running_the_job_twice_sends_once(django_capture_on_commit_callbacks):
    ShowReminderFactory(show=_show(5))

    first = _run_beat_job(django_capture_on_commit_callbacks)
    second = _run_beat_job(django_capture_on_commit_callbacks)

    assert (first, second) == (1, 0)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_show_moved_later_is_reminded_at_the_new_time_not_the_old():
    show = _show(120)
    reminder = ShowReminderFactory(show=show)
    old_start = show.scheduled_start
    new_start = old_start + dt.timedelta(hours=3)
    show_update(
        show=show,
        data={"scheduled_start": new_start, "scheduled_end": new_start + dt.timedelta(hours=1)},
    )

    at_old_time = old_start - dt.timedelta(minutes=10)
    assert show_reminders_due_list(now=at_old_time) == []
    assert show_reminder_deliver(reminder_id=reminder.pk, now=at_old_time) is False
    assert mail.outbox == []

    at_new_time = new_start - dt.timedelta(minutes=10)
    assert show_reminders_due_list(now=at_new_time) == [reminder.pk]
    assert show_reminder_deliver(reminder_id=reminder.pk, now=at_new_time) is True
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_show_moved_later_after_its_reminder_is_reminded_again_once():
    show = _show(120)
    reminder = ShowReminderFactory(show=show)
    old_start = show.scheduled_start
    assert show_reminder_deliver(reminder_id=reminder.pk, now=old_start - dt.timedelta(minutes=10))
    new_start = old_start + dt.timedelta(hours=2)
    show_update(
        show=show,
        data={"scheduled_start": new_start, "scheduled_end": new_start + dt.timedelta(hours=1)},
    )

    assert show_reminders_due_list(now=old_start - dt.timedelta(minutes=5)) == []
    at_new_time = new_start - dt.timedelta(minutes=14)
    assert show_reminders_due_list(now=at_new_time) == [reminder.pk]
    assert show_reminder_deliver(reminder_id=reminder.pk, now=at_new_time) is True
    assert show_reminder_deliver(reminder_id=reminder.pk, now=at_new_time) is False
    assert show_reminders_due_list(now=at_new_time + dt.timedelta(minutes=1)) == []
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_cancelled_show_gets_no_starting_soon_reminder(django_capture_on_commit_callbacks):
    reminder = ShowReminderFactory(show=_show(10, status=Show.Status.CANCELLED))

    assert _run_beat_job(django_capture_on_commit_callbacks) == 0
    assert show_reminder_deliver(reminder_id=reminder.pk) is False
    assert mail.outbox == []
    reminder.refresh_from_db()
    assert reminder.reminded_at is None


@pytest.mark.django_db
def test_cancelling_emails_each_subscriber_once(django_capture_on_commit_callbacks):
    show = _show(60, title="Spring boots")
    ShowReminderFactory(show=show, user=UserFactory(email="ada@example.com"))
    ShowReminderFactory(show=show, user=UserFactory(email="bob@example.com"))
    ShowReminderFactory(show=show, user=UserFactory(email=""))

    with django_capture_on_commit_callbacks(execute=True):
        show_cancel(show=show, reason="The host is ill.")
    again = show_cancellation_notify_task.delay(show.pk).get()

    assert again == 0
    assert sorted(message.to[0] for message in mail.outbox) == [
        "ada@example.com",
        "bob@example.com",
    ]
    assert {message.subject for message in mail.outbox} == {"Cancelled: Spring boots"}
    assert "The host is ill." in mail.outbox[0].body
    assert ShowReminder.objects.filter(cancellation_notified_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_starting_soon_hook_receives_a_signed_post(
    httpserver: HTTPServer, settings, django_capture_on_commit_callbacks
):
    settings.LIVESHOP_NOTIFICATION_WEBHOOK_URL = httpserver.url_for("/hooks/notifications")
    settings.LIVESHOP_NOTIFICATION_WEBHOOK_SECRET = SECRET
    settings.PUBLIC_BASE_URL = "https://live.example.com"
    show = _show(10, title="Spring boots")
    reminder = ShowReminderFactory(show=show)
    httpserver.expect_request("/hooks/notifications", method="POST").respond_with_data("ok")

    _run_beat_job(django_capture_on_commit_callbacks)

    ((request, _response),) = httpserver.log
    webhook_signature_verify(
        secret=SECRET,
        webhook_id=request.headers["webhook-id"],
        timestamp=request.headers["webhook-timestamp"],
        signature_header=request.headers["webhook-signature"],
        body=request.get_data(),
        tolerance_seconds=300,
    )
    assert request.headers["webhook-id"] == (
        f"reminder_{reminder.pk}_{int(show.scheduled_start.timestamp())}"
    )
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.get_data()) == {
        "type": "show.starting_soon",
        "data": {
            "user_id": reminder.user_id,
            "show": {
                "public_id": show.public_id,
                "title": "Spring boots",
                "channel": show.channel.slug,
                "scheduled_start": show.scheduled_start.isoformat(),
                "url": f"https://live.example.com/shows/{show.public_id}/",
            },
        },
    }
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_failing_hook_is_retried_without_emailing_again(
    httpserver: HTTPServer, settings, django_capture_on_commit_callbacks
):
    settings.LIVESHOP_NOTIFICATION_WEBHOOK_URL = httpserver.url_for("/hook")
    settings.LIVESHOP_NOTIFICATION_WEBHOOK_SECRET = SECRET
    show = _show(60)
    reminder = ShowReminderFactory(show=show)
    httpserver.expect_ordered_request("/hook").respond_with_response(
        WerkzeugResponse("down", status=503)
    )
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    with django_capture_on_commit_callbacks():
        show_cancel(show=show)
    with django_capture_on_commit_callbacks() as hook_callbacks:
        show_cancellation_deliver_task.delay(reminder.pk)

    # Eager Celery propagates the retry instead of rescheduling it, so the
    # test plays the worker: the first attempt fails, the retry succeeds.
    (post_hook,) = hook_callbacks
    with pytest.raises(Retry):
        post_hook()
    post_hook()

    first, second = (request for request, _response in httpserver.log)
    assert [response.status_code for _request, response in httpserver.log] == [503, 200]
    assert (
        first.headers["webhook-id"]
        == second.headers["webhook-id"]
        == (f"cancellation_{reminder.pk}")
    )
    assert json.loads(second.get_data())["type"] == "show.cancelled"
    assert len(mail.outbox) == 1
    reminder.refresh_from_db()
    assert reminder.cancellation_notified_at is not None


@pytest.mark.django_db
def test_without_a_hook_url_only_email_goes_out(settings, django_capture_on_commit_callbacks):
    settings.LIVESHOP_NOTIFICATION_WEBHOOK_URL = ""
    ShowReminderFactory(show=_show(5))

    assert _run_beat_job(django_capture_on_commit_callbacks) == 1
    assert len(mail.outbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_reminder_send_exactly_once():
    reminder = ShowReminderFactory(show=_show(10))
    workers = 8
    barrier = threading.Barrier(workers)
    results: list[bool] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            barrier.wait()
            results.append(show_reminder_deliver(reminder_id=reminder.pk))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(results) == [False] * (workers - 1) + [True]
    assert len(mail.outbox) == 1
    reminder.refresh_from_db()
    assert reminder.reminded_at is not None
