"""The base of every liveshop socket: documented close codes, checked inbound frames.

The middleware (``realtime.auth``) has identified the socket; a subclass accepts with
``accept_checked`` (which closes at once with the auth error's code), refuses with
``refuse`` and answers a bad frame with ``error_send``. Broadcasts never pass through a
consumer: the hub (``realtime.hub``) and the topic feeds (``realtime.topics``) write them.
"""

from __future__ import annotations

import collections
import logging
import time
from typing import Any

import orjson
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from liveshop.accounts.models import User
from liveshop.accounts.types import Viewer
from realtime import hub as hub_module
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


class GuardedSocketConsumer(AsyncWebsocketConsumer):
    """What every liveshop socket does alike: refusing with a documented close code,
    reading inbound frames (size, JSON object) and closing after too many errors.

    Subclasses set ``connection`` (None until the socket is live) and handle the
    frames that passed the checks in ``frame_handle``.
    """

    close_reasons: dict[int, str] = CLOSE_REASONS
    connection: hub_module.HubConnection | None = None
    closing = False

    def scope_user(self) -> Viewer:
        """Who the middleware found on this socket (anonymous if no one)."""
        user: object = self.scope.get("user")
        if isinstance(user, User | AnonymousUser):
            return user
        return AnonymousUser()

    def scope_value(self, key: str) -> Any:
        """A value the middleware put in the scope (``auth_error``, ``liveshop_*``)."""
        return dict(self.scope).get(key)

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
