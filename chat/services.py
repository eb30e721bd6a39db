"""Writes for the show channel. Every rule of the chat is enforced here, not in adapters.

Each service that changes what clients see appends its events to the show's log
(``chat.events.show_event_append``) inside its transaction; they are published
after commit.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F

from chat.events import show_event_append, show_room_ensure, show_seq_allocate
from chat.models import Audience, BlockedTerm, ChatMessage, ChatSanction, ShowRoom
from chat.selectors import (
    message_payload,
    messages_visible,
    sanction_blocking,
    sanction_shadowed,
    sanctions_active,
    show_chat_role,
    show_status_payload,
)
from liveshop.accounts.models import User
from liveshop.common.exceptions import ApplicationError
from shows.models import Show

MAX_TEXT_LENGTH = 500
# Anything a client would turn into a link: a scheme, "www." or a bare domain name.
LINK_PATTERN = re.compile(
    r"(https?://|www\.|\b[a-z0-9][a-z0-9-]*\.(com|net|org|de|io|shop|store|co|info|biz|ly|me)\b)",
    re.IGNORECASE,
)
CHAT_OPEN_STATUSES = (Show.Status.DRAFT, Show.Status.SCHEDULED, Show.Status.LIVE)


class ChatRefusal(ApplicationError):
    """A refused chat action; ``until`` says when it may succeed, if known."""

    status_code = 400

    def __init__(self, detail: str, *, code: str, until: datetime | None = None) -> None:
        super().__init__(detail, code=code)
        self.until = until


def _room_with_show(*, show_id: int) -> ShowRoom:
    room = ShowRoom.objects.select_related("show").filter(show_id=show_id).first()
    if room is None:
        show_room_ensure(show_id=show_id)
        room = ShowRoom.objects.select_related("show").get(show_id=show_id)
    return room


def _utc_clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M:%S UTC")


def _rate_parse(value: str) -> tuple[int, int]:
    count, _, seconds = value.partition("/")
    return int(count), int(seconds or 1)


def chat_rate_limit_hit(*, user_id: int, is_team: bool) -> None:
    """Count one message against the user's limit across all their connections.

    Raises ``ChatRefusal`` (``rate_limited``) over the limit. The counter lives in
    the cache, which is Redis when configured, so all processes share it.
    """
    limit, window = _rate_parse(
        settings.LIVESHOP_CHAT_TEAM_RATE if is_team else settings.LIVESHOP_CHAT_RATE
    )
    now = time.time()
    window_index = int(now // window)
    key = f"chat:rate:{user_id}:{window_index}"
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=window + 1)
        count = 1
    if count > limit:
        until = datetime.fromtimestamp((window_index + 1) * window, tz=UTC)
        raise ChatRefusal(
            f"You are sending messages too fast: at most {limit} every {window} s. "
            f"Try again at {_utc_clock(until)}.",
            code="rate_limited",
            until=until,
        )


def _slow_mode_key(show_id: int, user_id: int) -> str:
    return f"chat:slow:{show_id}:{user_id}"


def _blocked_term_find(*, channel_id: int, text: str) -> BlockedTerm | None:
    lowered = text.casefold()
    found = None
    for term in BlockedTerm.objects.filter(channel_id=channel_id):
        if term.term.casefold() in lowered:
            if term.action == BlockedTerm.Action.REJECT:
                return term
            found = found or term
    return found


@dataclasses.dataclass(frozen=True)
class MessageCreateResult:
    message: ChatMessage
    status: str  # published, held or duplicate
    payload: dict


def _message_audience(message: ChatMessage) -> tuple[str, int | None]:
    if message.visibility == ChatMessage.Visibility.PUBLIC:
        return Audience.PUBLIC, None
    if message.visibility == ChatMessage.Visibility.PRIVATE:
        return Audience.USER, message.answer_to.author_id
    return Audience.USER, message.author_id


def message_event_append(*, message: ChatMessage) -> None:
    """Log ``message.created`` for ``message``, to the audience its visibility allows."""
    audience, audience_user_id = _message_audience(message)
    show_event_append(
        show_id=message.show_id,
        type="message.created",
        data=message_payload(message),
        audience=audience,
        audience_user_id=audience_user_id,
        message_id=message.pk,
        seq=message.seq,
    )


def chat_message_create(
    *,
    show_id: int,
    user: User,
    text: str,
    client_msg_id: uuid.UUID,
    reply_to_id: int | None = None,
    is_question: bool = False,
) -> MessageCreateResult:
    """Post a chat message from ``user`` in ``show``, after every chat rule.

    Preconditions: ``user`` is authenticated.
    Refusals raise ``ChatRefusal`` and write nothing. The same ``client_msg_id``
    from the same user in the same show returns the first message
    (``status="duplicate"``). Side effects: the message and its ``message.created``
    event are stored; the event is published after commit.
    """
    text = text.strip()
    if not text:
        raise ChatRefusal("The message is empty.", code="empty_text")
    if len(text) > MAX_TEXT_LENGTH:
        raise ChatRefusal(
            f"Messages are limited to {MAX_TEXT_LENGTH} characters; this one has {len(text)}.",
            code="text_too_long",
        )
    room = _room_with_show(show_id=show_id)
    show = room.show
    if show.status not in CHAT_OPEN_STATUSES:
        raise ChatRefusal(f"The chat of a {show.status} show is closed.", code="chat_closed")

    existing = (
        ChatMessage.objects.filter(show=show, author=user, client_msg_id=client_msg_id)
        .select_related("author")
        .first()
    )
    if existing is not None:
        return MessageCreateResult(existing, "duplicate", message_payload(existing))

    role = show_chat_role(show_id=show.pk, user=user)
    sanctions = sanctions_active(user=user, channel_id=show.channel_id, show_id=show.pk)
    blocking = sanction_blocking(sanctions)
    if blocking is not None:
        reason = f" (reason: {blocking.reason})" if blocking.reason else ""
        if blocking.kind == ChatSanction.Kind.BAN:
            until = (
                "permanently"
                if blocking.expires_at is None
                else f"until {_utc_clock(blocking.expires_at)}"
            )
            raise ChatRefusal(
                f"You are banned from this channel's chat {until}{reason}.",
                code="banned",
                until=blocking.expires_at,
            )
        raise ChatRefusal(
            f"You are timed out in this chat until {_utc_clock(blocking.expires_at)}{reason}.",
            code="timed_out",
            until=blocking.expires_at,
        )

    chat_rate_limit_hit(user_id=user.pk, is_team=role.is_team)

    slow_mode_seconds = room.slow_mode_seconds
    if slow_mode_seconds and not role.is_team:
        last_sent = cache.get(_slow_mode_key(show.pk, user.pk))
        if last_sent is not None and time.time() < last_sent + slow_mode_seconds:
            until = datetime.fromtimestamp(last_sent + slow_mode_seconds, tz=UTC)
            raise ChatRefusal(
                f"Slow mode is on: one message every {slow_mode_seconds} s. "
                f"Try again at {_utc_clock(until)}.",
                code="slow_mode",
                until=until,
            )

    visibility = ChatMessage.Visibility.PUBLIC
    if not role.is_team:
        term = _blocked_term_find(channel_id=show.channel_id, text=text)
        if term is not None and term.action == BlockedTerm.Action.REJECT:
            raise ChatRefusal(
                "Your message contains a term that is not allowed in this chat.",
                code="blocked_term",
            )
        if term is not None or (room.hold_links and LINK_PATTERN.search(text)):
            visibility = ChatMessage.Visibility.HELD
        elif sanction_shadowed(sanctions):
            visibility = ChatMessage.Visibility.SHADOW

    reply_to = None
    if reply_to_id is not None:
        reply_to = messages_visible(show_id=show.pk, user=user, is_team=role.is_team).filter(
            pk=reply_to_id
        )
        if not reply_to.exists():
            raise ChatRefusal(
                "The message you reply to is not in this chat.", code="reply_not_found"
            )

    try:
        with transaction.atomic():
            message = ChatMessage(
                show=show,
                author=user,
                author_role=role.role,
                text=text,
                visibility=visibility,
                reply_to_id=reply_to_id,
                links_clickable=role.is_team,
                is_question=is_question,
                question_status=ChatMessage.QuestionStatus.OPEN if is_question else None,
                client_msg_id=client_msg_id,
                seq=show_seq_allocate(show_id=show.pk),
            )
            message.save()
            message_event_append(message=message)
    except IntegrityError:
        # A concurrent send with the same client_msg_id won the unique constraint.
        existing = ChatMessage.objects.select_related("author").get(
            show=show, author=user, client_msg_id=client_msg_id
        )
        return MessageCreateResult(existing, "duplicate", message_payload(existing))

    if slow_mode_seconds and not role.is_team:
        cache.set(_slow_mode_key(show.pk, user.pk), time.time(), timeout=slow_mode_seconds)
    status = "held" if visibility == ChatMessage.Visibility.HELD else "published"
    return MessageCreateResult(message, status, message_payload(message))


def system_message_post(*, show_id: int, text: str) -> ChatMessage:
    """Post a system message (no author) to everyone. Must run inside a transaction."""
    message = ChatMessage.objects.create(
        show_id=show_id,
        author=None,
        author_role="system",
        kind=ChatMessage.Kind.SYSTEM,
        text=text,
        seq=show_seq_allocate(show_id=show_id),
    )
    message_event_append(message=message)
    return message


_STATUS_ANNOUNCEMENTS = {
    Show.Status.LIVE: "The show has started.",
    Show.Status.ENDED: "The show has ended. Thanks for watching!",
    Show.Status.CANCELLED: "The show has been cancelled.",
}


def show_status_announce(*, show: Show) -> None:
    """Tell the show's channel its new status: a ``show.status`` event and a system message.

    Called by ``shows.services.show_transition`` inside its transaction.
    """
    show_event_append(show_id=show.pk, type="show.status", data=show_status_payload(show))
    text = _STATUS_ANNOUNCEMENTS.get(show.status)
    if text is not None:
        system_message_post(show_id=show.pk, text=text)


def show_peak_viewers_record(*, show_id: int, viewers: int) -> int:
    """Raise the show's recorded peak to ``viewers`` if higher; returns the peak."""
    ShowRoom.objects.filter(show_id=show_id, peak_viewers__lt=viewers).update(peak_viewers=viewers)
    return (
        ShowRoom.objects.filter(show_id=show_id).values_list("peak_viewers", flat=True).first() or 0
    )


def show_reactions_record(*, show_id: int, count: int) -> None:
    ShowRoom.objects.filter(show_id=show_id).update(reaction_count=F("reaction_count") + count)


REACTION_KINDS = ("heart", "fire", "laugh", "wow", "clap")


def realtime_ticket_create(*, user: User) -> str:
    """A one-time websocket ticket for ``user``, valid ``LIVESHOP_WS_TICKET_SECONDS``."""
    ticket = secrets.token_urlsafe(24)
    cache.set(f"chat:ticket:{ticket}", user.pk, timeout=settings.LIVESHOP_WS_TICKET_SECONDS)
    return ticket


def realtime_ticket_redeem(*, ticket: str) -> int | None:
    """The user id of ``ticket`` if it is valid; a ticket redeems once."""
    if not ticket or len(ticket) > 64:
        return None
    key = f"chat:ticket:{ticket}"
    user_id = cache.get(key)
    # Only the caller whose delete removed the key wins a concurrent double use.
    if user_id is None or not cache.delete(key):
        return None
    return user_id
