"""What the chat adds to the show kind of room: its snapshot parts and inbound frames.

The parts: ``me``'s posting state (``can_post``, ``muted_until``, ``mute_reason``), the
chat's settings, the pinned message and the recent messages. The frames: ``message.send``
(a chat message) and ``reaction``. Every rule is in ``chat.services``; these parse the
frame and answer it. Registered by ``ChatConfig.ready()``.
"""

from __future__ import annotations

import collections
import time
import uuid

from channels.db import database_sync_to_async
from django.conf import settings

from chat.models import ChatMessage, ChatSanction
from chat.selectors import (
    chat_settings_get,
    message_payload,
    messages_visible,
    sanction_blocking,
    sanctions_active,
)
from chat.services import ChatRefusal, ReactionGate, chat_message_create, chat_reaction_admit
from realtime.models import RoomState
from realtime.rooms import (
    RoomRef,
    RoomSocket,
    Viewer,
    room_handler_register,
    room_part_register,
)
from realtime.stats import REACTION_KINDS
from realtime.wire import iso_utc
from shows.models import Show
from shows.rooms import SHOW, show_room_context


def chat_part(room: RoomRef, viewer: Viewer, state: RoomState) -> dict:
    """Whether ``me`` may post, the chat's settings, the pinned message, the last messages
    (up to the snapshot's seq)."""
    show: Show = show_room_context(viewer).show
    user = viewer.user
    chat_settings = chat_settings_get(show_id=show.pk)
    messages = list(
        messages_visible(show_id=show.pk, user=user, is_team=viewer.is_team)
        .filter(seq__lte=state.last_seq)
        .select_related("author")
        .order_by("-seq")[: settings.LIVESHOP_CHAT_HISTORY]
    )
    messages.reverse()
    pinned = None
    if chat_settings.pinned_message_id is not None:
        pinned_message = (
            ChatMessage.objects.filter(
                pk=chat_settings.pinned_message_id, state=ChatMessage.State.VISIBLE
            )
            .select_related("author")
            .first()
        )
        pinned = None if pinned_message is None else message_payload(pinned_message)
    muted_until = mute_reason = None
    if user.is_authenticated:
        sanction = sanction_blocking(
            sanctions_active(user=user, channel_id=show.channel_id, show_id=show.pk)
        )
        if sanction is not None:
            mute_reason = "banned" if sanction.kind == ChatSanction.Kind.BAN else "timeout"
            muted_until = iso_utc(sanction.expires_at)
    return {
        "me": {
            "can_post": user.is_authenticated and mute_reason is None,
            "muted_until": muted_until,
            "mute_reason": mute_reason,
        },
        "chat": {
            "slow_mode_seconds": chat_settings.slow_mode_seconds,
            "max_length": ChatMessage._meta.get_field("text").max_length,
        },
        "pinned_message": pinned,
        "messages": [message_payload(message) for message in messages],
    }


async def message_send(socket: RoomSocket, frame: dict) -> None:
    """``message.send``: post a chat message, answer ``ack`` or an error."""
    raw_id = frame.get("client_msg_id")
    try:
        client_msg_id = uuid.UUID(raw_id) if isinstance(raw_id, str) else None
    except ValueError:
        client_msg_id = None
    echo = raw_id if isinstance(raw_id, str) and len(raw_id) <= 64 else None
    if not await socket.token_in_force(client_msg_id=echo):
        return
    if client_msg_id is None:
        await socket.error_send(
            "invalid", "client_msg_id must be a UUID string.", client_msg_id=echo
        )
        return
    text, reply_to, question = frame.get("text"), frame.get("reply_to"), frame.get("question")
    if not isinstance(text, str):
        await socket.error_send("invalid", "text must be a string.", client_msg_id=echo)
        return
    if reply_to is not None and (type(reply_to) is not int or reply_to < 1):
        await socket.error_send("invalid", "reply_to must be a message id.", client_msg_id=echo)
        return
    if question is not None and not isinstance(question, bool):
        await socket.error_send("invalid", "question must be true or false.", client_msg_id=echo)
        return
    user = socket.viewer.user
    if not user.is_authenticated:
        await socket.error_send("not_authenticated", "Sign in to chat.", client_msg_id=echo)
        return
    try:
        result = await database_sync_to_async(chat_message_create)(
            show_id=socket.room.key,
            user=user,
            text=text,
            client_msg_id=client_msg_id,
            reply_to_id=reply_to,
            is_question=bool(question),
        )
    except ChatRefusal as refusal:
        until = iso_utc(refusal.until)
        await socket.error_send(refusal.code, refusal.message, client_msg_id=echo, until=until)
        return
    await socket.frame_send(
        {"type": "ack", "client_msg_id": echo, "status": result.status, "message": result.payload}
    )


async def reaction(socket: RoomSocket, frame: dict) -> None:
    """``reaction``: count a tap (or refuse it for a sanction in force); no answer."""
    if not await socket.token_in_force():
        return
    kind = frame.get("kind")
    if kind not in REACTION_KINDS:
        await socket.error_send("invalid", f"kind must be one of {', '.join(REACTION_KINDS)}.")
        return
    user = socket.viewer.user
    if not user.is_authenticated:
        await socket.error_send("not_authenticated", "Sign in to react.")
        return
    state = socket.handler_state
    taps = state.get("reactions")
    if not isinstance(taps, collections.deque):
        taps = state["reactions"] = collections.deque()
    now = time.monotonic()
    while taps and taps[0] < now - 1:
        taps.popleft()
    if len(taps) >= settings.LIVESHOP_REACTIONS_PER_SECOND:
        # Over the cap on this connection alone: dropped before any cache work.
        return
    taps.append(now)
    gate = state.get("reaction_gate")
    admission = await database_sync_to_async(chat_reaction_admit)(
        show_id=socket.room.key,
        channel_id=show_room_context(socket.viewer).show.channel_id,
        user=user,
        gate=gate if isinstance(gate, ReactionGate) else None,
    )
    state["reaction_gate"] = admission.gate
    if admission.refusal is not None:
        refusal = admission.refusal
        await socket.error_send(refusal.code, refusal.message, until=iso_utc(refusal.until))
        return
    if admission.counted:
        socket.reaction_tap(kind)


def chat_room_install() -> None:
    room_part_register(SHOW, "chat", chat_part)
    # In this order: the error for an unknown frame type lists them so.
    room_handler_register(SHOW, "message.send", message_send)
    room_handler_register(SHOW, "reaction", reaction)
