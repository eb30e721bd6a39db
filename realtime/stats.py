"""Aggregates a room keeps on its row: the peak of unique viewers and the reaction total.

Written by the hub (``realtime.hub``), from its tick, never by a request.
"""

from __future__ import annotations

from django.db.models import F

from realtime.rooms import RoomRef, room_kind_get

REACTION_KINDS = ("heart", "fire", "laugh", "wow", "clap")


def room_peak_viewers_record(*, room: RoomRef, viewers: int) -> int:
    """Raise the room's recorded peak to ``viewers`` if higher; returns the peak."""
    rows = room_kind_get(room.kind).room_model._default_manager.filter(pk=room.key)
    rows.filter(peak_viewers__lt=viewers).update(peak_viewers=viewers)
    return rows.values_list("peak_viewers", flat=True).first() or 0


def room_reactions_record(*, room: RoomRef, count: int) -> None:
    """Add ``count`` reaction taps to the room's total."""
    rooms = room_kind_get(room.kind).room_model._default_manager
    rooms.filter(pk=room.key).update(reaction_count=F("reaction_count") + count)
