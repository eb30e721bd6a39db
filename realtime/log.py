"""The per-room event log: append in the writing transaction, publish after commit.

Every event a viewer can see goes through ``event_append``. It allocates the room's next
``seq`` with one ``UPDATE ... RETURNING`` on the room row; that row stays locked until the
transaction ends, so the seqs of one room commit in order and a rolled-back write leaves no
hole and sends nothing. Reads of the log (what a resuming client missed, what the hub's
broker lost) are here too. The tables are the room kind's (``realtime.rooms``).
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

from liveshop.common.transactions import atomic_required
from realtime import broker
from realtime.models import Audience, RoomEvent, RoomState
from realtime.rooms import RoomRef, room_kind_get


def room_ensure(*, room: RoomRef) -> None:
    """Create the room's row if it does not exist yet (idempotent, race-safe)."""
    model = room_kind_get(room.kind).room_model
    row = model()
    row.pk = room.key
    model._default_manager.bulk_create([row], ignore_conflicts=True)


def _seq_allocate(room: RoomRef) -> int:
    meta = room_kind_get(room.kind).room_model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {meta.db_table} SET last_seq = last_seq + 1 WHERE {meta.pk.column} = %s"
            " RETURNING last_seq",
            [room.key],
        )
        row = cursor.fetchone()
    if row is not None:
        return row[0]
    room_ensure(room=room)
    return _seq_allocate(room)


def event_wire_format(event: RoomEvent) -> dict:
    """The event as it travels between processes: client view plus its audience."""
    return {
        "seq": event.seq,
        "type": event.type,
        "data": event.data,
        "aud": event.audience,
        "uid": event.audience_user_id,
    }


def event_publish_after_commit(*, room: RoomRef, event: RoomEvent) -> None:
    """Publish ``event`` to every server process once the transaction commits."""
    transaction.on_commit(
        functools.partial(
            # Through the module, so a test that replaces broker_publish sees the call.
            broker.broker_publish,
            room=room,
            payload=orjson.dumps(event_wire_format(event)),
        )
    )


def _room_filter(room: RoomRef) -> dict[str, int]:
    return {f"{room_kind_get(room.kind).key_field}_id": room.key}


def event_append(
    *,
    room: RoomRef,
    type: str,
    data: dict,
    audience: str = Audience.PUBLIC,
    audience_user_id: int | None = None,
    subject_id: int | None = None,
    seq: int | None = None,
) -> RoomEvent:
    """Append one event to the room's log and publish it after commit.

    Must run inside ``transaction.atomic``. ``seq`` may be passed when the caller
    already allocated it with ``seq_allocate`` (to store it on its own row first).
    Side effect: after commit the event is published to every server process;
    nothing is published if the transaction rolls back.
    """
    atomic_required("event_append")
    event = room_kind_get(room.kind).event_model._default_manager.create(
        **_room_filter(room),
        seq=seq if seq is not None else _seq_allocate(room),
        type=type,
        data=data,
        audience=audience,
        audience_user_id=audience_user_id if audience == Audience.USER else None,
        subject_id=subject_id,
    )
    event_publish_after_commit(room=room, event=event)
    return event


def seq_allocate(*, room: RoomRef) -> int:
    """Reserve the room's next seq for an event appended later in this transaction."""
    atomic_required("seq_allocate")
    return _seq_allocate(room)


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


def room_state(*, room: RoomRef) -> RoomState:
    """The room row (created if missing): log position, epoch and the recorded aggregates."""
    room_ensure(room=room)
    return room_kind_get(room.kind).room_model._default_manager.get(pk=room.key)


def _events(room: RoomRef) -> QuerySet[RoomEvent]:
    return room_kind_get(room.kind).event_model._default_manager.filter(**_room_filter(room))


def events_visible(*, room: RoomRef, user_id: int | None, is_team: bool) -> QuerySet[RoomEvent]:
    """The room's events a viewer sees: all for the team, else public ones and their own."""
    events = _events(room)
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
    *, room: RoomRef, user_id: int | None, is_team: bool, epoch: str, seq: int
) -> ResumePlan:
    """The events a client at (``epoch``, ``seq``) missed, or why it cannot resume."""
    state = room_state(room=room)
    current = state.last_seq

    def refuse(reason: str) -> ResumePlan:
        return ResumePlan(False, reason, [], current, str(state.epoch))

    if epoch != str(state.epoch):
        return refuse("epoch_mismatch")
    if seq > current:
        return refuse("future_seq")
    if current - seq > settings.LIVESHOP_RESUME_MAX_EVENTS:
        return refuse("too_many")
    if seq < current:
        first_missed = (
            _events(room).filter(seq=seq + 1).values_list("created_at", flat=True).first()
        )
        horizon = timezone.now() - datetime.timedelta(seconds=settings.LIVESHOP_RESUME_MAX_AGE)
        if first_missed is None or first_missed < horizon:
            return refuse("too_old")
    events = [
        event_wire_format(event)
        for event in events_visible(room=room, user_id=user_id, is_team=is_team).filter(
            seq__gt=seq, seq__lte=current
        )
    ]
    return ResumePlan(True, None, events, current, str(state.epoch))


def events_after(*, room: RoomRef, after: int, before: int | None = None) -> list[dict]:
    """Log entries with ``after < seq < before`` (or all after ``after``) in the broker's
    wire format."""
    events = _events(room).filter(seq__gt=after)
    if before is not None:
        events = events.filter(seq__lt=before)
    return [event_wire_format(event) for event in events]
