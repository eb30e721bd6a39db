"""Writes for the show channel. Every rule of the chat is enforced here, not in adapters.

Each service that changes what clients see appends its events to the show's log
(``shows.events.show_event_append``) inside its transaction; they are published
after commit.
"""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from chat.lock_objects import (
    blocked_term_lock,
    chat_messages_qs_select_for_update,
    chat_sanctions_qs_select_for_update,
    chat_settings_lock,
)
from chat.models import (
    BlockedTerm,
    ChatMessage,
    ChatSanction,
    ChatSettings,
    ModerationAction,
)
from chat.selectors import (
    blocked_term_editor_require,
    chat_answerer_require,
    chat_moderator_require,
    chat_send_context,
    message_payload,
    messages_visible,
    sanction_blocking,
    sanction_in_force,
    sanction_in_force_q,
    sanction_shadowed,
    sanctions_active,
)
from chat.send import message_with_event_insert
from liveshop.accounts.lock_objects import user_lock
from liveshop.accounts.models import User
from liveshop.common.cache import (
    cache_counter_increment,
    cache_value_get,
    cache_value_set,
)
from liveshop.common.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
)
from liveshop.common.transactions import atomic_required
from realtime.models import Audience
from realtime.wire import iso_utc
from shows.access import ShowChatRole, show_chat_role
from shows.events import show_event_append, show_room_ensure, show_seq_allocate
from shows.lock_objects import channel_lock, show_events_qs_select_for_update
from shows.models import Channel, Show

MAX_TEXT_LENGTH = 500
# Anything a client would turn into a link: a scheme, "www." or a bare domain name.
LINK_PATTERN = re.compile(
    r"(https?://|www\.|\b[a-z0-9][a-z0-9-]*\.(com|net|org|de|io|shop|store|co|info|biz|ly|me)\b)",
    re.IGNORECASE,
)
CHAT_OPEN_STATUSES = (Show.Status.DRAFT, Show.Status.SCHEDULED, Show.Status.LIVE)
# The rule (and the words) DRF's CharField applies to every REST text field, so a
# socket frame is refused as the REST API would refuse it: PostgreSQL cannot store
# a NUL byte in text, SQLite would.
_null_characters_prohibit = ProhibitNullCharactersValidator()


class ChatRefusal(ApplicationError):
    """A refused chat action; ``until`` says when it may succeed, if known."""

    status_code = 400

    def __init__(self, detail: str, *, code: str, until: datetime | None = None) -> None:
        super().__init__(detail, code=code)
        self.until = until


def _utc_clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M:%S UTC")


def _rate_parse(value: str) -> tuple[int, int]:
    count, _, seconds = value.partition("/")
    return int(count), int(seconds or 1)


