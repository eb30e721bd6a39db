"""Celery adapters for show notifications; the logic is in shows.notifications.

Every task is idempotent: deliveries claim their reminder row under a lock,
and the hook carries a stable ``webhook-id`` so receivers can dedupe retries.
"""

import httpx
from celery import shared_task


@shared_task
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


@shared_task
def show_cancellation_deliver(reminder_id: int) -> bool:
    from shows.notifications import show_cancellation_deliver as deliver

    return deliver(reminder_id=reminder_id)


@shared_task
def show_cancellation_notify(show_id: int) -> int:
    """Queue a cancellation notice for each subscriber not yet told."""
    from shows.notifications import show_cancellation_pending_list

    reminder_ids = show_cancellation_pending_list(show_id=show_id)
    for reminder_id in reminder_ids:
        show_cancellation_deliver.delay(reminder_id)
    return len(reminder_ids)


@shared_task(autoretry_for=(httpx.HTTPError,), retry_backoff=True, max_retries=5)
def notification_hook_post(event_type: str, data: dict, idempotency_key: str) -> bool:
    from liveshop.common.notifications import notification_hook_post as post

    return post(event_type=event_type, data=data, idempotency_key=idempotency_key)
