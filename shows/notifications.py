"""Telling subscribers about a show: "starting soon" and "cancelled".

Each notice is claimed on its reminder row under a lock before it is sent, so a
job that runs twice (or two workers) sends it once. The email goes out inside
that transaction; the notification hook is stored in it too and POSTed by its
own task after commit, so a hook that is down is retried without sending the
email again. The beat sweep (``show_notices_sweep``) enqueues again what a
broker outage kept from its task: unsent cancellation notices and hooks.

A reminder counts as sent for the show's current start time only: if the show
is moved later after its "starting soon" went out, the reminder is due again
at the new time.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from liveshop.common.notifications import notification_hook_post
from liveshop.common.tasks import SWEEP_GRACE, task_enqueue_on_commit
from shows.lock_objects import notification_hook_post_lock, show_reminder_lock
from shows.models import NotificationHookPost, Show, ShowReminder
from shows.selectors import show_page_url

logger = logging.getLogger(__name__)

# Notices (cancellations, hooks) still unsent after this long are given up by the sweep.
NOTICE_SWEEP_HORIZON = dt.timedelta(days=1)


def _lead() -> dt.timedelta:
    return dt.timedelta(minutes=settings.LIVESHOP_REMINDER_LEAD_MINUTES)


def _reminded_for_current_start(*, reminder: ShowReminder, show: Show) -> bool:
    # The same rule as the reminded_at condition in show_reminders_due_list,
    # checked again under the row lock.
    return reminder.reminded_at is not None and reminder.reminded_at >= (
        show.scheduled_start - _lead()
    )


def show_reminders_due_list(*, now: dt.datetime | None = None) -> list[int]:
    """Ids of reminders whose show starts within the lead time, not yet sent for that start."""
    now = now or timezone.now()
    lead = _lead()
    return list(
        ShowReminder.objects.filter(
            Q(reminded_at__isnull=True) | Q(reminded_at__lt=F("show__scheduled_start") - lead),
            show__status=Show.Status.SCHEDULED,
            show__scheduled_start__gt=now,
            show__scheduled_start__lte=now + lead,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _show_payload(show: Show) -> dict:
    return {
        "public_id": show.public_id,
        "title": show.title,
        "channel": show.channel.slug,
        "scheduled_start": show.scheduled_start.isoformat(),
        "url": show_page_url(show=show),
    }


def _hook_post_record(*, event_type: str, data: dict, idempotency_key: str) -> None:
    # The hook is stored with the notice and posted by its own task after commit:
    # pending in the database until posted, so a lost task message is swept again.
    if not settings.LIVESHOP_NOTIFICATION_WEBHOOK_URL:
        return
    from shows.tasks import notification_hook_post as notification_hook_post_task

    hook, _ = NotificationHookPost.objects.get_or_create(
        idempotency_key=idempotency_key, defaults={"event_type": event_type, "data": data}
    )
    task_enqueue_on_commit(notification_hook_post_task, hook_id=hook.pk)


@transaction.atomic
def notification_hook_deliver(*, hook_id: int, now: dt.datetime | None = None) -> bool:
    """POST one stored notification hook, once; returns whether it was posted now.

    Locks the hook row; one already sent is left alone. Raises ``httpx.HTTPError``
    when the receiver fails, leaving the hook pending for the task's retries and the
    sweep; the ``webhook-id`` is the same on every attempt so receivers can dedupe.
    """
    hook = notification_hook_post_lock(hook_id=hook_id)
    if hook is None or hook.sent_at is not None:
        return False
    posted = notification_hook_post(
        event_type=hook.event_type, data=hook.data, idempotency_key=hook.idempotency_key
    )
    if not posted:
        return False
    hook.sent_at = now or timezone.now()
    hook.save(update_fields=["sent_at"])
    return True


def notification_hooks_pending_list(*, now: dt.datetime | None = None) -> list[int]:
    """Ids of stored hooks not yet posted (beat sweep), within the sweep horizon.

    Newer than the grace period they still belong to their own task and its retries;
    older than the horizon they are given up (a day-old notice is no longer news).
    """
    if not settings.LIVESHOP_NOTIFICATION_WEBHOOK_URL:
        return []
    now = now or timezone.now()
    return list(
        NotificationHookPost.objects.filter(
            sent_at__isnull=True,
            created_at__lte=now - SWEEP_GRACE,
            created_at__gt=now - NOTICE_SWEEP_HORIZON,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def show_cancellations_unsent_list(*, now: dt.datetime | None = None) -> list[int]:
    """Ids of reminders of shows cancelled a while ago whose owners were not told (sweep).

    Catches what a lost ``show_cancellation_notify`` message left behind; same grace
    and horizon as ``notification_hooks_pending_list``.
    """
    now = now or timezone.now()
    return list(
        ShowReminder.objects.filter(
            cancellation_notified_at__isnull=True,
            show__status=Show.Status.CANCELLED,
            show__cancelled_at__lte=now - SWEEP_GRACE,
            show__cancelled_at__gt=now - NOTICE_SWEEP_HORIZON,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def show_cancellation_pending_list(*, show_id: int) -> list[int]:
    """Ids of the show's reminders whose owners were not yet told of its cancellation."""
    return list(
        ShowReminder.objects.filter(show_id=show_id, cancellation_notified_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def show_reminder_deliver(*, reminder_id: int, now: dt.datetime | None = None) -> bool:
    """Send one "starting soon" notice (email, then the hook after commit), once.

    Locks the reminder row; a reminder already sent for the show's current
    start, or whose show is outside the lead window or no longer scheduled,
    is left alone. Returns whether a notice went out.
    """
    now = now or timezone.now()
    lead = _lead()
    reminder = show_reminder_lock(reminder_id=reminder_id)
    if reminder is None:
        return False
    show = reminder.show
    if _reminded_for_current_start(reminder=reminder, show=show):
        return False
    if show.status != Show.Status.SCHEDULED or not (now < show.scheduled_start <= now + lead):
        return False
    minutes = max(1, round((show.scheduled_start - now).total_seconds() / 60))
    if reminder.user.email:
        send_mail(
            subject=f"Starting soon: {show.title}",
            message=(
                f"{show.title} on {show.channel.name} starts in {minutes} minutes.\n\n"
                f"Watch: {show_page_url(show=show)}\n"
            ),
            from_email=None,
            recipient_list=[reminder.user.email],
        )
    _hook_post_record(
        event_type="show.starting_soon",
        data={"user_id": reminder.user_id, "show": _show_payload(show)},
        # One id per start time: a receiver that dedupes must not swallow the
        # reminder for a show that was moved after the first one.
        idempotency_key=f"reminder_{reminder.pk}_{int(show.scheduled_start.timestamp())}",
    )
    reminder.reminded_at = now
    reminder.save(update_fields=["reminded_at"])
    return True


@transaction.atomic
def show_cancellation_deliver(*, reminder_id: int, now: dt.datetime | None = None) -> bool:
    """Tell one subscriber that their show was cancelled (email, then the hook), once.

    Locks the reminder row; a subscriber already told, or whose show is not
    cancelled, is left alone. Returns whether a notice went out.
    """
    now = now or timezone.now()
    reminder = show_reminder_lock(reminder_id=reminder_id)
    if reminder is None or reminder.cancellation_notified_at is not None:
        return False
    show = reminder.show
    if show.status != Show.Status.CANCELLED:
        return False
    if reminder.user.email:
        reason = f"\n\n{show.cancellation_reason}" if show.cancellation_reason else ""
        send_mail(
            subject=f"Cancelled: {show.title}",
            message=f"{show.title} on {show.channel.name} has been cancelled.{reason}\n",
            from_email=None,
            recipient_list=[reminder.user.email],
        )
    _hook_post_record(
        event_type="show.cancelled",
        data={
            "user_id": reminder.user_id,
            "show": _show_payload(show),
            "reason": show.cancellation_reason,
        },
        idempotency_key=f"cancellation_{reminder.pk}",
    )
    reminder.cancellation_notified_at = now
    reminder.save(update_fields=["cancellation_notified_at"])
    return True
