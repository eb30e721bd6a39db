"""The per-room event log: append in the writing transaction, publish after commit.

Every event a viewer can see goes through ``event_append``. It allocates the room's next
``seq`` with one ``UPDATE ... RETURNING`` on the room row; that row stays locked until the
transaction ends, so the seqs of one room commit in order and a rolled-back write leaves no
hole and sends nothing. Reads of the log (what a resuming client missed, what the hub's
broker lost) are here too.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from chat.models import ShowEvent, ShowRoom
from liveshop.common.transactions import atomic_required
from realtime import broker
from realtime.models import Audience


def room_ensure(*, show_id: int) -> None:
    """Create the show's room row if it does not exist yet (idempotent, race-safe)."""
    ShowRoom.objects.bulk_create([ShowRoom(show_id=show_id)], ignore_conflicts=True)


def _seq_allocate(show_id: int) -> int:
    table = ShowRoom._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + 1 WHERE show_id = %s RETURNING last_seq",
            [show_id],
        )
        row = cursor.fetchone()
    if row is not None:
        return row[0]
    room_ensure(show_id=show_id)
    return _seq_allocate(show_id)


def event_wire_format(event: ShowEvent) -> dict:
    """The event as it travels between processes: client view plus its audience."""
    return {
        "seq": event.seq,
        "type": event.type,
        "data": event.data,
        "aud": event.audience,
        "uid": event.audience_user_id,
    }


def event_publish_after_commit(event: ShowEvent) -> None:
    """Publish ``event`` to every server process once the transaction commits."""
    transaction.on_commit(
        functools.partial(
            # Through the module, so a test that replaces broker_publish sees the call.
            broker.broker_publish,
            show_id=event.show_id,
            payload=orjson.dumps(event_wire_format(event)),
        )
    )


def event_append(
    *,
    show_id: int,
    type: str,
    data: dict,
    audience: str = Audience.PUBLIC,
    audience_user_id: int | None = None,
    message_id: int | None = None,
    seq: int | None = None,
) -> ShowEvent:
    """Append one event to the room's log and publish it after commit.

    Must run inside ``transaction.atomic``. ``seq`` may be passed when the caller
    already allocated it with ``seq_allocate`` (to store it on its own row first).
    Side effect: after commit the event is published to every server process;
    nothing is published if the transaction rolls back.
    """
    atomic_required("event_append")
    event = ShowEvent.objects.create(
        show_id=show_id,
        seq=seq if seq is not None else _seq_allocate(show_id),
        type=type,
        data=data,
        audience=audience,
        audience_user_id=audience_user_id if audience == Audience.USER else None,
        message_id=message_id,
    )
    event_publish_after_commit(event)
    return event


def seq_allocate(*, show_id: int) -> int:
    """Reserve the room's next seq for an event appended later in this transaction."""
    atomic_required("seq_allocate")
    return _seq_allocate(show_id)


def insert_columns(instance: models.Model, *, exclude: tuple[str, ...]) -> tuple[str, str, list]:
    """(columns, placeholders, parameters) to INSERT ``instance``, as ``save()`` would.

    ``pre_save`` fills ``auto_now_add`` fields; the primary key and ``exclude``
    (attribute names) are left to SQL expressions the caller adds.
    """
    columns: list[str] = []
    parameters: list[Any] = []
    for field in instance._meta.concrete_fields:
        # A concrete field always has a column; the check is for the type checker.
        if field.primary_key or field.attname in exclude or field.column is None:
            continue
        columns.append(connection.ops.quote_name(field.column))
        parameters.append(field.get_db_prep_save(field.pre_save(instance, True), connection))
    return ", ".join(columns), ", ".join(["%s"] * len(columns)), parameters


# -- Reading the log -------------------------------------------------------------------


def room_state(*, show_id: int) -> ShowRoom:
    """The room row (created if missing): log position, epoch and the recorded aggregates."""
    room_ensure(show_id=show_id)
    return ShowRoom.objects.get(show_id=show_id)


def events_visible(*, show_id: int, user_id: int | None, is_team: bool) -> QuerySet[ShowEvent]:
    """The room's events a viewer sees: all for the team, else public ones and their own."""
    events = ShowEvent.objects.filter(show_id=show_id)
    if is_team:
        return events
    rule = Q(audience=Audience.PUBLIC)
    if user_id is not None:
        rule |= Q(audience=Audience.USER, audience_user_id=user_id)
    return events.filter(rule)


@dataclasses.dataclass(frozen=True)
class ResumePlan:
    recovered: bool
    reason: str | None
    events: list[dict]
    seq: int
    epoch: str


def resume_plan(
    *, show_id: int, user_id: int | None, is_team: bool, epoch: str, seq: int
) -> ResumePlan:
    """The events a client at (``epoch``, ``seq``) missed, or why it cannot resume."""
    room = room_state(show_id=show_id)
    current = room.last_seq

    def refuse(reason: str) -> ResumePlan:
        return ResumePlan(False, reason, [], current, str(room.epoch))

    if epoch != str(room.epoch):
        return refuse("epoch_mismatch")
    if seq > current:
        return refuse("future_seq")
    if current - seq > settings.LIVESHOP_RESUME_MAX_EVENTS:
        return refuse("too_many")
    if seq < current:
        first_missed = (
            ShowEvent.objects.filter(show_id=show_id, seq=seq + 1)
            .values_list("created_at", flat=True)
            .first()
        )
        horizon = timezone.now() - datetime.timedelta(seconds=settings.LIVESHOP_RESUME_MAX_AGE)
        if first_missed is None or first_missed < horizon:
            return refuse("too_old")
    events = [
        event_wire_format(event)
        for event in events_visible(show_id=show_id, user_id=user_id, is_team=is_team).filter(
            seq__gt=seq, seq__lte=current
        )
    ]
    return ResumePlan(True, None, events, current, str(room.epoch))


def events_after(*, show_id: int, after: int, before: int | None = None) -> list[dict]:
    """Log entries with ``after < seq < before`` (or all after ``after``) in the broker's
    wire format."""
    events = ShowEvent.objects.filter(show_id=show_id, seq__gt=after)
    if before is not None:
        events = events.filter(seq__lt=before)
    return [event_wire_format(event) for event in events]
