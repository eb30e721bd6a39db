"""The sockets: the guarded base, a room of any kind, and a whole-state topic.

The middleware (``realtime.auth``) has identified the socket; a subclass accepts with
``accept_checked`` (which closes at once with the auth error's code), refuses with
``refuse`` and answers a bad frame with ``error_send``. Broadcasts never pass through a
consumer: the hub (``realtime.hub``) and the topic feeds (``realtime.topics``) write them.

``RoomConsumer`` serves the rooms of one registered kind (``realtime.rooms``): connect
resolves the room and the viewer, joins the hub (subscribing before anything is read), sends
a snapshot or replays what a resuming client missed, then goes live; inbound frames go to
the handlers the apps registered for the kind. ``TopicConsumer`` serves one topic feed.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import time
import uuid
from typing import Any, Literal
from urllib.parse import parse_qs

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from liveshop.accounts.models import User
from liveshop.accounts.selectors import auth_token_stamp
from realtime import hub as hub_module
from realtime import log, snapshot
from realtime.auth import NO_TOKEN
from realtime.rooms import RoomNotFound, RoomRef, Viewer, room_handlers, room_kind_get
from realtime.topics import CatchUp, topic_feeds_get
from realtime.wire import frame_encode

logger = logging.getLogger("liveshop.realtime")

CLOSE_UNAUTHENTICATED = 4001
CLOSE_ORIGIN = 4003
CLOSE_NOT_FOUND = 4004
CLOSE_POLICY = 4008
CLOSE_TOO_SLOW = hub_module.CLOSE_TOO_SLOW
CLOSE_BAD_RESUME = 4400
CLOSE_TOO_BIG = 1009
CLOSE_REASONS = {
    CLOSE_UNAUTHENTICATED: "unauthenticated",
    CLOSE_ORIGIN: "origin_not_allowed",
    CLOSE_NOT_FOUND: "show_not_found",
    CLOSE_POLICY: "policy_violation",
    CLOSE_TOO_SLOW: "too_slow",
    CLOSE_BAD_RESUME: "bad_resume",
    CLOSE_TOO_BIG: "message_too_big",
}
AUTH_ERROR_CODES = {"unauthenticated": CLOSE_UNAUTHENTICATED, "origin_not_allowed": CLOSE_ORIGIN}
REPLAY_CHUNK = 100


class GuardedSocketConsumer(AsyncWebsocketConsumer):
    """What every liveshop socket does alike: refusing with a documented close code,
    reading inbound frames (size, JSON object) and closing after too many errors.

    Subclasses set ``connection`` (None until the socket is live) and handle the
    frames that passed the checks in ``frame_handle``.
    """

    close_reasons: dict[int, str] = CLOSE_REASONS
    connection: hub_module.HubConnection | None = None
    closing = False

    def scope_user(self) -> User | AnonymousUser:
        """Who the middleware found on this socket (anonymous if no one)."""
        user: object = self.scope.get("user")
        if isinstance(user, User | AnonymousUser):
            return user
        return AnonymousUser()

    def scope_value(self, key: str, default: Any = None) -> Any:
        """A value the middleware put in the scope (``auth_error``, ``liveshop_*``)."""
        return dict(self.scope).get(key, default)

    async def accept_checked(self) -> bool:
        """Accept the handshake, then close at once if ``realtime.auth`` found an error (False)."""
        self.errors: collections.deque[float] = collections.deque()
        self.closing = False
        await self.accept(subprotocol=self.scope_value("liveshop_subprotocol"))
        auth_error = self.scope_value("auth_error")
        if auth_error:
            await self.refuse(AUTH_ERROR_CODES[auth_error])
            return False
        return True

    async def refuse(self, code: int) -> None:
        """Close with ``code`` and its documented reason (once; later calls do nothing)."""
        if self.closing:
            return
        self.closing = True
        await self.close(code=code, reason=self.close_reasons.get(code))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Check an inbound frame (size, JSON object), then hand it to ``frame_handle``."""
        if self.connection is None or self.closing:
            return
        raw = text_data if text_data is not None else bytes_data
        if raw is None:
            return  # ASGI always carries one of the two
        if len(raw) > settings.LIVESHOP_WS_MAX_FRAME_BYTES:
            await self.refuse(CLOSE_TOO_BIG)
            return
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            frame = None
        if not isinstance(frame, dict):
            await self.error_send("invalid_json", "Frames must be JSON objects.")
            return
        await self.frame_handle(frame)

    async def frame_handle(self, frame: dict) -> None:
        raise NotImplementedError

    async def error_send(self, code: str, detail: str, **extra: object) -> None:
        """Answer a refused frame with an ``error`` frame; close 4008 after too many."""
        frame: dict[str, object] = {"type": "error", "code": code, "detail": detail}
        frame.update({key: value for key, value in extra.items() if value is not None})
        await self.send(frame_encode(frame))
        now = time.monotonic()
        self.errors.append(now)
        while self.errors and self.errors[0] < now - 60:
            self.errors.popleft()
        if len(self.errors) > settings.LIVESHOP_WS_MAX_ERRORS_PER_MINUTE:
            logger.info("closing %s after repeated refused frames", self.scope.get("path"))
            await self.refuse(CLOSE_POLICY)


