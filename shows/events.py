"""A show's event log: the show kind's wrappers over ``realtime.log``.

The show *is* the room: every event clients of a show see (status, pins, stock, chat,
video) goes through ``show_event_append`` inside the writing transaction and is published
after commit (``realtime.log`` says how). The names stay the ones the callers in shows,
chat and video have always used.
"""

from __future__ import annotations

from liveshop.common.transactions import atomic_required
from realtime import log
from realtime.models import Audience


def show_room_ensure(*, show_id: int) -> None:
    """Create the show's room row if it does not exist yet (idempotent, race-safe)."""
    log.room_ensure(show_id=show_id)


def show_event_append(
    *,
    show_id: int,
    type: str,
    data: dict,
    audience: str = Audience.PUBLIC,
    audience_user_id: int | None = None,
    message_id: int | None = None,
    seq: int | None = None,
) -> None:
    """Append one event to the show's log and publish it after commit.

    Must run inside ``transaction.atomic`` (else ``RuntimeError``). ``seq`` may be passed
    when the caller already allocated it with ``show_seq_allocate`` (to store it on its own
    row first). Side effect: after commit the event is published to every server process;
    nothing is published if the transaction rolls back.
    """
    atomic_required("show_event_append")
    log.event_append(
        show_id=show_id,
        type=type,
        data=data,
        audience=audience,
        audience_user_id=audience_user_id,
        message_id=message_id,
        seq=seq,
    )


def show_seq_allocate(*, show_id: int) -> int:
    """Reserve the show's next seq for an event appended later in this transaction."""
    atomic_required("show_seq_allocate")
    return log.seq_allocate(show_id=show_id)
