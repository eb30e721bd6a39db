"""Aggregates a room keeps on its row: the peak of unique viewers and the reaction total.

Written by the hub (``realtime.hub``), from its tick, never by a request.
"""

from __future__ import annotations

from django.db.models import F

from chat.models import ShowRoom

REACTION_KINDS = ("heart", "fire", "laugh", "wow", "clap")


def room_peak_viewers_record(*, show_id: int, viewers: int) -> int:
    """Raise the room's recorded peak to ``viewers`` if higher; returns the peak."""
    ShowRoom.objects.filter(show_id=show_id, peak_viewers__lt=viewers).update(peak_viewers=viewers)
    return (
        ShowRoom.objects.filter(show_id=show_id).values_list("peak_viewers", flat=True).first() or 0
    )


def room_reactions_record(*, show_id: int, count: int) -> None:
    """Add ``count`` reaction taps to the room's total."""
    ShowRoom.objects.filter(show_id=show_id).update(reaction_count=F("reaction_count") + count)
