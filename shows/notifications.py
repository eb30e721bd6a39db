"""Telling subscribers about a show: "starting soon" and "cancelled".

Each notice is claimed on its reminder row under a lock before it is sent, so a
job that runs twice (or two workers) sends it once.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from liveshop.common.notifications import notification_hook_post
from shows.models import Show, ShowReminder

logger = logging.getLogger(__name__)


def show_reminders_due_list(*, now: dt.datetime | None = None) -> list[int]:
    """Ids of reminders whose show starts within the lead time and that were not sent."""
    now = now or timezone.now()
    lead = dt.timedelta(minutes=settings.LIVESHOP_REMINDER_LEAD_MINUTES)
    return list(
        ShowReminder.objects.filter(
            reminded_at__isnull=True,
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
        "url": f"{settings.PUBLIC_BASE_URL}/api/v1/shows/{show.public_id}",
    }


@transaction.atomic
def show_reminder_deliver(*, reminder_id: int, now: dt.datetime | None = None) -> bool:
    """Send one "starting soon" notice (email and notification hook), once.

    Locks the reminder row; a reminder already sent, or whose show moved out
    of the lead window or is no longer scheduled, is left alone. Returns
    whether a notice went out.
    """
    now = now or timezone.now()
    lead = dt.timedelta(minutes=settings.LIVESHOP_REMINDER_LEAD_MINUTES)
    reminder = (
        ShowReminder.objects.select_for_update(of=("self",))
        .select_related("show__channel", "user")
        .filter(pk=reminder_id)
        .first()
    )
    if reminder is None or reminder.reminded_at is not None:
        return False
    show = reminder.show
    if show.status != Show.Status.SCHEDULED or not (now < show.scheduled_start <= now + lead):
        return False
    minutes = max(1, round((show.scheduled_start - now).total_seconds() / 60))
    if reminder.user.email:
        send_mail(
            subject=f"Starting soon: {show.title}",
            message=(
                f"{show.title} on {show.channel.name} starts in {minutes} minutes.\n\n"
                f"Watch: {settings.PUBLIC_BASE_URL}/api/v1/shows/{show.public_id}\n"
            ),
            from_email=None,
            recipient_list=[reminder.user.email],
        )
    notification_hook_post(
        event_type="show.starting_soon",
        data={"user_id": reminder.user_id, "show": _show_payload(show)},
        idempotency_key=f"reminder_{reminder.pk}",
    )
    reminder.reminded_at = now
    reminder.save(update_fields=["reminded_at"])
    return True


@transaction.atomic
def show_cancellation_deliver(*, reminder_id: int, now: dt.datetime | None = None) -> bool:
    """Tell one subscriber that their show was cancelled, once."""
    now = now or timezone.now()
    reminder = (
        ShowReminder.objects.select_for_update(of=("self",))
        .select_related("show__channel", "user")
        .filter(pk=reminder_id)
        .first()
    )
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
    notification_hook_post(
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
