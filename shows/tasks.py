"""Celery adapters for show notifications; the logic is in shows.notifications.

Every task is idempotent: deliveries claim their reminder or hook row under a
lock, and the hook carries a stable ``webhook-id`` so receivers can dedupe retries.
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
def notification_hook_post(hook_id: int) -> bool:
    from shows.notifications import notification_hook_deliver

    return notification_hook_deliver(hook_id=hook_id)


@shared_task
def show_notices_sweep() -> int:
    """Beat job (every minute): enqueue again the notices a broker outage kept pending.

    Unsent cancellation notices and notification hooks (see
    ``shows.notifications``); "starting soon" reminders need no sweep, this beat
    job's neighbour ``show_reminders_send_due`` already finds them from their rows.
    """
    from shows.notifications import (
        notification_hooks_pending_list,
        show_cancellations_unsent_list,
    )

    reminder_ids = show_cancellations_unsent_list()
    for reminder_id in reminder_ids:
        show_cancellation_deliver.delay(reminder_id)
    hook_ids = notification_hooks_pending_list()
    for hook_id in hook_ids:
        notification_hook_post.delay(hook_id)
    return len(reminder_ids) + len(hook_ids)