class RoomConsumer(GuardedSocketConsumer):
    """The socket of one room of the kind it was routed with (``as_asgi(kind=...)``)."""

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = room_kind_get(kind)
        self.close_reasons = {**CLOSE_REASONS, CLOSE_NOT_FOUND: self.kind.not_found_reason}
        self.handlers = room_handlers(kind)
        self._room: RoomRef | None = None
        self._viewer: Viewer | None = None
        self._handler_state: dict[str, object] = {}

    # What a frame handler sees (``realtime.rooms.RoomSocket``); handlers run only once the
    # socket is live, so the room and the viewer are known.
    @property
    def room(self) -> RoomRef:
        if self._room is None:
            raise RuntimeError("the socket has no room before it connected")
        return self._room

    @property
    def viewer(self) -> Viewer:
        if self._viewer is None:
            raise RuntimeError("the socket has no viewer before it connected")
        return self._viewer

    @property
    def handler_state(self) -> dict[str, object]:
        return self._handler_state

    async def connect(self) -> None:
        if not await self.accept_checked():
            return
        resume = self._resume_position()
        if resume is False:
            await self.refuse(CLOSE_BAD_RESUME)
            return
        user = self.scope_user()
        url_value = self.scope["url_route"]["kwargs"][self.kind.url_kwarg]
        try:
            key, viewer = await database_sync_to_async(self.kind.resolve)(
                url_value=url_value, user=user
            )
        except RoomNotFound:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        room = RoomRef(self.kind.name, key)
        self._room, self._viewer = room, viewer
        user_id = viewer.user_id
        connection = self.connection = hub_module.HubConnection(
            send=self.base_send,
            close=self.refuse,
            user_id=user_id,
            is_team=viewer.is_team,
            viewer_key=f"u{user_id}" if user_id else f"a{uuid.uuid4().hex}",
        )
        feed = await hub_module.hub_get().join(room, connection)
        if resume is not None:
            epoch, seq = resume
            plan = await database_sync_to_async(log.resume_plan)(
                room=room, user_id=user_id, is_team=viewer.is_team, epoch=epoch, seq=seq
            )
            if plan.recovered:
                for start in range(0, len(plan.events), REPLAY_CHUNK):
                    chunk = plan.events[start : start + REPLAY_CHUNK]
                    await self.send(hub_module.batch_frame_encode(chunk, chunk[-1]["seq"]))
                await self.frame_send(
                    {"type": "resumed", "recovered": True, "epoch": plan.epoch, "seq": plan.seq}
                )
                feed.activate(connection, floor=plan.seq)
                return
            await self.frame_send({"type": "resumed", "recovered": False, "reason": plan.reason})
        frame = await database_sync_to_async(snapshot.snapshot_build)(
            room=room, viewer=viewer, viewers=feed.viewers, peak=feed.peak
        )
        await self.frame_send(frame)
        feed.activate(connection, floor=frame["seq"])

    def _resume_position(self) -> tuple[str, int] | Literal[False] | None:
        """(epoch, seq) from the query string, None without them, False if malformed."""
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        epoch, seq = query.get("epoch", [None])[0], query.get("seq", [None])[0]
        if epoch is None and seq is None:
            return None
        if epoch is None or seq is None or not seq.isdigit() or len(seq) > 18:
            return False
        return epoch, int(seq)

    async def disconnect(self, code: int) -> None:
        if self.connection is not None and self._room is not None:
            await hub_module.hub_get().leave(self._room, self.connection)

    # -- inbound, and what handlers may do (realtime.rooms.RoomSocket) ----------------

    async def frame_handle(self, frame: dict) -> None:
        frame_type = frame.get("type")
        handler = self.handlers.get(frame_type) if isinstance(frame_type, str) else None
        if handler is not None:
            await handler(self, frame)
        elif frame_type == "ping":
            await self.frame_send({"type": "pong"})
        else:
            *others, last = [*self.handlers, "ping"]
            expected = f"{', '.join(others)} or {last}" if others else last
            await self.error_send("unknown_type", f"Unknown frame type; expected {expected}.")

    async def frame_send(self, frame: dict) -> None:
        await self.send(frame_encode(frame))

    async def token_in_force(self, *, client_msg_id: str | None = None) -> bool:
        """False, after refusing the frame and closing 4001, if the token this socket
        was opened with has been revoked since (sockets without one: always True).

        One cache read per write frame, on token sockets only; no database query.
        """
        stamp = self.scope_value("liveshop_token_stamp", NO_TOKEN)
        if stamp is NO_TOKEN:
            return True
        user_id = self.viewer.user_id
        if user_id is None:
            return True  # a socket opened with a token has its user
        if await database_sync_to_async(auth_token_stamp)(user_id=user_id) == stamp:
            return True
        await self.error_send(
            "not_authenticated",
            "The token this connection signed in with was revoked; sign in again.",
            client_msg_id=client_msg_id,
        )
        await self.refuse(CLOSE_UNAUTHENTICATED)
        return False

    def reaction_tap(self, kind: str) -> None:
        """Count one reaction of ``kind`` in the room (the hub shares and totals them)."""
        if self._room is not None:
            hub_module.hub_get().reaction_tap(self._room, kind)


