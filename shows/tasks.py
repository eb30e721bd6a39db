"""Celery adapters for show notifications; the logic is in shows.notifications."""

import httpx
from celery import shared_task

from shows.models import ShowReminder


@shared_task(autoretry_for=(httpx.HTTPError,), retry_backoff=True, max_retries=5)
def show_reminder_deliver(reminder_id: int) -> bool:
    from shows.notifications import show_reminder_deliver as deliver

    return deliver(reminder_id=reminder_id)


@shared_task
def show_reminders_send_due() -> int:
    """Beat job (every minute): queue a delivery for each due reminder."""
    from shows.notifications import show_reminders_due_list

    reminder_ids = show_reminders_due_list()
    for reminder_id in reminder_ids:
        show_reminder_deliver.delay(reminder_id)
    return len(reminder_ids)


@shared_task(autoretry_for=(httpx.HTTPError,), retry_backoff=True, max_retries=5)
def show_cancellation_deliver(reminder_id: int) -> bool:
    from shows.notifications import show_cancellation_deliver as deliver

    return deliver(reminder_id=reminder_id)


@shared_task
def show_cancellation_notify(show_id: int) -> int:
    reminder_ids = list(
        ShowReminder.objects.filter(show_id=show_id, cancellation_notified_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for reminder_id in reminder_ids:
        show_cancellation_deliver.delay(reminder_id)
    return len(reminder_ids)
