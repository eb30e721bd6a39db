"""The chat send's PostgreSQL fast path: a message, its seq and its event in one statement.

It is the chat send's, not the log's: the log (``realtime.log``) appends one event at a
time; this writes a ``ChatMessage`` row and its ``message.created`` event together.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import cast

import orjson
from django.db import connection, transaction

from chat.models import ChatMessage
from realtime.log import event_publish_after_commit, insert_columns
from realtime.models import Audience
from shows.models import ShowEvent, ShowRoom
from shows.rooms import show_room


def message_with_event_insert(
    *,
    message: ChatMessage,
    payload: Callable[[ChatMessage], dict],
    audience: str,
    audience_user_id: int | None,
) -> ShowEvent:
    """Store a new chat message and its ``message.created`` event in one statement.

    PostgreSQL only. The chat send path's version of ``shows.events.show_seq_allocate`` +
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
    message_columns, message_values, message_parameters = insert_columns(message, exclude=("seq",))
    event_columns, event_values, event_parameters = insert_columns(
        event, exclude=("seq", "data", "subject_id")
    )
    # The subject's column keeps the name it had as the foreign key to the message; the
    # stubs type a field's column as optional, a concrete field always has one.
    subject_column = connection.ops.quote_name(
        cast(str, ShowEvent._meta.get_field("subject_id").column)
    )
    data = payload(message)
    sql = (
        f"WITH room AS (UPDATE {ShowRoom._meta.db_table} SET last_seq = last_seq + 1"
        f"   WHERE show_id = %s RETURNING last_seq),"
        f" message AS (INSERT INTO {ChatMessage._meta.db_table} ({message_columns}, seq)"
        f"   VALUES ({message_values}, (SELECT last_seq FROM room)) RETURNING id, seq)"
        f" INSERT INTO {ShowEvent._meta.db_table} ({event_columns}, seq, data, {subject_column})"
        f" VALUES ({event_values}, (SELECT seq FROM message),"
        f"   %s::jsonb || (SELECT jsonb_build_object('id', id, 'seq', seq) FROM message),"
        f"   (SELECT id FROM message))"
        f" RETURNING id, {subject_column}, seq"
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
    event.subject_id, event.seq, event.data = message.pk, message.seq, data
    event_publish_after_commit(room=show_room(message.show_id), event=event)
    return event
