"""The show socket: a thin adapter between the protocol and the chat services.

Connect: identify (``realtime.auth``), check the show, join the process hub (subscribe
before reading anything), then send a snapshot or replay what a resuming client
missed, then go live. Inbound frames are parsed and handed to services; every rule
lives there. Broadcasts never pass through this class: the hub writes them.
"""

from __future__ import annotations

import collections
import time
import uuid
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings

from chat.selectors import show_snapshot_build
from chat.services import (
    ChatRefusal,
    ReactionGate,
    chat_message_create,
    chat_reaction_admit,
)
from liveshop.accounts.selectors import auth_token_stamp
from liveshop.common.exceptions import NotFoundError
from realtime import hub as hub_module
from realtime import log
from realtime.auth import NO_TOKEN
from realtime.consumers import (
    CLOSE_BAD_RESUME,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHENTICATED,
    GuardedSocketConsumer,
)
from realtime.stats import REACTION_KINDS
from realtime.wire import frame_encode, iso_utc
from shows.access import ShowChatRole, show_access_view, show_chat_role

REPLAY_CHUNK = 100


class ShowChannelConsumer(GuardedSocketConsumer):
    # No channel layer: broadcasts come through the process hub (realtime.hub).
    channel_layer_alias = "liveshop-show-channel-has-no-layer"

    async def connect(self) -> None:
        self.show_id: int | None = None
        self.connection: hub_module.HubConnection | None = None
        self.reactions: collections.deque[float] = collections.deque()
        if not await self.accept_checked():
            return
        resume = self._resume_position()
        if resume is False:
            await self.refuse(CLOSE_BAD_RESUME)
            return
        self.user = self.scope["user"]
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        try:
            show = await database_sync_to_async(show_access_view)(
                user=self.user, public_id=public_id
            )
        except NotFoundError:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        self.show_id = show.pk
        self.channel_id = show.channel_id
        self.reaction_gate: ReactionGate | None = None
        self.role: ShowChatRole = await database_sync_to_async(show_chat_role)(
            show_id=show.pk, user=self.user
        )
        user_id = self.user.pk if self.user.is_authenticated else None
        self.connection = hub_module.HubConnection(
            send=self.base_send,
            close=self.refuse,
            user_id=user_id,
            is_team=self.role.is_team,
            viewer_key=f"u{user_id}" if user_id else f"a{uuid.uuid4().hex}",
        )
        hub = hub_module.hub_get()
        feed = await hub.join(show.pk, self.connection)
        if resume is not None:
            epoch, seq = resume
            plan = await database_sync_to_async(log.resume_plan)(
                show_id=show.pk, user_id=user_id, is_team=self.role.is_team, epoch=epoch, seq=seq
            )
            if plan.recovered:
                for start in range(0, len(plan.events), REPLAY_CHUNK):
                    chunk = plan.events[start : start + REPLAY_CHUNK]
                    await self.send(hub_module.batch_frame_encode(chunk, chunk[-1]["seq"]))
                await self.send(
                    frame_encode(
                        {"type": "resumed", "recovered": True, "epoch": plan.epoch, "seq": plan.seq}
                    )
                )
                feed.activate(self.connection, floor=plan.seq)
                return
            await self.send(
                frame_encode({"type": "resumed", "recovered": False, "reason": plan.reason})
            )
        snapshot = await database_sync_to_async(show_snapshot_build)(
            show=show, user=self.user, role=self.role, viewers=feed.viewers, peak=feed.peak
        )
        await self.send(frame_encode(snapshot))
        feed.activate(self.connection, floor=snapshot["seq"])

    def _resume_position(self) -> tuple[str, int] | None | bool:
        """(epoch, seq) from the query string, None without them, False if malformed."""
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        epoch, seq = query.get("epoch", [None])[0], query.get("seq", [None])[0]
        if epoch is None and seq is None:
            return None
        if epoch is None or seq is None or not seq.isdigit() or len(seq) > 18:
            return False
        return epoch, int(seq)

    async def disconnect(self, code: int) -> None:
        if self.connection is not None and self.show_id is not None:
            await hub_module.hub_get().leave(self.show_id, self.connection)

    # -- inbound -------------------------------------------------------------------

    async def frame_handle(self, frame: dict) -> None:
        kind = frame.get("type")
        if kind == "message.send":
            await self._message_send(frame)
        elif kind == "reaction":
            await self._reaction(frame)
        elif kind == "ping":
            await self.send(frame_encode({"type": "pong"}))
        else:
            await self.error_send(
                "unknown_type",
                "Unknown frame type; expected message.send, reaction or ping.",
            )

    async def _message_send(self, frame: dict) -> None:
        raw_id = frame.get("client_msg_id")
        try:
            client_msg_id = uuid.UUID(raw_id) if isinstance(raw_id, str) else None
        except ValueError:
            client_msg_id = None
        echo = raw_id if isinstance(raw_id, str) and len(raw_id) <= 64 else None
        if not await self._token_in_force(client_msg_id=echo):
            return
        if client_msg_id is None:
            await self.error_send(
                "invalid", "client_msg_id must be a UUID string.", client_msg_id=echo
            )
            return
        text, reply_to, question = frame.get("text"), frame.get("reply_to"), frame.get("question")
        if not isinstance(text, str):
            await self.error_send("invalid", "text must be a string.", client_msg_id=echo)
            return
        if reply_to is not None and (type(reply_to) is not int or reply_to < 1):
            await self.error_send("invalid", "reply_to must be a message id.", client_msg_id=echo)
            return
        if question is not None and not isinstance(question, bool):
            await self.error_send("invalid", "question must be true or false.", client_msg_id=echo)
            return
        if not self.user.is_authenticated:
            await self.error_send("not_authenticated", "Sign in to chat.", client_msg_id=echo)
            return
        try:
            result = await database_sync_to_async(chat_message_create)(
                show_id=self.show_id,
                user=self.user,
                text=text,
                client_msg_id=client_msg_id,
                reply_to_id=reply_to,
                is_question=bool(question),
            )
        except ChatRefusal as refusal:
            until = iso_utc(refusal.until)
            await self.error_send(refusal.code, refusal.message, client_msg_id=echo, until=until)
            return
        await self.send(
            frame_encode(
                {
                    "type": "ack",
                    "client_msg_id": echo,
                    "status": result.status,
                    "message": result.payload,
                }
            )
        )

    async def _token_in_force(self, *, client_msg_id: str | None = None) -> bool:
        """False, after refusing the frame and closing 4001, if the token this socket
        was opened with has been revoked since (sockets without one: always True).

        One cache read per write frame, on token sockets only; no database query.
        """
        stamp = self.scope.get("liveshop_token_stamp", NO_TOKEN)
        if stamp is NO_TOKEN:
            return True
        if await database_sync_to_async(auth_token_stamp)(user_id=self.user.pk) == stamp:
            return True
        await self.error_send(
            "not_authenticated",
            "The token this connection signed in with was revoked; sign in again.",
            client_msg_id=client_msg_id,
        )
        await self.refuse(CLOSE_UNAUTHENTICATED)
        return False

    async def _reaction(self, frame: dict) -> None:
        if not await self._token_in_force():
            return
        kind = frame.get("kind")
        if kind not in REACTION_KINDS:
            await self.error_send("invalid", f"kind must be one of {', '.join(REACTION_KINDS)}.")
            return
        if not self.user.is_authenticated:
            await self.error_send("not_authenticated", "Sign in to react.")
            return
        now = time.monotonic()
        while self.reactions and self.reactions[0] < now - 1:
            self.reactions.popleft()
        if len(self.reactions) >= settings.LIVESHOP_REACTIONS_PER_SECOND:
            # Over the cap on this connection alone: dropped before any cache work.
            return
        self.reactions.append(now)
        admission = await database_sync_to_async(chat_reaction_admit)(
            show_id=self.show_id,
            channel_id=self.channel_id,
            user=self.user,
            gate=self.reaction_gate,
        )
        self.reaction_gate = admission.gate
        if admission.refusal is not None:
            refusal = admission.refusal
            until = iso_utc(refusal.until)
            await self.error_send(refusal.code, refusal.message, until=until)
            return
        if admission.counted:
            hub_module.hub_get().reaction_tap(self.show_id, kind)
