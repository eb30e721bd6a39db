"""Tasks enqueued after commit while the Celery broker (Redis) is down, and the sweeps.

A broker error at enqueue time is logged and the request answers as usual with its
data committed; the work stays pending in the database and the beat sweeps enqueue
it again, each task doing its work once however often it runs.
"""

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from pytest_httpserver import HTTPServer

from shows.models import NotificationHookPost, Show, ShowEvent, ShowReminder
from shows.notifications import show_cancellation_deliver
from shows.services import show_cancel
from shows.tasks import show_notices_sweep
from tests import factories
from tests.conftest import client_for
from video import media
from video.models import IngestSession, Recording
from video.tasks import video_work_sweep

HOOK_SECRET = "whsec-test-secret"


def _enqueue_warnings(caplog) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "liveshop.tasks" and record.levelno == logging.WARNING
    ]


def _ago(**kwargs) -> dt.datetime:
    return timezone.now() - dt.timedelta(**kwargs)


def _scheduled_show(**kwargs) -> Show:
    start = timezone.now() + dt.timedelta(hours=2)
    return factories.ShowFactory(
        scheduled_start=start, scheduled_end=start + dt.timedelta(hours=1), **kwargs
    )


def test_cancelling_while_the_broker_is_down_answers_200_and_logs_the_lost_task(
    transactional_db, celery_broker_down, merchandiser, caplog
):
    show = _scheduled_show(title="Rainy day")
    reminder = factories.ShowReminderFactory(
        show=show, user=factories.UserFactory(email="fan@example.com")
    )

    response = client_for(merchandiser).post(
        f"/api/v1/shows/{show.public_id}/cancel", {"reason": "The host is ill."}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    show.refresh_from_db()
    assert (show.status, show.cancellation_reason) == (Show.Status.CANCELLED, "The host is ill.")
    reminder.refresh_from_db()
    assert reminder.cancellation_notified_at is None
    assert mail.outbox == []
    (warning,) = _enqueue_warnings(caplog)
    assert warning.startswith(
        f"Could not enqueue shows.tasks.show_cancellation_notify(show_id={show.pk}), "
        "the beat sweep retries it: "
    )


def test_a_notice_sent_while_the_broker_is_down_keeps_its_hook_pending(
    transactional_db, celery_broker_down, settings, caplog
):
    settings.LIVESHOP_NOTIFICATION_WEBHOOK_URL = "http://hooks.example/notifications"
    settings.LIVESHOP_NOTIFICATION_WEBHOOK_SECRET = HOOK_SECRET
    show = _scheduled_show(status=Show.Status.CANCELLED, cancelled_at=timezone.now())
    reminder = factories.ShowReminderFactory(
        show=show, user=factories.UserFactory(email="fan@example.com")
    )

    assert show_cancellation_deliver(reminder_id=reminder.pk) is True

    reminder.refresh_from_db()
    assert reminder.cancellation_notified_at is not None
    assert len(mail.outbox) == 1
    hook = NotificationHookPost.objects.get()
    assert (hook.event_type, hook.idempotency_key, hook.sent_at) == (
        "show.cancelled",
        f"cancellation_{reminder.pk}",
        None,
    )
    (warning,) = _enqueue_warnings(caplog)
    assert warning.startswith(
        f"Could not enqueue shows.tasks.notification_hook_post(hook_id={hook.pk}), "
    )


@pytest.mark.django_db
def test_the_notices_sweep_sends_a_lost_cancellation_once_when_run_twice(
    django_capture_on_commit_callbacks,
):
    lost = _scheduled_show(title="Rainy day")
    ada = factories.ShowReminderFactory(show=lost, user=factories.UserFactory(email="a@x.example"))
    bob = factories.ShowReminderFactory(show=lost, user=factories.UserFactory(email="b@x.example"))
    recent = _scheduled_show()
    factories.ShowReminderFactory(show=recent)
    old = _scheduled_show()
    factories.ShowReminderFactory(show=old)
    with django_capture_on_commit_callbacks():  # the task messages are lost
        for show in (lost, recent, old):
            show_cancel(show=show)
    Show.objects.filter(pk=lost.pk).update(cancelled_at=_ago(minutes=2))
    Show.objects.filter(pk=old.pk).update(cancelled_at=_ago(days=2))

    with django_capture_on_commit_callbacks(execute=True):
        first = show_notices_sweep.delay().get()
    with django_capture_on_commit_callbacks(execute=True):
        second = show_notices_sweep.delay().get()

    assert (first, second) == (2, 0)
    assert sorted(message.to[0] for message in mail.outbox) == ["a@x.example", "b@x.example"]
    assert {message.subject for message in mail.outbox} == {"Cancelled: Rainy day"}
    assert set(
        ShowReminder.objects.filter(cancellation_notified_at__isnull=False).values_list(
            "pk", flat=True
        )
    ) == {ada.pk, bob.pk}


@pytest.mark.django_db
def test_the_notices_sweep_posts_a_lost_hook_once_when_run_twice(
    httpserver: HTTPServer, settings, django_capture_on_commit_callbacks
):
    settings.LIVESHOP_NOTIFICATION_WEBHOOK_URL = httpserver.url_for("/hook")
    settings.LIVESHOP_NOTIFICATION_WEBHOOK_SECRET = HOOK_SECRET
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    show = _scheduled_show(status=Show.Status.CANCELLED, cancelled_at=timezone.now())
    lost, recent, old = factories.ShowReminderFactory.create_batch(3, show=show)
    with django_capture_on_commit_callbacks():  # the hook task messages are lost
        for reminder in (lost, recent, old):
            show_cancellation_deliver(reminder_id=reminder.pk)
    hooks = NotificationHookPost.objects
    hooks.filter(idempotency_key=f"cancellation_{lost.pk}").update(created_at=_ago(minutes=2))
    hooks.filter(idempotency_key=f"cancellation_{old.pk}").update(created_at=_ago(days=2))

    first = show_notices_sweep.delay().get()
    second = show_notices_sweep.delay().get()

    assert (first, second) == (1, 0)
    ((request, _response),) = httpserver.log
    assert request.headers["webhook-id"] == f"cancellation_{lost.pk}"
    assert json.loads(request.get_data())["type"] == "show.cancelled"
    assert list(hooks.filter(sent_at__isnull=False).values_list("idempotency_key", flat=True)) == [
        f"cancellation_{lost.pk}"
    ]
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_the_video_sweep_processes_a_lost_recording_once_when_run_twice(
    media_dir, monkeypatch, django_capture_on_commit_callbacks
):
    builds = []

    def vod_build(*, source, target):
        builds.append(source)
        target.mkdir(parents=True)
        return media.VodResult(
            playlist=target / "index.m3u8", thumbnail=target / "thumb.jpg", duration_seconds=60.0
        )

    monkeypatch.setattr(media, "vod_build", vod_build)
    show = factories.ShowFactory(status=Show.Status.ENDED)
    lost = factories.RecordingFactory(
        show=show, status=Recording.Status.PENDING, duration_seconds=None, ready_at=None
    )
    recent = factories.RecordingFactory(
        show=show, status=Recording.Status.PENDING, duration_seconds=None, ready_at=None
    )
    Recording.objects.filter(pk=lost.pk).update(created_at=_ago(minutes=2))

    with django_capture_on_commit_callbacks(execute=True):
        first = video_work_sweep.delay().get()
    with django_capture_on_commit_callbacks(execute=True):
        second = video_work_sweep.delay().get()

    assert (first, second) == (1, 0)
    assert builds == [Path(lost.source)]
    lost.refresh_from_db()
    recent.refresh_from_db()
    assert (lost.status, lost.duration_seconds) == (Recording.Status.READY, 60.0)
    assert recent.status == Recording.Status.PENDING
    assert list(ShowEvent.objects.filter(show=show).values_list("type", flat=True)) == [
        "video.replay"
    ]


@pytest.mark.django_db
def test_the_video_sweep_marks_a_stream_playable_once_when_run_twice(
    media_dir, django_capture_on_commit_callbacks
):
    show = factories.ShowFactory(status=Show.Status.LIVE)
    session = IngestSession.objects.create(
        show=show,
        provider="nginx_rtmp",
        client_id="8",
        state=IngestSession.State.LIVE,
        started_at=_ago(minutes=2),
    )
    (media_dir / "hls" / f"{show.public_id}.m3u8").write_text("#EXTM3U\n#EXTINF:2.0,\n0.ts\n")

    with django_capture_on_commit_callbacks(execute=True):
        first = video_work_sweep.delay().get()
    with django_capture_on_commit_callbacks(execute=True):
        second = video_work_sweep.delay().get()

    assert (first, second) == (1, 0)
    session.refresh_from_db()
    assert session.playable_at is not None
    assert list(ShowEvent.objects.filter(show=show).values_list("type", flat=True)) == [
        "video.playable"
    ]
