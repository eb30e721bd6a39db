"""Asking for an advisor, waiting, being taken, leaving: the desk's queue.

Lock order (docs/architecture.md): the desk row (its ticket counter), then the advisor's row
at the desk, then the consultation row. Every refusal is raised before anything is written.
"""

import datetime as dt
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Product
from chat.services import chat_text_clean
from consultations.lock_objects import (
    consultation_lock,
    consultation_next_waiting_lock,
    desk_advisor_lock,
    desk_ticket_allocate,
)
from consultations.models import Consultation, Desk, DeskTopic
from consultations.selectors.hours import desk_calendar_get
from consultations.selectors.queue import advisor_desk_get, desk_waiting_count
from liveshop.accounts.models import User
from liveshop.common.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from realtime.wire import iso_utc
from shows.access import show_access_view

# A waiting viewer's page or socket refreshes ``viewer_seen_at`` at most this often.
SEEN_REFRESH = dt.timedelta(seconds=10)


def _open_consultation(*, desk: Desk, viewer: User) -> Consultation | None:
    return Consultation.objects.filter(
        desk=desk, viewer=viewer, status__in=Consultation.OPEN_STATUSES
    ).first()


def _desk_open_require(*, desk: Desk, now: dt.datetime) -> None:
    calendar = desk_calendar_get(desk=desk)
    if calendar.is_open(now):
        return
    opening = calendar.next_opening(now)
    when = f" It opens again at {iso_utc(opening)}." if opening else ""
    raise ConflictError(
        f"{desk.name} is closed now.{when}",
        code="desk_closed",
        extra={"next_opening": iso_utc(opening)},
    )


def desk_topic_resolve(*, desk: Desk, topic: str | None) -> DeskTopic | None:
    """``desk``'s topic with the slug ``topic``; ``unknown_topic`` if it has none."""
    if not topic:
        return None
    found = DeskTopic.objects.filter(desk=desk, slug=topic).first()
    if found is None:
        raise ApplicationError(f"{desk.name} has no topic {topic!r}.", code="unknown_topic")
    return found


def desk_product_resolve(*, desk: Desk, product_id: int | None) -> Product | None:
    """The product ``product_id`` of ``desk``'s storefront; ``unknown_product`` otherwise."""
    if product_id is None:
        return None
    products = Product.objects.filter(pk=product_id)
    if desk.storefront_id is not None:
        products = products.filter(storefront_id=desk.storefront_id)
    product = products.first()
    if product is None:
        raise ApplicationError(f"{desk.name} has no product {product_id}.", code="unknown_product")
    return product


def consultation_request(
    *,
    desk: Desk,
    viewer: User,
    source: str,
    mode: str = Consultation.Mode.CHAT,
    topic: str | None = None,
    product_id: int | None = None,
    show_public_id: str | None = None,
    first_message: str = "",
    now: dt.datetime | None = None,
) -> tuple[Consultation, bool]:
    """Put ``viewer`` in ``desk``'s queue; returns the consultation and whether it is new.

    A viewer with an open (waiting or active) consultation at the desk gets that one back,
    unchanged. Refuses, changing nothing: ``desk_closed`` (409, with ``next_opening``) outside
    the desk's hours, ``queue_full`` (409), ``unknown_topic``, ``unknown_product`` (not the
    desk's storefront), a show the viewer may not see (404), and a first message that breaks
    the chat's text rule. Takes the desk's ticket counter (first in the lock order).
    """
    now = now or timezone.now()
    if source not in Consultation.Source.values or source == Consultation.Source.QUESTION:
        raise ApplicationError(f"{source!r} is not a source a viewer asks from.", code="invalid")
    if mode not in Consultation.Mode.values:
        raise ApplicationError(f"{mode!r} is not chat or video.", code="invalid")
    existing = _open_consultation(desk=desk, viewer=viewer)
    if existing is not None:
        return existing, False
    text = chat_text_clean(text=first_message, noun="message") if first_message.strip() else ""
    desk_topic = desk_topic_resolve(desk=desk, topic=topic)
    product = desk_product_resolve(desk=desk, product_id=product_id)
    show = show_access_view(user=viewer, public_id=show_public_id) if show_public_id else None
    _desk_open_require(desk=desk, now=now)
    with transaction.atomic():
        ticket = desk_ticket_allocate(desk_id=desk.pk)
        # Counted under the desk's lock: two last requests cannot both fit.
        if desk_waiting_count(desk=desk) >= desk.max_waiting:
            raise ConflictError(
                f"{desk.name}'s queue is full; please try again in a few minutes.",
                code="queue_full",
            )
        race: IntegrityError | None = None
        try:
            with transaction.atomic():
                consultation = Consultation.objects.create(
                    public_id=uuid.uuid4(),
                    desk=desk,
                    ticket=ticket,
                    viewer=viewer,
                    topic=desk_topic,
                    product=product,
                    show=show,
                    source=source,
                    mode=mode,
                    first_message=text,
                    requested_at=now,
                    viewer_seen_at=now,
                )
        except IntegrityError as error:
            # The same viewer asked twice at once and the other request won: undo the ticket.
            transaction.set_rollback(True)
            race = error
    if race is not None:
        existing = _open_consultation(desk=desk, viewer=viewer)
        if existing is None:
            raise race
        return existing, False
    return consultation, True


