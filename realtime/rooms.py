"""Room kinds: what a domain app registers so that the real-time core serves its rooms.

A room kind names its two tables (a ``RoomState`` and a ``RoomEvent`` subclass), finds a
room from the socket's URL and says who the viewer is in it (``resolve``). The apps that
add to a kind's rooms register, in their ``AppConfig.ready()``, snapshot parts (merged into
the ``snapshot`` frame, docs/protocol.md 2.1) and handlers of inbound frame types. The log,
the hub, resume, the snapshot's header and the socket class (``realtime.consumers.
RoomConsumer``) are the same for every kind; this module imports no domain app.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from liveshop.accounts.models import User
    from realtime.models import RoomEvent, RoomState

# The kinds this project has; a slice that adds one widens it.
RoomKindName = Literal["show"]


@dataclasses.dataclass(frozen=True)
class RoomRef:
    """One room: its kind and the kind's own key (for the show kind, the show's id)."""

    kind: RoomKindName
    key: int


@dataclasses.dataclass(frozen=True)
class Viewer:
    """Who is in a room on one socket, as the room's kind sees them.

    ``is_team`` sees every event (``Audience.TEAM`` and every user's); anyone else sees
    the public ones and those of their own user. ``context`` is the kind's own (for the
    show kind the show and the user's role in it), handed back to its parts and handlers.
    """

    user: User | AnonymousUser
    is_team: bool
    context: object = None

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user.is_authenticated else None


class RoomNotFound(Exception):
    """No room of this kind at the URL, or none this user may see (the socket closes 4004)."""


class RoomKind(Protocol):
    # Read-only members, so a kind may name its own subclasses.
    @property
    def name(self) -> RoomKindName: ...

    @property
    def room_model(self) -> type[RoomState]:
        """Its primary key is the room's key."""
        ...

    @property
    def event_model(self) -> type[RoomEvent]:
        """Its foreign key to ``room_model`` is ``key_field``."""
        ...

    @property
    def key_field(self) -> str: ...

    @property
    def url_kwarg(self) -> str:
        """The route's keyword that names the room."""
        ...

    @property
    def not_found_reason(self) -> str:
        """The reason of the 4004 close."""
        ...

    @property
    def snapshot_keys(self) -> tuple[str, ...]:
        """The snapshot's keys in the order the protocol documents them, after the header."""
        ...

    def resolve(self, *, url_value: str, user: User | AnonymousUser) -> tuple[int, Viewer]:
        """(the room's key, the viewer) for a socket; raises ``RoomNotFound``. Runs in a
        database thread."""
        ...


class RoomSocket(Protocol):
    """What a frame handler may do with the socket its frame came in on."""

    @property
    def room(self) -> RoomRef: ...

    @property
    def viewer(self) -> Viewer: ...

    @property
    def handler_state(self) -> dict[str, object]:
        """Per socket, for handlers that remember something between frames (rate windows)."""
        ...

    async def frame_send(self, frame: dict) -> None: ...

    async def error_send(self, code: str, detail: str, **extra: object) -> None: ...

    async def token_in_force(self, *, client_msg_id: str | None = None) -> bool: ...

    def reaction_tap(self, kind: str) -> None: ...


# ``part(room, viewer, state)``: a dict merged into the snapshot (a dict value into the
# dict already there), run in a database thread; ``state`` is the room row of the header.
SnapshotPart = Callable[[RoomRef, Viewer, "RoomState"], dict]
# ``handler(socket, frame)`` answers one inbound frame of its type: an ack, an error frame.
FrameHandler = Callable[[RoomSocket, dict], Awaitable[None]]

_kinds: dict[str, RoomKind] = {}
_parts: dict[str, dict[str, SnapshotPart]] = {}
_handlers: dict[str, dict[str, FrameHandler]] = {}


def room_kind_register(kind: RoomKind) -> None:
    """Serve rooms of ``kind``; a kind registered again (``ready()`` run twice) is replaced."""
    _kinds[kind.name] = kind


def room_kind_get(name: str) -> RoomKind:
    """The registered kind ``name``; ``LookupError`` if no app registered it."""
    try:
        return _kinds[name]
    except KeyError:
        raise LookupError(f"no room kind {name!r} is registered") from None


def room_kinds() -> tuple[RoomKind, ...]:
    return tuple(_kinds.values())


def room_part_register(kind: str, name: str, part: SnapshotPart) -> None:
    """Add ``part`` to the snapshot of ``kind``'s rooms; parts run in registration order
    (registering a name again replaces its part in place)."""
    _parts.setdefault(kind, {})[name] = part


def room_parts(kind: str) -> tuple[tuple[str, SnapshotPart], ...]:
    return tuple(_parts.get(kind, {}).items())


def room_handler_register(kind: str, frame_type: str, handler: FrameHandler) -> None:
    """Answer inbound frames of ``frame_type`` on ``kind``'s sockets with ``handler``.

    ``ping`` is built in; the frame types are listed, in registration order, in the error
    that answers an unknown one.
    """
    _handlers.setdefault(kind, {})[frame_type] = handler


def room_handlers(kind: str) -> dict[str, FrameHandler]:
    return dict(_handlers.get(kind, {}))
