"""The ``snapshot`` frame of a room (docs/protocol.md, 2.1), composed from registered parts.

The header (``type``, ``epoch``, ``seq``) and ``viewers`` are the core's; everything between
comes from the parts the apps registered for the room's kind (``realtime.rooms``), run in
registration order and merged: a part's dict value goes into the dict another part put
there (video adds ``playback`` to the show part's ``show``). The keys follow the kind's
``snapshot_keys``, so the frame reads as the protocol documents it whatever the apps' order.
This module imports no domain app.
"""

from __future__ import annotations

from realtime import log
from realtime.rooms import RoomRef, Viewer, room_kind_get, room_parts


def _merge(body: dict, part: dict, *, name: str) -> None:
    for key, value in part.items():
        if key not in body:
            body[key] = value
        elif isinstance(body[key], dict) and isinstance(value, dict):
            clash = body[key].keys() & value.keys()
            if clash:
                raise ValueError(f"snapshot part {name!r} sets {key}.{sorted(clash)} again")
            body[key].update(value)
        else:
            raise ValueError(f"snapshot part {name!r} sets {key!r} again")


def snapshot_build(*, room: RoomRef, viewer: Viewer, viewers: int, peak: int) -> dict:
    """The ``snapshot`` frame of ``room`` for ``viewer``; ``viewers`` and ``peak`` are the
    hub's counts. Runs in a database thread (the parts query)."""
    kind = room_kind_get(room.kind)
    state = log.room_state(room=room)
    body: dict = {}
    for name, part in room_parts(room.kind):
        _merge(body, part(room, viewer, state), name=name)
    order = {key: position for position, key in enumerate(kind.snapshot_keys)}
    return {
        "type": "snapshot",
        "epoch": str(state.epoch),
        "seq": state.last_seq,
        **{key: body[key] for key in sorted(body, key=lambda key: order.get(key, len(order)))},
        "viewers": {"count": viewers, "peak": max(peak, state.peak_viewers)},
    }
