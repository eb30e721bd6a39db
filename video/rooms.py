"""What video adds to the show kind of room: the snapshot's ``show.playback``.

Registered by ``VideoConfig.ready()``, after shows' parts (``INSTALLED_APPS`` order), so
``playback`` comes last in ``show`` as the protocol documents it.
"""

from __future__ import annotations

from realtime.models import RoomState
from realtime.rooms import RoomRef, Viewer, room_part_register
from shows.rooms import SHOW, show_room_context
from video.selectors import show_playback_get


def playback_part(room: RoomRef, viewer: Viewer, state: RoomState) -> dict:
    """The show's playback (docs/protocol.md, 2.1), as the viewer may see it."""
    show = show_room_context(viewer).show
    return {"show": {"playback": show_playback_get(show=show, is_team=viewer.is_team)}}


def video_room_install() -> None:
    room_part_register(SHOW, "playback", playback_part)
