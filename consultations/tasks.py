"""Celery adapters for the consultations queue; the logic is in consultations.services."""

from celery import shared_task

from consultations.services import queue


@shared_task
def consultations_abandoned_mark() -> int:
    """Beat job (every 15 s): waiting requests whose viewer has gone leave the queue."""
    return queue.consultations_abandoned_mark()