def chat_rate_limit_hit(*, user_id: int, is_team: bool) -> None:
    """Count one message against the user's limit across all their connections.

    Raises ``ChatRefusal`` (``rate_limited``) over the limit. The counter lives in
    the cache, which is Redis when configured, so all processes share it; while
    Redis is down each process counts on its own (the limit holds per process).
    """
    limit, window = _rate_parse(
        settings.LIVESHOP_CHAT_TEAM_RATE if is_team else settings.LIVESHOP_CHAT_RATE
    )
    now = time.time()
    window_index = int(now // window)
    count = cache_counter_increment(key=f"chat:rate:{user_id}:{window_index}", timeout=window + 1)
    if count > limit:
        until = datetime.fromtimestamp((window_index + 1) * window, tz=UTC)
        raise ChatRefusal(
            f"You are sending messages too fast: at most {limit} every {window} s. "
            f"Try again at {_utc_clock(until)}.",
            code="rate_limited",
            until=until,
        )


def chat_text_clean(*, text: str, noun: str) -> str:
    """``text`` without surrounding whitespace; ``ChatRefusal`` if it holds a NUL byte,
    is empty or is too long."""
    try:
        _null_characters_prohibit(text)
    except ValidationError as error:
        raise ChatRefusal(error.messages[0], code=error.code) from None
    text = text.strip()
    if not text:
        raise ChatRefusal(f"The {noun} is empty.", code="empty_text")
    if len(text) > MAX_TEXT_LENGTH:
        raise ChatRefusal(
            f"{noun.capitalize()}s are limited to {MAX_TEXT_LENGTH} characters; "
            f"this one has {len(text)}.",
            code="text_too_long",
        )
    return text


def sanction_refusal(blocking: ChatSanction) -> ChatRefusal:
    """The refusal (``banned`` or ``timed_out``) of a sanction that stops posting."""
    reason = f" (reason: {blocking.reason})" if blocking.reason else ""
    if blocking.kind == ChatSanction.Kind.BAN:
        until = (
            "permanently"
            if blocking.expires_at is None
            else f"until {_utc_clock(blocking.expires_at)}"
        )
        return ChatRefusal(
            f"You are banned from this channel's chat {until}{reason}.",
            code="banned",
            until=blocking.expires_at,
        )
    return ChatRefusal(
        f"You are timed out in this chat until {_utc_clock(blocking.expires_at)}{reason}.",
        code="timed_out",
        until=blocking.expires_at,
    )


def _sanctions_stamp_key(user_id: int) -> str:
    return f"chat:sanctions-stamp:{user_id}"


def _sanctions_stamp_change(*, user_id: int) -> None:
    """After commit, change the user's sanctions stamp: sockets read sanctions again."""
    transaction.on_commit(
        # No expiry: a socket keeps the stamp it saw for as long as it is open.
        lambda: cache_value_set(
            key=_sanctions_stamp_key(user_id), value=uuid.uuid4().hex, timeout=None
        )
    )


# A socket reads a user's sanctions again at least this often, even when no stamp
# change reached it (a cache write lost while Redis was unreachable).
REACTION_SANCTIONS_RECHECK_SECONDS = 60


@dataclasses.dataclass(frozen=True)
class ReactionGate:
    """What a socket remembers between reactions: the sanction that stops its user
    (``sanction_blocking``), as of the user's sanctions stamp, until ``recheck_at``."""

    stamp: str | None
    blocking: ChatSanction | None
    recheck_at: float


@dataclasses.dataclass(frozen=True)
class ReactionAdmission:
    gate: ReactionGate
    refusal: ChatRefusal | None  # banned or timed out
    counted: bool  # False: over the per-user cap, dropped silently


def chat_reaction_admit(
    *, show_id: int, channel_id: int, user: User, gate: ReactionGate | None
) -> ReactionAdmission:
    """Decide one reaction tap of ``user`` in ``show``: refused, dropped or counted.

    Preconditions: ``user`` is authenticated; ``gate`` is what the previous call on
    this socket returned (None at first). A sanction in force (the definition of
    ``sanctions_active`` and ``sanction_blocking``, as for chat messages) refuses it;
    past ``LIVESHOP_REACTIONS_PER_SECOND`` taps of the user in this second, across
    all their connections and processes (a counter in the shared cache, as for
    chat messages), it is dropped. Costs one cache read and one counter increment;
    sanctions are read from the database only when the stamp changed, the blocking
    sanction expired, or ``REACTION_SANCTIONS_RECHECK_SECONDS`` passed. Side effect:
    the tap is counted against the cap (unless refused).
    """
    stamp = cache_value_get(key=_sanctions_stamp_key(user.pk))
    now = time.time()
    if gate is None or gate.stamp != stamp or now >= gate.recheck_at:
        blocking = sanction_blocking(
            sanctions_active(user=user, channel_id=channel_id, show_id=show_id)
        )
        recheck_at = now + REACTION_SANCTIONS_RECHECK_SECONDS
        if blocking is not None and blocking.expires_at is not None:
            recheck_at = min(recheck_at, blocking.expires_at.timestamp())
        gate = ReactionGate(stamp=stamp, blocking=blocking, recheck_at=recheck_at)
    if gate.blocking is not None:
        return ReactionAdmission(gate=gate, refusal=sanction_refusal(gate.blocking), counted=False)
    count = cache_counter_increment(key=f"chat:reactions:{user.pk}:{int(now)}", timeout=2)
    return ReactionAdmission(
        gate=gate, refusal=None, counted=count <= settings.LIVESHOP_REACTIONS_PER_SECOND
    )


def _slow_mode_key(show_id: int, user_id: int) -> str:
    return f"chat:slow:{show_id}:{user_id}"


def _blocked_term_action(*, terms: list[tuple[str, str]], text: str) -> str | None:
    """``reject`` if ``text`` holds a rejected term, else ``hold`` if it holds a held one."""
    lowered = text.casefold()
    found = None
    for term, action in terms:
        if term.casefold() in lowered:
            if action == BlockedTerm.Action.REJECT:
                return action
            found = action
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
        subject_id=message.pk,
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
    text = chat_text_clean(text=text, noun="message")
    try:
        role, visibility, slow_mode_seconds = _message_rules_apply(
            show_id=show_id, user=user, text=text, reply_to_id=reply_to_id
        )
    except ChatRefusal:
        # A retry of a message that was stored (its ack lost) is answered as a
        # duplicate even if a rule would refuse it now, e.g. slow mode after it.
        existing = _message_by_client_id(show_id=show_id, user=user, client_msg_id=client_msg_id)
        if existing is None:
            raise
        return MessageCreateResult(existing, "duplicate", message_payload(existing))

    message = ChatMessage(
        show_id=show_id,
        author=user,
        author_role=role.role,
        text=text,
        visibility=visibility,
        reply_to_id=reply_to_id,
        links_clickable=role.is_team,
        is_question=is_question,
        question_status=ChatMessage.QuestionStatus.OPEN if is_question else None,
        client_msg_id=client_msg_id,
    )
    try:
        if connection.vendor == "postgresql":
            # One statement for the message, its seq and its event: this is the hot
            # path (chat.send.message_with_event_insert says why).
            audience, audience_user_id = _message_audience(message)
            message_with_event_insert(
                message=message,
                payload=message_payload,
                audience=audience,
                audience_user_id=audience_user_id,
            )
        else:
            # SQLite (the embedded mode) has no data-modifying CTEs.
            with transaction.atomic():
                message.seq = show_seq_allocate(show_id=show_id)
                message.save()
                message_event_append(message=message)
    except IntegrityError:
        # The unique (show, author, client_msg_id) constraint is the duplicate check:
        # a retry, or a concurrent send with the same id that won.
        existing = _message_by_client_id(show_id=show_id, user=user, client_msg_id=client_msg_id)
        if existing is None:
            raise
        return MessageCreateResult(existing, "duplicate", message_payload(existing))

    if slow_mode_seconds and not role.is_team:
        cache_value_set(
            key=_slow_mode_key(show_id, user.pk), value=time.time(), timeout=slow_mode_seconds
        )
    status = "held" if visibility == ChatMessage.Visibility.HELD else "published"
    return MessageCreateResult(message, status, message_payload(message))


def _message_by_client_id(
    *, show_id: int, user: User, client_msg_id: uuid.UUID
) -> ChatMessage | None:
    return (
        ChatMessage.objects.filter(show_id=show_id, author=user, client_msg_id=client_msg_id)
        .select_related("author")
        .first()
    )


def _message_rules_apply(
    *, show_id: int, user: User, text: str, reply_to_id: int | None
) -> tuple[ShowChatRole, str, int]:
    """Every rule a new message must pass: (the author's role, its visibility, slow mode).

    Raises ``ChatRefusal``. Side effect: counts the message against the rate limit.
    """
    state = chat_send_context(show_id=show_id, user=user)
    if state is None:
        show_room_ensure(show_id=show_id)
        chat_settings_ensure(show_id=show_id)
        state = chat_send_context(show_id=show_id, user=user)
    if state.status not in CHAT_OPEN_STATUSES:
        why = "was cancelled" if state.status == Show.Status.CANCELLED else "has ended"
        raise ChatRefusal(f"The chat is closed: this show {why}.", code="chat_closed")

    role = state.role
    sanctions = state.sanctions
    blocking = sanction_blocking(sanctions)
    if blocking is not None:
        raise sanction_refusal(blocking)

    chat_rate_limit_hit(user_id=user.pk, is_team=role.is_team)

    slow_mode_seconds = state.slow_mode_seconds
    if slow_mode_seconds and not role.is_team:
        last_sent = cache_value_get(key=_slow_mode_key(show_id, user.pk))
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
        action = _blocked_term_action(terms=state.blocked_terms, text=text)
        if action == BlockedTerm.Action.REJECT:
            raise ChatRefusal(
                "Your message contains a term that is not allowed in this chat.",
                code="blocked_term",
            )
        if action is not None or (state.hold_links and LINK_PATTERN.search(text)):
            visibility = ChatMessage.Visibility.HELD
        elif sanction_shadowed(sanctions):
            visibility = ChatMessage.Visibility.SHADOW

    if reply_to_id is not None:
        replied = messages_visible(show_id=show_id, user=user, is_team=role.is_team).filter(
            pk=reply_to_id
        )
        if not replied.exists():
            raise ChatRefusal(
                "The message you reply to is not in this chat.", code="reply_not_found"
            )
    return role, visibility, slow_mode_seconds


def system_message_post(*, show_id: int, text: str) -> ChatMessage:
    """Post a system message (no author) to everyone.

    Must run inside ``transaction.atomic`` (else ``RuntimeError``): the message and
    its log event commit together.
    """
    atomic_required("system_message_post")
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


_STATUS_ANNOUNCEMENTS: dict[str, str] = {
    Show.Status.LIVE: "The show has started.",
    Show.Status.ENDED: "The show has ended. Thanks for watching!",
    Show.Status.CANCELLED: "The show has been cancelled.",
}


def system_message_on_transition(*, show: Show) -> None:
    """Tell the show's chat its new status in words: a system message (live, ended, cancelled).

    A ``shows.lifecycle`` transition listener (registered in ``ChatConfig.ready()``): it
    runs inside ``show_transition``'s transaction, after the ``show.status`` event.
    """
    text = _STATUS_ANNOUNCEMENTS.get(show.status)
    if text is not None:
        system_message_post(show_id=show.pk, text=text)


# -- Moderation and the question queue --------------------------------------------
#
# Every service below takes the acting user and the show (or channel) the action is
# taken in, checks the actor's role in THAT show with ``show_chat_role`` before
# reading anything else, locks what it changes, writes a ``ModerationAction`` row
# for each moderation action and appends its events in the same transaction.
# Refusals raise before anything is written, so they leave no row and no event.

TIMEOUT_MIN_SECONDS = 10
TIMEOUT_MAX_SECONDS = 24 * 60 * 60
BAN_MAX_SECONDS = 365 * 24 * 60 * 60
SLOW_MODE_MAX_SECONDS = 3600
BLOCKED_TERM_MAX_LENGTH = 100
# The ``kind`` a client sees in user.sanctioned / user.unsanctioned (docs/protocol.md, 3.2).
SANCTION_EVENT_KINDS = {
    ChatSanction.Kind.TIMEOUT: "timeout",
    ChatSanction.Kind.BAN: "banned",
    ChatSanction.Kind.SHADOW: "shadow",
}
REMOVAL_REASONS = {
    ChatMessage.State.HIDDEN: "hidden",
    ChatMessage.State.DELETED: "deleted",
    ChatMessage.State.DENIED: "denied",
}


def _message_lock(*, show: Show, message_id: int) -> ChatMessage:
    """The show's message ``message_id``, row-locked; a message of another show is 404."""
    message = (
        chat_messages_qs_select_for_update()
        .select_related("author", "answer_to")
        .filter(pk=message_id, show=show)
        .first()
    )
    if message is None:
        raise NotFoundError("No message with this id in this show.")
    return message


def chat_settings_ensure(*, show_id: int) -> None:
    """Create the show's chat settings row with the defaults if it does not exist yet
    (idempotent, race-safe)."""
    ChatSettings.objects.bulk_create([ChatSettings(show_id=show_id)], ignore_conflicts=True)


def _settings_lock(*, show: Show) -> ChatSettings:
    chat_settings_ensure(show_id=show.pk)
    return chat_settings_lock(show_id=show.pk)


def _moderation_log(
    *,
    actor: User,
    show: Show | None = None,
    channel_id: int | None = None,
    action: str,
    target_user_id: int | None = None,
    target_message: ChatMessage | None = None,
    reason: str = "",
    expires_at: datetime | None = None,
    detail: dict | None = None,
) -> ModerationAction:
    """One audit row; ``channel_id`` defaults to the show's channel."""
    return ModerationAction.objects.create(
        show=show,
        channel_id=channel_id if channel_id is not None else show.channel_id,
        actor=actor,
        action=action,
        target_user_id=target_user_id,
        target_message=target_message,
        reason=reason,
        expires_at=expires_at,
        detail=detail or {},
    )


def _message_action_log(
    *,
    show: Show,
    actor: User,
    action: str,
    message: ChatMessage,
    reason: str = "",
    detail: dict | None = None,
) -> ModerationAction:
    return _moderation_log(
        show=show,
        actor=actor,
        action=action,
        target_user_id=message.author_id,
        target_message=message,
        reason=reason,
        detail=detail,
    )


def _event_data_redact(data: dict, *, reason: str) -> dict:
    """The stored event data with the message text blanked and the removal marked."""
    if "message" in data and isinstance(data["message"], dict):
        return {**data, "message": _event_data_redact(data["message"], reason=reason)}
    return {**data, "text": "", "removed": reason}


def _message_remove(
    *, actor: User, show: Show, message_id: int, state: str, action: str, reason: str
) -> ChatMessage:
    chat_moderator_require(show=show, actor=actor)
    with transaction.atomic():
        if state == ChatMessage.State.DENIED:
            message = _held_lock(show=show, message_id=message_id)
        else:
            message = _message_lock(show=show, message_id=message_id)
        if message.state != ChatMessage.State.VISIBLE:
            raise ConflictError("This message was already removed.", code="already_removed")
        removal = REMOVAL_REASONS[state]
        original_text = message.text
        message.state = state
        if state == ChatMessage.State.DELETED:
            message.text = ""
        message.save(update_fields=["state", "text"])
        # Resume and snapshot read the log: the text must not come back from it.
        for event in show_events_qs_select_for_update().filter(subject_id=message.pk):
            event.data = _event_data_redact(event.data, reason=removal)
            event.save(update_fields=["data"])
        chat_settings = _settings_lock(show=show)
        if chat_settings.pinned_message_id == message.pk:
            chat_settings.pinned_message = None
            chat_settings.save(update_fields=["pinned_message"])
            show_event_append(show_id=show.pk, type="message.unpinned", data={"id": message.pk})
        audience, audience_user_id = _message_audience(message)
        show_event_append(
            show_id=show.pk,
            type="message.removed",
            data={"id": message.pk, "reason": removal},
            audience=audience,
            audience_user_id=audience_user_id,
        )
        _message_action_log(
            show=show,
            actor=actor,
            action=action,
            message=message,
            reason=reason,
            detail={"text": original_text},
        )
    return message


def message_hide(*, actor: User, show: Show, message_id: int, reason: str = "") -> ChatMessage:
    """Hide a message of ``show`` from everyone; the stored text is kept for the audit.

    Preconditions: ``actor`` moderates ``show`` (else ``PermissionDeniedError``), the
    message is of this show (else ``NotFoundError``) and not removed yet (else
    ``ConflictError``). Side effects: the message's stored events are redacted, it
    is unpinned if pinned (``message.unpinned``), ``message.removed`` (reason
    ``hidden``) goes to everyone who could see it, and a ``hide`` action is logged.
    """
    return _message_remove(
        actor=actor,
        show=show,
        message_id=message_id,
        state=ChatMessage.State.HIDDEN,
        action=ModerationAction.Action.HIDE,
        reason=reason,
    )


def message_delete(*, actor: User, show: Show, message_id: int, reason: str = "") -> ChatMessage:
    """Delete a message of ``show``: like ``message_hide``, but its text is erased too.

    Only the audit row (``detail.text``) keeps what was said. Same preconditions
    and side effects as ``message_hide``, with reason ``deleted``.
    """
    return _message_remove(
        actor=actor,
        show=show,
        message_id=message_id,
        state=ChatMessage.State.DELETED,
        action=ModerationAction.Action.DELETE,
        reason=reason,
    )


def _held_lock(*, show: Show, message_id: int) -> ChatMessage:
    message = _message_lock(show=show, message_id=message_id)
    if (
        message.visibility != ChatMessage.Visibility.HELD
        or message.state != ChatMessage.State.VISIBLE
    ):
        raise ConflictError("This message is not waiting for review.", code="not_held")
    return message


def message_approve(*, actor: User, show: Show, message_id: int) -> ChatMessage:
    """Publish a held message of ``show``.

    Preconditions: ``actor`` moderates ``show``; the message is held and not
    removed (else ``ConflictError`` ``not_held``). Side effects: the message gets a
    new seq and ``message.created`` is appended again with the same id, visible to
    everyone; if its author is shadow-hidden by now it becomes ``shadow`` instead
    (author and team only). An ``approve`` action is logged.
    """
    chat_moderator_require(show=show, actor=actor)
    with transaction.atomic():
        message = _held_lock(show=show, message_id=message_id)
        visibility = ChatMessage.Visibility.PUBLIC
        if message.author_id is not None and sanction_shadowed(
            sanctions_active(user=message.author, channel_id=show.channel_id, show_id=show.pk)
        ):
            visibility = ChatMessage.Visibility.SHADOW
        message.visibility = visibility
        message.seq = show_seq_allocate(show_id=show.pk)
        message.save(update_fields=["visibility", "seq"])
        message_event_append(message=message)
        _message_action_log(
            show=show,
            actor=actor,
            action=ModerationAction.Action.APPROVE,
            message=message,
            detail={"visibility": visibility},
        )
    return message


def message_deny(*, actor: User, show: Show, message_id: int, reason: str = "") -> ChatMessage:
    """Refuse a held message of ``show``: it is never published.

    Preconditions as ``message_approve``. Side effects: state ``denied``, the
    stored event is redacted, ``message.removed`` (reason ``denied``) goes to the
    author and the team, a ``deny`` action is logged.
    """
    return _message_remove(
        actor=actor,
        show=show,
        message_id=message_id,
        state=ChatMessage.State.DENIED,
        action=ModerationAction.Action.DENY,
        reason=reason,
    )


def message_pin(*, actor: User, show: Show, message_id: int) -> ChatMessage:
    """Pin a public message of ``show`` above the chat, replacing any pinned one.

    Preconditions: ``actor`` moderates ``show``; the message is visible to
    everyone (else ``ConflictError`` ``not_pinnable``). Pinning the pinned message
    again changes nothing. Side effects: ``message.pinned`` to everyone, a ``pin``
    action logged.
    """
    chat_moderator_require(show=show, actor=actor)
    with transaction.atomic():
        message = _message_lock(show=show, message_id=message_id)
        if (
            message.state != ChatMessage.State.VISIBLE
            or message.visibility != ChatMessage.Visibility.PUBLIC
        ):
            raise ConflictError(
                "Only a message everyone can see may be pinned.", code="not_pinnable"
            )
        chat_settings = _settings_lock(show=show)
        if chat_settings.pinned_message_id == message.pk:
            return message
        chat_settings.pinned_message = message
        chat_settings.save(update_fields=["pinned_message"])
        show_event_append(
            show_id=show.pk,
            type="message.pinned",
            data={"message": message_payload(message)},
            subject_id=message.pk,
        )
        _message_action_log(
            show=show,
            actor=actor,
            action=ModerationAction.Action.PIN,
            message=message,
        )
    return message


def message_unpin(*, actor: User, show: Show) -> ChatMessage | None:
    """Unpin the pinned message of ``show``; returns it, or None if nothing was pinned.

    Preconditions: ``actor`` moderates ``show``. With nothing pinned nothing
    happens. Side effects: ``message.unpinned`` to everyone, an ``unpin`` action
    logged.
    """
    chat_moderator_require(show=show, actor=actor)
    with transaction.atomic():
        chat_settings = _settings_lock(show=show)
        message = chat_settings.pinned_message
        if message is None:
            return None
        chat_settings.pinned_message = None
        chat_settings.save(update_fields=["pinned_message"])
        show_event_append(show_id=show.pk, type="message.unpinned", data={"id": message.pk})
        _message_action_log(
            show=show,
            actor=actor,
            action=ModerationAction.Action.UNPIN,
            message=message,
        )
    return message


def _sanction_event_audience(*, sanction: ChatSanction) -> dict:
    # Shadow-hiding is never announced to its target: only the team learns of it.
    if sanction.kind == ChatSanction.Kind.SHADOW:
        return {"audience": Audience.TEAM}
    return {"audience": Audience.USER, "audience_user_id": sanction.user_id}


def user_sanction_create(
    *,
    actor: User,
    show: Show,
    user_id: int,
    kind: str,
    duration_seconds: int | None = None,
    reason: str = "",
) -> ChatSanction:
    """Time out (this show), ban or shadow-hide (the show's channel) one user.

    Preconditions: ``actor`` moderates ``show``; ``user_id`` exists (else
    ``NotFoundError``) and is not on the show's team nor a merchandiser (else
    ``ApplicationError`` ``target_is_team``); a timeout lasts 10 s to 24 h, a ban
    or shadow-hide 10 s to a year or, with no duration, until lifted. A sanction
    of the same kind already in force in the same scope is lifted and replaced,
    so a moderator can extend or shorten it. Side effects: a ``user.sanctioned``
    event to the user and the team (a shadow-hide only to the team), an action
    logged with its expiry. Earlier messages of a shadow-hidden user stay as they
    are: removing them would tell the user.
    """
    chat_moderator_require(show=show, actor=actor)
    if kind not in ChatSanction.Kind.values:
        raise ApplicationError("Unknown sanction kind.", code="invalid_kind")
    if kind == ChatSanction.Kind.TIMEOUT and duration_seconds is None:
        raise ApplicationError("A timeout needs a duration.", code="invalid_duration")
    if duration_seconds is not None:
        longest = TIMEOUT_MAX_SECONDS if kind == ChatSanction.Kind.TIMEOUT else BAN_MAX_SECONDS
        if not TIMEOUT_MIN_SECONDS <= duration_seconds <= longest:
            raise ApplicationError(
                f"The duration must be between {TIMEOUT_MIN_SECONDS} and {longest} seconds.",
                code="invalid_duration",
            )
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        raise NotFoundError("No user with this id.")
    if show_chat_role(show_id=show.pk, user=target).is_team:
        raise ApplicationError(
            "The show's team cannot be sanctioned in its chat.", code="target_is_team"
        )
    now = timezone.now()
    expires_at = None if duration_seconds is None else now + timedelta(seconds=duration_seconds)
    scope_show = show if kind == ChatSanction.Kind.TIMEOUT else None
    with transaction.atomic():
        # Serialises sanctions of one user so two moderators cannot stack them.
        user_lock(user_id=target.pk)
        ChatSanction.objects.filter(
            sanction_in_force_q(
                channel_id=show.channel_id,
                show_id=None if scope_show is None else scope_show.pk,
                now=now,
            ),
            user=target,
            kind=kind,
            show=scope_show,
        ).update(revoked_at=now)
        sanction = ChatSanction.objects.create(
            kind=kind,
            channel_id=show.channel_id,
            show=scope_show,
            user=target,
            reason=reason,
            expires_at=expires_at,
            created_by=actor,
        )
        show_event_append(
            show_id=show.pk,
            type="user.sanctioned",
            data={
                "user_id": target.pk,
                "kind": SANCTION_EVENT_KINDS[kind],
                "until": iso_utc(expires_at),
                "reason": reason,
            },
            **_sanction_event_audience(sanction=sanction),
        )
        _moderation_log(
            show=show,
            actor=actor,
            action=kind,
            target_user_id=target.pk,
            reason=reason,
            expires_at=expires_at,
            detail={"sanction_id": sanction.pk, "duration_seconds": duration_seconds},
        )
        _sanctions_stamp_change(user_id=target.pk)
    return sanction


def user_sanction_revoke(*, actor: User, show: Show, sanction_id: int) -> ChatSanction:
    """Lift a sanction in force that applies in ``show``.

    Preconditions: ``actor`` moderates ``show``; the sanction is of this show's
    channel and, for a timeout, of this show (else ``NotFoundError``) and still in
    force (else ``ConflictError`` ``not_active``). Side effects:
    ``user.unsanctioned`` to the user and the team (a shadow-hide's only to the
    team), a ``revoke`` action logged.
    """
    chat_moderator_require(show=show, actor=actor)
    now = timezone.now()
    with transaction.atomic():
        sanction = (
            chat_sanctions_qs_select_for_update()
            .filter(Q(show__isnull=True) | Q(show=show), pk=sanction_id, channel_id=show.channel_id)
            .first()
        )
        if sanction is None:
            raise NotFoundError("No sanction with this id in this show.")
        if not sanction_in_force(sanction, channel_id=show.channel_id, show_id=show.pk, now=now):
            raise ConflictError("This sanction is no longer in force.", code="not_active")
        sanction.revoked_at = now
        sanction.save(update_fields=["revoked_at"])
        show_event_append(
            show_id=show.pk,
            type="user.unsanctioned",
            data={"user_id": sanction.user_id, "kind": SANCTION_EVENT_KINDS[sanction.kind]},
            **_sanction_event_audience(sanction=sanction),
        )
        _moderation_log(
            show=show,
            actor=actor,
            action=ModerationAction.Action.REVOKE,
            target_user_id=sanction.user_id,
            reason=sanction.reason,
            detail={"sanction_id": sanction.pk, "kind": sanction.kind},
        )
        _sanctions_stamp_change(user_id=sanction.user_id)
    return sanction


def chat_settings_update(
    *,
    actor: User,
    show: Show,
    slow_mode_seconds: int | None = None,
    hold_links: bool | None = None,
) -> ChatSettings:
    """Change the show's slow mode and/or whether links are held for review.

    Preconditions: ``actor`` moderates ``show``; ``slow_mode_seconds`` is 0 (off)
    to 3600 (else ``ApplicationError`` ``invalid_slow_mode``). ``None`` leaves a
    setting as it is; setting a value it already has changes nothing. Side
    effects: a changed slow mode appends ``chat.settings`` and a system message
    to everyone and logs a ``slow_mode`` action; a changed ``hold_links`` logs a
    ``hold_links`` action (clients are not told; it only affects review).
    """
    chat_moderator_require(show=show, actor=actor)
    if slow_mode_seconds is not None and not 0 <= slow_mode_seconds <= SLOW_MODE_MAX_SECONDS:
        raise ApplicationError(
            f"Slow mode must be between 0 (off) and {SLOW_MODE_MAX_SECONDS} seconds.",
            code="invalid_slow_mode",
        )
    with transaction.atomic():
        chat_settings = _settings_lock(show=show)
        if slow_mode_seconds is not None and slow_mode_seconds != chat_settings.slow_mode_seconds:
            previous = chat_settings.slow_mode_seconds
            chat_settings.slow_mode_seconds = slow_mode_seconds
            chat_settings.save(update_fields=["slow_mode_seconds"])
            show_event_append(
                show_id=show.pk,
                type="chat.settings",
                data={"slow_mode_seconds": slow_mode_seconds},
            )
            system_message_post(
                show_id=show.pk,
                text=(
                    f"Slow mode is on: one message every {slow_mode_seconds} s."
                    if slow_mode_seconds
                    else "Slow mode is off."
                ),
            )
            _moderation_log(
                show=show,
                actor=actor,
                action=ModerationAction.Action.SLOW_MODE,
                detail={"from": previous, "to": slow_mode_seconds},
            )
        if hold_links is not None and hold_links != chat_settings.hold_links:
            chat_settings.hold_links = hold_links
            chat_settings.save(update_fields=["hold_links"])
            _moderation_log(
                show=show,
                actor=actor,
                action=ModerationAction.Action.HOLD_LINKS,
                detail={"from": not hold_links, "to": hold_links},
            )
    return chat_settings


def blocked_term_add(*, actor: User, channel: Channel, term: str, action: str) -> BlockedTerm:
    """Block ``term`` in every show of ``channel``: rejected or held when sent.

    Preconditions: ``actor`` is a merchandiser or a host or moderator of a draft,
    scheduled or live show of the channel (else ``PermissionDeniedError``); the
    term is 1–100 characters after trimming and not blocked yet in any letter
    case (else ``ApplicationError`` / ``ConflictError`` ``term_exists``). Side
    effects: a ``term_add`` action logged on the channel. Matching is a
    case-insensitive substring match on messages from outside the show's team.
    """
    blocked_term_editor_require(channel=channel, actor=actor)
    term = term.strip()
    if not 1 <= len(term) <= BLOCKED_TERM_MAX_LENGTH:
        raise ApplicationError(
            f"A blocked term has 1 to {BLOCKED_TERM_MAX_LENGTH} characters.", code="invalid_term"
        )
    if action not in BlockedTerm.Action.values:
        raise ApplicationError("Unknown blocked term action.", code="invalid_action")
    with transaction.atomic():
        # One writer per channel, so two spellings of one term cannot both pass.
        channel_lock(channel_id=channel.pk)
        if BlockedTerm.objects.filter(channel=channel, term__iexact=term).exists():
            raise ConflictError("This term is already blocked in this channel.", code="term_exists")
        blocked = BlockedTerm.objects.create(channel=channel, term=term, action=action)
        _moderation_log(
            channel_id=channel.pk,
            actor=actor,
            action=ModerationAction.Action.BLOCKED_TERM_ADD,
            detail={"term_id": blocked.pk, "term": term, "action": action},
        )
    return blocked


def blocked_term_remove(*, actor: User, channel: Channel, term_id: int) -> None:
    """Unblock one term of ``channel``.

    Preconditions as ``blocked_term_add``; the term is of this channel (else
    ``NotFoundError``). Side effects: a ``term_remove`` action logged.
    """
    blocked_term_editor_require(channel=channel, actor=actor)
    with transaction.atomic():
        blocked = blocked_term_lock(channel_id=channel.pk, term_id=term_id)
        if blocked is None:
            raise NotFoundError("No blocked term with this id in this channel.")
        _moderation_log(
            channel_id=channel.pk,
            actor=actor,
            action=ModerationAction.Action.BLOCKED_TERM_REMOVE,
            detail={"term_id": blocked.pk, "term": blocked.term, "action": blocked.action},
        )
        blocked.delete()


def _question_lock(*, show: Show, question_id: int) -> ChatMessage:
    question = _message_lock(show=show, message_id=question_id)
    if (
        not question.is_question
        or question.state != ChatMessage.State.VISIBLE
        or question.visibility == ChatMessage.Visibility.HELD
    ):
        raise NotFoundError("No open question with this id in this show.")
    return question


def _require_unclaimed(*, question: ChatMessage, actor: User) -> None:
    if (
        question.question_status == ChatMessage.QuestionStatus.CLAIMED
        and question.claimed_by_id != actor.pk
    ):
        raise ConflictError(
            "Another member of the team has claimed this question.",
            code="claimed",
            extra={"claimed_by": question.claimed_by_id},
        )


def _question_updated_append(*, question: ChatMessage) -> None:
    audience, audience_user_id = _message_audience(question)
    show_event_append(
        show_id=question.show_id,
        type="question.updated",
        data={"id": question.pk, "question_status": question.question_status},
        audience=audience,
        audience_user_id=audience_user_id,
        subject_id=question.pk,
    )


def question_claim(*, actor: User, show: Show, question_id: int) -> ChatMessage:
    """Claim a question of ``show`` so the rest of the team leaves it to ``actor``.

    Preconditions: ``actor`` may answer in ``show`` (service staff, hosts,
    moderators, merchandisers); the question is visible and not held (else
    ``NotFoundError``), not answered (else ``ConflictError`` ``already_answered``)
    and not claimed by someone else (``ConflictError`` ``claimed``). Claiming
    one's own claim again changes nothing. Side effects: ``question.updated`` to
    whoever sees the question.
    """
    chat_answerer_require(show=show, actor=actor)
    with transaction.atomic():
        question = _question_lock(show=show, question_id=question_id)
        if question.question_status == ChatMessage.QuestionStatus.ANSWERED:
            raise ConflictError("This question is answered already.", code="already_answered")
        _require_unclaimed(question=question, actor=actor)
        if question.claimed_by_id == actor.pk:
            return question
        question.question_status = ChatMessage.QuestionStatus.CLAIMED
        question.claimed_by = actor
        question.claimed_at = timezone.now()
        question.save(update_fields=["question_status", "claimed_by", "claimed_at"])
        _question_updated_append(question=question)
    return question


def _question_answered_mark(*, question: ChatMessage, at: datetime) -> None:
    question.question_status = ChatMessage.QuestionStatus.ANSWERED
    question.answered_at = question.answered_at or at
    question.first_response_at = question.first_response_at or at
    question.save(update_fields=["question_status", "answered_at", "first_response_at"])


def question_answer(
    *, actor: User, show: Show, question_id: int, text: str, private: bool = False
) -> ChatMessage:
    """Answer a question of ``show`` in the chat, publicly or only to the asker.

    Preconditions as ``question_claim``, except that an answered question may be
    answered again (a follow-up); the text is 1–500 characters after trimming; a
    private answer needs the asker's account to still exist (``ConflictError``
    ``asker_gone``). Side effects: an ``answer`` message linked to the question
    (``public``: everyone; ``private``: the asker and the team), the question
    marked answered with its first response time, ``message.created`` and
    ``question.updated`` appended.
    """
    role = chat_answerer_require(show=show, actor=actor)
    text = chat_text_clean(text=text, noun="answer")
    with transaction.atomic():
        question = _question_lock(show=show, question_id=question_id)
        _require_unclaimed(question=question, actor=actor)
        if private and question.author_id is None:
            raise ConflictError("The asker's account is gone; answer publicly.", code="asker_gone")
        answer = ChatMessage(
            show=show,
            author=actor,
            author_role=role.role,
            kind=ChatMessage.Kind.ANSWER,
            text=text,
            visibility=(
                ChatMessage.Visibility.PRIVATE if private else ChatMessage.Visibility.PUBLIC
            ),
            answer_to=question,
            links_clickable=True,
            seq=show_seq_allocate(show_id=show.pk),
        )
        answer.save()
        message_event_append(message=answer)
        _question_answered_mark(question=question, at=answer.created_at)
        _question_updated_append(question=question)
    return answer


def question_resolve(*, actor: User, show: Show, question_id: int) -> ChatMessage:
    """Mark a question of ``show`` answered without a chat answer (said on air, say).

    Preconditions as ``question_claim``. Side effects: the question is answered,
    its first response time recorded if it had none, ``question.updated``
    appended.
    """
    chat_answerer_require(show=show, actor=actor)
    with transaction.atomic():
        question = _question_lock(show=show, question_id=question_id)
        if question.question_status == ChatMessage.QuestionStatus.ANSWERED:
            raise ConflictError("This question is answered already.", code="already_answered")
        _require_unclaimed(question=question, actor=actor)
        _question_answered_mark(question=question, at=timezone.now())
        _question_updated_append(question=question)
    return question
