"""The per-show event log: append in the writing transaction, publish after commit.

Every event a viewer can see goes through ``show_event_append``. It allocates the
show's next ``seq`` with one ``UPDATE ... RETURNING`` on the show's room row; that row
stays locked until the transaction ends, so the seqs of one show commit in order and
a rolled-back write leaves no hole and sends nothing.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

import orjson
from django.db import connection, transaction

from chat import broker
from chat.models import Audience, ChatMessage, ShowEvent, ShowRoom
from liveshop.common.transactions import atomic_required


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


def _publish_after_commit(event: ShowEvent) -> None:
    """Publish ``event`` to every server process once the transaction commits."""
    transaction.on_commit(
        functools.partial(
            broker.broker_publish,
            show_id=event.show_id,
            payload=orjson.dumps(event_wire_format(event)),
        )
    )


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
    atomic_required("show_event_append")
    event = ShowEvent.objects.create(
        show_id=show_id,
        seq=seq if seq is not None else _seq_allocate(show_id),
        type=type,
        data=data,
        audience=audience,
        audience_user_id=audience_user_id if audience == Audience.USER else None,
        message_id=message_id,
    )
    _publish_after_commit(event)
    return event


def show_seq_allocate(*, show_id: int) -> int:
    """Reserve the show's next seq for an event appended later in this transaction."""
    atomic_required("show_seq_allocate")
    return _seq_allocate(show_id)


def _insert_columns(instance, *, exclude: tuple[str, ...]) -> tuple[str, str, list]:
    """(columns, placeholders, parameters) to INSERT ``instance``, as ``save()`` would.

    ``pre_save`` fills ``auto_now_add`` fields; the primary key and ``exclude``
    (attribute names) are left to SQL expressions the caller adds.
    """
    columns, parameters = [], []
    for field in instance._meta.concrete_fields:
        if field.primary_key or field.attname in exclude:
            continue
        columns.append(connection.ops.quote_name(field.column))
        parameters.append(field.get_db_prep_save(field.pre_save(instance, True), connection))
    return ", ".join(columns), ", ".join(["%s"] * len(columns)), parameters


def message_with_event_insert(
    *,
    message: ChatMessage,
    payload: Callable[[ChatMessage], dict],
    audience: str,
    audience_user_id: int | None,
) -> ShowEvent:
    """Store a new chat message and its ``message.created`` event in one statement.

    PostgreSQL only. The chat send path's version of ``show_seq_allocate`` +
    ``save()`` + ``show_event_append``, with the same rows and the same guarantees: the seq is
    allocated under the room row's lock, the message and the event share it, and
    the event is published after commit. One statement is one round trip and, in
    autocommit, its own transaction (no BEGIN and COMMIT round trips); a server
    process runs every send on one database thread, so round trips are its cost.

    ``payload(message)`` gives the event's data; it is called once ``created_at``
    is set, and the ``id`` and ``seq`` the database assigns are written into it and
    onto ``message``. Raises ``IntegrityError``
    (and writes nothing, allocates no seq) when the message breaks a constraint,
    e.g. a repeated ``client_msg_id``.
    """
    event = ShowEvent(
        show_id=message.show_id,
        type="message.created",
        audience=audience,
        audience_user_id=audience_user_id if audience == Audience.USER else None,
    )
    message_columns, message_values, message_parameters = _insert_columns(message, exclude=("seq",))
    event_columns, event_values, event_parameters = _insert_columns(
        event, exclude=("seq", "data", "message_id")
    )
    data = payload(message)
    sql = (
        f"WITH room AS (UPDATE {ShowRoom._meta.db_table} SET last_seq = last_seq + 1"
        f"   WHERE show_id = %s RETURNING last_seq),"
        f" message AS (INSERT INTO {ChatMessage._meta.db_table} ({message_columns}, seq)"
        f"   VALUES ({message_values}, (SELECT last_seq FROM room)) RETURNING id, seq)"
        f" INSERT INTO {ShowEvent._meta.db_table} ({event_columns}, seq, data, message_id)"
        f" VALUES ({event_values}, (SELECT seq FROM message),"
        f"   %s::jsonb || (SELECT jsonb_build_object('id', id, 'seq', seq) FROM message),"
        f"   (SELECT id FROM message))"
        f" RETURNING id, message_id, seq"
    )
    parameters = [
        message.show_id,
        *message_parameters,
        *event_parameters,
        orjson.dumps(data).decode(),
    ]
    # Inside a caller's transaction a savepoint keeps a constraint error from
    # spoiling it; alone, the statement is its own transaction.
    scope = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with scope, connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        event.pk, message.pk, message.seq = cursor.fetchone()
    message._state.adding = False
    message._state.db = connection.alias
    data["id"], data["seq"] = message.pk, message.seq
    event.message_id, event.seq, event.data = message.pk, message.seq, data
    _publish_after_commit(event)
    return event
