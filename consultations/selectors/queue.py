"""The desk's queue as a viewer and an advisor read it: position, estimated wait, the list."""

import dataclasses
import datetime as dt
import math
import statistics
import uuid

from django.db.models import DurationField, ExpressionWrapper, F, QuerySet, Sum

from consultations.models import Consultation, Desk, DeskAdvisor

# The estimate is the median handling time of the desk's last consultations; with fewer
# than this many it uses the desk's default.
HANDLING_HISTORY = 30
HANDLING_HISTORY_MIN = 5


@dataclasses.dataclass(frozen=True)
class QueuePlace:
    position: int
    estimated_wait_seconds: int


def desk_handling_seconds(*, desk: Desk) -> int:
    """The median length of the desk's last ended consultations (taken to ended), in seconds."""
    durations = list(
        Consultation.objects.filter(
            desk=desk, status=Consultation.Status.ENDED, taken_at__isnull=False
        )
        .annotate(
            handling=ExpressionWrapper(F("ended_at") - F("taken_at"), output_field=DurationField())
        )
        .order_by("-ended_at")
        .values_list("handling", flat=True)[:HANDLING_HISTORY]
    )
    if len(durations) < HANDLING_HISTORY_MIN:
        return desk.default_handling_seconds
    return max(1, round(statistics.median(d.total_seconds() for d in durations)))


def desk_capacity(*, desk: Desk) -> tuple[int, int]:
    """(slots, busy): the active advisors' summed capacity, and the consultations in progress."""
    slots = (
        DeskAdvisor.objects.filter(desk=desk, is_active=True, user__is_active=True).aggregate(
            total=Sum("capacity")
        )["total"]
        or 0
    )
    busy = Consultation.objects.filter(desk=desk, status=Consultation.Status.ACTIVE).count()
    return slots, busy


def queue_wait_estimate(*, position: int, slots: int, busy: int, handling_seconds: int) -> int:
    """Seconds until the request at ``position`` (1 = next) is likely taken.

    A free slot takes the next requests at once; beyond those, every ``slots`` requests
    ahead wait one handling time. With no advisor at all, one slot is assumed.
    """
    slots = max(1, slots)
    free = max(0, slots - busy)
    if position <= free:
        return 0
    return math.ceil((position - free) / slots) * handling_seconds


def consultation_queue_place(*, consultation: Consultation) -> QueuePlace | None:
    """Where a waiting request stands; None once it is no longer waiting."""
    if consultation.status != Consultation.Status.WAITING:
        return None
    position = Consultation.objects.filter(
        desk_id=consultation.desk_id,
        status=Consultation.Status.WAITING,
        ticket__lte=consultation.ticket,
    ).count()
    desk = consultation.desk
    slots, busy = desk_capacity(desk=desk)
    return QueuePlace(
        position=position,
        estimated_wait_seconds=queue_wait_estimate(
            position=position,
            slots=slots,
            busy=busy,
            handling_seconds=desk_handling_seconds(desk=desk),
        ),
    )


def desk_waiting_list(*, desk: Desk) -> QuerySet[Consultation]:
    """The desk's waiting requests, first asked first, with what an advisor shows of each."""
    return (
        Consultation.objects.filter(desk=desk, status=Consultation.Status.WAITING)
        .select_related("viewer", "topic", "product", "show")
        .order_by("ticket")
    )


def desk_waiting_count(*, desk: Desk) -> int:
    return Consultation.objects.filter(desk=desk, status=Consultation.Status.WAITING).count()


def consultation_get(*, public_id: str) -> Consultation | None:
    """The consultation with ``public_id`` (a UUID string); None if none or malformed."""
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return (
        Consultation.objects.select_related("desk", "viewer", "advisor", "topic", "product", "show")
        .filter(public_id=key)
        .first()
    )


def advisor_desk_get(*, desk: Desk, user_id: int) -> DeskAdvisor | None:
    """The active advisor row of ``user_id`` at ``desk``; None if they do not advise there."""
    return DeskAdvisor.objects.filter(
        desk=desk, user_id=user_id, is_active=True, user__is_active=True
    ).first()


def desk_get(*, slug: str) -> Desk | None:
    return Desk.objects.select_related("storefront", "channel").filter(slug=slug).first()


def consultation_wait_seconds(*, consultation: Consultation, now: dt.datetime) -> int:
    """How long the request waited (until taken, or until ``now`` while waiting)."""
    end = consultation.taken_at or consultation.ended_at or now
    return max(0, round((end - consultation.requested_at).total_seconds()))
