"""A show's event log: the show kind's wrappers over ``realtime.log``.

The show *is* the room: every event clients of a show see (status, pins, stock, chat,
video) goes through ``show_event_append`` inside the writing transaction and is published
after commit (``realtime.log`` says how). The names stay the ones the callers in shows,
chat and video have always used.
"""

from __future__ import annotations

from typing import cast

from liveshop.common.transactions import atomic_required
from realtime import log
from realtime.models import Audience
from shows.models import ShowEvent
from shows.rooms import show_room


def show_room_ensure(*, show_id: int) -> None:
    """Create the show's room row if it does not exist yet (idempotent, race-safe)."""
    log.room_ensure(room=show_room(show_id))


def show_event_append(
    *,
    show_id: int,
    type: str,
    data: dict,
    audience: str = Audience.PUBLIC,
    audience_user_id: int | None = None,
    subject_id: int | None = None,
    seq: int | None = None,
) -> ShowEvent:
    """Append one event to the show's log and publish it after commit.

    Must run inside ``transaction.atomic`` (else ``RuntimeError``). ``seq`` may be passed
    when the caller already allocated it with ``show_seq_allocate`` (to store it on its own
    row first); ``subject_id`` is the chat message a message event is about. Side effect:
    after commit the event is published to every server process; nothing is published if
    the transaction rolls back.
    """
    atomic_required("show_event_append")
    event = log.event_append(
        room=show_room(show_id),
        type=type,
        data=data,
        audience=audience,
        audience_user_id=audience_user_id,
        subject_id=subject_id,
        seq=seq,
    )
    # The show kind's event model (shows/rooms.py).
    return cast(ShowEvent, event)


def show_seq_allocate(*, show_id: int) -> int:
    """Reserve the show's next seq for an event appended later in this transaction."""
    atomic_required("show_seq_allocate")
    return log.seq_allocate(room=show_room(show_id))
