"""The show kind of room: every show is a room, with the show's own two tables.

``ShowRoomKind`` finds the show of a socket (``shows.access.show_access_view``: a show one may
not see is not found) and the viewer's role in it (``show_chat_role``); the snapshot parts
here are the show's own (``show``, ``me`` and the open ``pins``). chat and video add theirs
and chat the inbound frames (``chat/rooms.py``, ``video/rooms.py``). Registered by
``ShowsConfig.ready()``.
"""

from __future__ import annotations

import dataclasses
from typing import Final, Literal

from liveshop.accounts.types import Viewer as AnyUser
from liveshop.common.exceptions import NotFoundError
from realtime.models import RoomState
from realtime.rooms import RoomNotFound, RoomRef, Viewer, room_kind_register, room_part_register
from realtime.wire import iso_utc
from shows.access import ShowChatRole, show_access_view, show_chat_role
from shows.models import Show, ShowEvent, ShowRoom
from shows.selectors import show_pins_open_payload, show_status_payload

SHOW: Final = "show"


def show_room(show_id: int) -> RoomRef:
    """The room of show ``show_id``."""
    return RoomRef(SHOW, show_id)


@dataclasses.dataclass(frozen=True)
class ShowRoomContext:
    """What the show kind hands its parts and handlers: the show as the socket found it
    and the user's role in it."""

    show: Show
    role: ShowChatRole


def show_viewer(*, show: Show, user: AnyUser) -> Viewer:
    """``user`` in ``show``'s room: the team sees every event."""
    role = show_chat_role(show_id=show.pk, user=user)
    return Viewer(user=user, is_team=role.is_team, context=ShowRoomContext(show=show, role=role))


def show_room_context(viewer: Viewer) -> ShowRoomContext:
    """The show and role of a viewer of a show's room (for the parts and handlers of apps
    that add to the show kind)."""
    context = viewer.context
    if not isinstance(context, ShowRoomContext):
        raise TypeError(f"not a viewer of a show's room: {context!r}")
    return context


class ShowRoomKind:
    name: Literal["show"] = SHOW
    room_model = ShowRoom
    event_model = ShowEvent
    key_field = "show"
    url_kwarg = "public_id"
    not_found_reason = "show_not_found"
    # docs/protocol.md, 2.1.
    snapshot_keys = ("show", "me", "chat", "pinned_message", "pins", "messages")

    def resolve(self, *, url_value: str, user: AnyUser) -> tuple[int, Viewer]:
        try:
            show = show_access_view(user=user, public_id=url_value)
        except NotFoundError:
            raise RoomNotFound(url_value) from None
        return show.pk, show_viewer(show=show, user=user)


def show_part(room: RoomRef, viewer: Viewer, state: RoomState) -> dict:
    """The snapshot's ``show`` (title, times, status) and who ``me`` is in it."""
    context = show_room_context(viewer)
    show, role = context.show, context.role
    user = viewer.user
    authenticated = user.is_authenticated
    return {
        "show": {
            "public_id": show.public_id,
            "title": show.title,
            "scheduled_start": iso_utc(show.scheduled_start),
            **show_status_payload(show),
        },
        "me": {
            "user_id": user.pk if authenticated else None,
            "username": user.username if authenticated else None,
            "role": role.role,
            "is_team": role.is_team,
            "can_moderate": role.can_moderate,
            "can_answer": role.can_answer,
        },
    }


def pins_part(room: RoomRef, viewer: Viewer, state: RoomState) -> dict:
    """The snapshot's ``pins``: the show's open pins."""
    return {"pins": show_pins_open_payload(show=show_room_context(viewer).show)}


def show_room_kind_install() -> None:
    room_kind_register(ShowRoomKind())
    room_part_register(SHOW, "show", show_part)
    room_part_register(SHOW, "pins", pins_part)
