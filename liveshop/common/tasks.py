"""Enqueueing Celery tasks after commit without letting a broker outage fail the request.

The broker is Redis; while it is down ``apply_async`` raises. Django runs on_commit
callbacks after COMMIT, so an exception there would turn a request whose data is
already stored into a 500. Every after-commit enqueue therefore goes through
``task_enqueue_on_commit``: a failure is logged and dropped, and the work is not
lost because each task's pending state is a row in the database that a beat sweep
enqueues again (docs/architecture.md, "Side effects after commit").
"""

import datetime as dt
import functools
import logging

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger("liveshop.tasks")

# Pending work younger than this still belongs to the task enqueued on commit (and its
# retries); the beat sweeps enqueue only what is older, so they rarely double a message.
SWEEP_GRACE = dt.timedelta(minutes=1)


def _enqueue(task: Task, kwargs: dict) -> None:
    try:
        task.apply_async(kwargs=kwargs)
    except OperationalError as error:
        # The broker is unreachable: expected during an outage, the sweep catches up.
        logger.warning(
            "Could not enqueue %s(%s), the beat sweep retries it: %s",
            task.name,
            _kwargs_text(kwargs),
            error,
        )
    except Exception:
        if task.app.conf.task_always_eager:
            # Eager mode runs the task here: its errors belong to the caller (tests).
            raise
        logger.exception(
            "Could not enqueue %s(%s), the beat sweep retries it", task.name, _kwargs_text(kwargs)
        )


def _kwargs_text(kwargs: dict) -> str:
    # Only ids and other plain values are passed to tasks, never secrets or payloads.
    return ", ".join(f"{key}={value!r}" for key, value in sorted(kwargs.items()))


def task_enqueue_on_commit(task: Task, **kwargs: object) -> None:
    """Enqueue ``task`` with ``kwargs`` once the current transaction commits.

    Precondition: the work the task does is recorded as pending in the database in
    the same transaction and a beat sweep re-enqueues pending work, so a lost message
    is only a delay. Side effect: a broker error is logged (task name and arguments)
    and never raised into the caller. In eager mode (tests) the task runs on commit
    and its own errors propagate.
    """
    transaction.on_commit(functools.partial(_enqueue, task, kwargs))
