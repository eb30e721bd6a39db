"""Callback requests: a viewer who found the desk closed asks to be contacted later."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.services import chat_text_clean
from consultations.lock_objects import callback_lock
from consultations.models import CallbackRequest, Desk
from consultations.selectors.hours import desk_calendar_get
from consultations.selectors.queue import advisor_desk_get
from consultations.services.queue import desk_product_resolve, desk_topic_resolve
from liveshop.accounts.models import User
from liveshop.common.exceptions import ApplicationError, ConflictError, PermissionDeniedError

# How far ahead a viewer may ask to be called back.
CALLBACK_HORIZON = dt.timedelta(days=14)


def _window_check(*, desk: Desk, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> None:
    if end <= start:
        raise ApplicationError(
            "The preferred time must end after it starts.", code="invalid_window"
        )
    if end <= now:
        raise ApplicationError("The preferred time is in the past.", code="invalid_window")
    if start > now + CALLBACK_HORIZON:
        raise ApplicationError(
            "A callback can be asked for the next two weeks only.", code="invalid_window"
        )
    if not desk_calendar_get(desk=desk).intervals(start=max(start, now), end=end):
        raise ApplicationError(
            f"{desk.name} is closed all through that time; pick a time within its hours.",
            code="outside_hours",
        )


def callback_request(
    *,
    desk: Desk,
    viewer: User,
    preferred_start: dt.datetime,
    preferred_end: dt.datetime,
    topic: str | None = None,
    product_id: int | None = None,
    message: str = "",
    now: dt.datetime | None = None,
) -> tuple[CallbackRequest, bool]:
    """Ask ``desk`` to contact ``viewer`` between two instants; returns it and whether it is new.

    A viewer with an open request at the desk has it updated (time, topic, product, message)
    instead of a second one. Refuses, changing nothing: ``invalid_window`` (not in order, in
    the past, beyond two weeks), ``outside_hours`` (the desk is closed throughout),
    ``unknown_topic``, ``unknown_product`` and a message breaking the chat's text rule.
    """
    now = now or timezone.now()
    _window_check(desk=desk, start=preferred_start, end=preferred_end, now=now)
    text = chat_text_clean(text=message, noun="message") if message.strip() else ""
    fields = {
        "topic": desk_topic_resolve(desk=desk, topic=topic),
        "product": desk_product_resolve(desk=desk, product_id=product_id),
        "message": text,
        "preferred_start": preferred_start,
        "preferred_end": preferred_end,
    }
    for _attempt in range(2):
        try:
            with transaction.atomic():
                callback, created = CallbackRequest.objects.update_or_create(
                    desk=desk, viewer=viewer, status=CallbackRequest.Status.OPEN, defaults=fields
                )
            return callback, created
        except IntegrityError:
            # Two requests of one viewer at once: the other created it; update that one.
            continue
    raise ConflictError("Please try again.", code="conflict")


def _callback_open(*, callback: CallbackRequest) -> CallbackRequest:
    locked = callback_lock(callback_id=callback.pk)
    if locked.status != CallbackRequest.Status.OPEN:
        raise ConflictError("This callback request is closed already.", code="not_open")
    return locked


@transaction.atomic
def callback_done(
    *, callback: CallbackRequest, advisor: User, now: dt.datetime | None = None
) -> CallbackRequest:
    """An advisor of the desk marks the request handled. ``not_an_advisor`` (403), ``not_open``."""
    if advisor_desk_get(desk=callback.desk, user_id=advisor.pk) is None:
        raise PermissionDeniedError(
            f"You do not advise at {callback.desk.name}.", code="not_an_advisor"
        )
    current = _callback_open(callback=callback)
    current.status = CallbackRequest.Status.DONE
    current.handled_by = advisor
    current.handled_at = now or timezone.now()
    current.save(update_fields=["status", "handled_by", "handled_at"])
    return current


@transaction.atomic
def callback_cancel(*, callback: CallbackRequest, viewer: User) -> CallbackRequest:
    """The viewer withdraws their request. ``not_yours`` (403), ``not_open`` (409)."""
    if callback.viewer_id != viewer.pk:
        raise PermissionDeniedError("This is not your callback request.", code="not_yours")
    current = _callback_open(callback=callback)
    current.status = CallbackRequest.Status.CANCELLED
    current.save(update_fields=["status"])
    return current