@dataclasses.dataclass(frozen=True)
class TopicTarget:
    """The topic a socket follows and how its feed catches up what no broker brought."""

    topic: str
    catch_up: CatchUp | None = None


class TopicConsumer(GuardedSocketConsumer):
    """A socket that follows one whole-state topic (``realtime.topics``).

    Connect: ``topic_for`` finds the topic, the socket joins its feed (subscribed before
    anything is read), ``snapshot_for`` gives the current frame and its version, then the
    socket goes live. Either returning None closes 4004. Both run in a database thread.
    Inbound: ``ping`` only.
    """

    unknown_type_detail = "Unknown frame type; this socket takes ping."

    def topic_for(self) -> TopicTarget | None:
        raise NotImplementedError

    def snapshot_for(self) -> tuple[dict, int] | None:
        raise NotImplementedError

    async def connect(self) -> None:
        self.target: TopicTarget | None = None
        if not await self.accept_checked():
            return
        target = await database_sync_to_async(self.topic_for)()
        if target is None:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        user = self.scope_user()
        connection = self.connection = hub_module.HubConnection(
            send=self.base_send,
            close=self.refuse,
            user_id=user.pk if user.is_authenticated else None,
            is_team=False,
            viewer_key="",
        )
        self.target = target
        feed = await topic_feeds_get().join(target.topic, connection, catch_up=target.catch_up)
        current = await database_sync_to_async(self.snapshot_for)()
        if current is None:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        frame, version = current
        await self.send(frame_encode(frame))
        feed.activate(connection, floor=version)

    async def disconnect(self, code: int) -> None:
        if self.connection is not None and self.target is not None:
            await topic_feeds_get().leave(self.target.topic, self.connection)

    async def frame_handle(self, frame: dict) -> None:
        if frame.get("type") == "ping":
            await self.send(frame_encode({"type": "pong"}))
        else:
            await self.error_send("unknown_type", self.unknown_type_detail)