@transaction.atomic
def consultation_take(
    *, advisor: User, desk: Desk, public_id: str | None = None, now: dt.datetime | None = None
) -> Consultation:
    """``advisor`` takes the next waiting request of ``desk``, or the one at ``public_id``.

    A request is taken by one advisor only: the row is locked, and "the next" skips rows
    another advisor is taking at that moment. Refuses, changing nothing: ``not_an_advisor``
    (403), ``at_capacity`` (409) when the advisor already has as many consultations as their
    capacity, ``queue_empty`` (409), ``already_taken`` (409) and ``not_waiting`` (409, left
    or abandoned). Locks the advisor's row, then the consultation's.
    """
    now = now or timezone.now()
    seat = desk_advisor_lock(desk_id=desk.pk, user_id=advisor.pk)
    if seat is None or not seat.is_active or not advisor.is_active:
        raise PermissionDeniedError(f"You do not advise at {desk.name}.", code="not_an_advisor")
    in_progress = Consultation.objects.filter(
        desk=desk, advisor=advisor, status=Consultation.Status.ACTIVE
    ).count()
    if in_progress >= seat.capacity:
        raise ConflictError(
            f"You already have {in_progress} consultations in progress, your limit.",
            code="at_capacity",
        )
    if public_id is None:
        consultation = consultation_next_waiting_lock(desk_id=desk.pk)
        if consultation is None:
            raise ConflictError("Nobody is waiting.", code="queue_empty")
    else:
        found = Consultation.objects.filter(public_id=public_id, desk=desk).first()
        if found is None:
            raise NotFoundError("No such request at this desk.")
        consultation = consultation_lock(consultation_id=found.pk)
        if consultation.status == Consultation.Status.ACTIVE:
            raise ConflictError("Another advisor has taken this request.", code="already_taken")
        if consultation.status != Consultation.Status.WAITING:
            raise ConflictError("The viewer is no longer waiting.", code="not_waiting")
    consultation.status = Consultation.Status.ACTIVE
    consultation.advisor = advisor
    consultation.taken_at = now
    consultation.save(update_fields=["status", "advisor", "taken_at"])
    return consultation


@transaction.atomic
def consultation_leave(
    *, consultation: Consultation, viewer: User, now: dt.datetime | None = None
) -> Consultation:
    """The viewer leaves the queue, or the consultation in progress (outcome "viewer left").

    Refuses ``not_yours`` (403) for anyone but the viewer and ``not_open`` (409) once it
    has ended. Locks the consultation row.
    """
    now = now or timezone.now()
    if consultation.viewer_id != viewer.pk:
        raise PermissionDeniedError("This is not your consultation.", code="not_yours")
    current = consultation_lock(consultation_id=consultation.pk)
    if current.status not in Consultation.OPEN_STATUSES:
        raise ConflictError("This consultation has already ended.", code="not_open")
    fields = ["status", "ended_at"]
    if current.status == Consultation.Status.ACTIVE:
        current.outcome = Consultation.Outcome.VIEWER_LEFT
        fields.append("outcome")
    current.status = Consultation.Status.LEFT
    current.ended_at = now
    current.save(update_fields=fields)
    return current


def consultation_end_allowed(*, consultation: Consultation, user: User) -> bool:
    """The consultation's advisor and the desk's supervisors may end it."""
    if consultation.advisor_id == user.pk:
        return True
    seat = advisor_desk_get(desk=consultation.desk, user_id=user.pk)
    return seat is not None and seat.is_supervisor


@transaction.atomic
def consultation_end(
    *,
    consultation: Consultation,
    actor: User,
    outcome: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> Consultation:
    """End a consultation in progress with its outcome.

    Refuses ``not_your_consultation`` (403) unless ``actor`` is its advisor or a supervisor of
    the desk, ``invalid`` for an unknown outcome, ``not_active`` (409) unless in progress.
    Locks the consultation row.
    """
    now = now or timezone.now()
    if not consultation_end_allowed(consultation=consultation, user=actor):
        raise PermissionDeniedError(
            "Only its advisor or a supervisor ends a consultation.", code="not_your_consultation"
        )
    if outcome not in Consultation.Outcome.values:
        raise ApplicationError(f"{outcome!r} is not an outcome.", code="invalid")
    note = chat_text_clean(text=note, noun="note") if note.strip() else ""
    current = consultation_lock(consultation_id=consultation.pk)
    if current.status != Consultation.Status.ACTIVE:
        raise ConflictError("Only a consultation in progress can be ended.", code="not_active")
    current.status = Consultation.Status.ENDED
    current.ended_at = now
    current.outcome = outcome
    current.outcome_note = note
    current.save(update_fields=["status", "ended_at", "outcome", "outcome_note"])
    return current


def consultation_viewer_seen(*, consultation: Consultation, now: dt.datetime | None = None) -> bool:
    """Record that the waiting viewer is still there; at most one write per ``SEEN_REFRESH``.

    A conditional ``UPDATE``, no lock: it only moves ``viewer_seen_at`` forward.
    """
    now = now or timezone.now()
    updated = Consultation.objects.filter(
        pk=consultation.pk,
        status=Consultation.Status.WAITING,
        viewer_seen_at__lt=now - SEEN_REFRESH,
    ).update(viewer_seen_at=now)
    return bool(updated)


def consultations_abandoned_mark(*, now: dt.datetime | None = None) -> int:
    """Mark as abandoned the waiting requests whose viewer has not been seen for a while.

    ``LIVESHOP_CONSULT_AWAY_SECONDS`` without a poll or a socket. One conditional
    ``UPDATE``: a request taken meanwhile is no longer waiting and stays as it is.
    Idempotent (the beat task runs it every 15 seconds). Returns how many were marked.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.LIVESHOP_CONSULT_AWAY_SECONDS)
    return Consultation.objects.filter(
        status=Consultation.Status.WAITING, viewer_seen_at__lt=cutoff
    ).update(status=Consultation.Status.ABANDONED, ended_at=now)
