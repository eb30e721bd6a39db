"""The per-show event log: append in the writing transaction, publish after commit.

Every event a viewer can see goes through ``show_event_append``. It allocates the
show's next ``seq`` with one ``UPDATE ... RETURNING`` on the show's room row; that row
stays locked until the transaction ends, so the seqs of one show commit in order and
a rolled-back write leaves no hole and sends nothing.
"""

from __future__ import annotations

import functools

import orjson
from django.db import connection, transaction

from chat import broker
from chat.models import Audience, ShowEvent, ShowRoom


def show_room_ensure(*, show_id: int) -> None:
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
    show_room_ensure(show_id=show_id)
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


def show_event_append(
    *,
    show_id: int,
    type: str,
    data: dict,
    audience: str = Audience.PUBLIC,
    audience_user_id: int | None = None,
    message_id: int | None = None,
    seq: int | None = None,
) -> ShowEvent:
    """Append one event to the show's log and publish it after commit.

    Must run inside ``transaction.atomic``. ``seq`` may be passed when the caller
    already allocated it with ``show_seq_allocate`` (to store it on its own row
    first). Side effect: after commit the event is published to every server
    process; nothing is published if the transaction rolls back.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("show_event_append must run inside transaction.atomic")
    event = ShowEvent.objects.create(
        show_id=show_id,
        seq=seq if seq is not None else _seq_allocate(show_id),
        type=type,
        data=data,
        audience=audience,
        audience_user_id=audience_user_id if audience == Audience.USER else None,
        message_id=message_id,
    )
    transaction.on_commit(
        functools.partial(
            broker.broker_publish, show_id=show_id, payload=orjson.dumps(event_wire_format(event))
        )
    )
    return event


def show_seq_allocate(*, show_id: int) -> int:
    """Reserve the show's next seq for an event appended later in this transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("show_seq_allocate must run inside transaction.atomic")
    return _seq_allocate(show_id)
