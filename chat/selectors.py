"""Reads for the show's chat: the send context, sanctions, what a user may see."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from chat.models import (
    BlockedTerm,
    ChatMessage,
    ChatSanction,
    ChatSettings,
    ModerationAction,
)
from liveshop.accounts.models import User
from liveshop.common.exceptions import PermissionDeniedError
from realtime.wire import iso_utc
from shows.access import MODERATOR_ROLES, ShowChatRole, member_q, show_chat_role, show_role_from
from shows.models import Channel, Show, ShowMember, ShowRoom


@dataclasses.dataclass(frozen=True)
class ChatSendContext:
    """What a new chat message is checked against."""

    status: str
    channel_id: int
    slow_mode_seconds: int
    hold_links: bool
    role: ShowChatRole
    sanctions: list[ChatSanction]
    blocked_terms: list[tuple[str, str]]  # (term, action) of the show's channel


# -- A sanction in force ------------------------------------------------------------
#
# Of the show's channel, show-less (a ban, a shadow-hide) or of this very show (a
# timeout), not revoked, and not expired. ``sanction_in_force_q`` is the rule for
# querysets and ``sanction_in_force`` for a row in hand; the chat send's PostgreSQL
# fast path writes it once more in SQL (``_sanction_in_force_where``), and
# tests/test_chat_rule_sanction_in_force.py holds the three to the same answers.


def sanction_in_force_q(*, channel_id: int, show_id: int | None, now: datetime) -> Q:
    """The ``ChatSanction`` rows in force at ``now`` in show ``show_id`` of ``channel_id``
    (anyone's: callers filter the user)."""
    return (
        Q(channel_id=channel_id, revoked_at__isnull=True)
        & (Q(show__isnull=True) | Q(show_id=show_id))
        & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    )


def sanction_in_force(
    sanction: ChatSanction, *, channel_id: int, show_id: int | None, now: datetime
) -> bool:
    """``sanction_in_force_q`` for one row already read (and, to act on it, locked)."""
    return (
        sanction.channel_id == channel_id
        and sanction.revoked_at is None
        and (sanction.show_id is None or sanction.show_id == show_id)
        and (sanction.expires_at is None or sanction.expires_at > now)
    )


def _sanction_in_force_where(*, alias: str, channel: str) -> str:
    """``sanction_in_force_q`` in SQL, for the chat send's one-round-trip query.

    Parameters: ``%(user)s``, ``%(show)s`` and ``%(now)s``; ``channel`` is the SQL
    of the channel's id (a column of the query).
    """
    return (
        f"{alias}.user_id = %(user)s AND {alias}.channel_id = {channel}"
        f" AND {alias}.revoked_at IS NULL"
        f" AND ({alias}.show_id IS NULL OR {alias}.show_id = %(show)s)"
        f" AND ({alias}.expires_at IS NULL OR {alias}.expires_at > %(now)s)"
    )


def _now_for_sql():
    return connection.ops.adapt_datetimefield_value(timezone.now())


def chat_send_context(*, show_id: int, user: User) -> ChatSendContext | None:
    """The show's chat settings, ``user``'s roles, sanctions in force and the channel's
    blocked terms; None if the show has no room row or no chat settings row yet.

    This runs for every chat message, on the thread that all of a server process's
    database work shares, so on PostgreSQL it is one round trip written in SQL: the
    equivalent ORM querysets spent about 2.5 ms of CPU per message building their SQL
    (docs/benchmarks.md), and every round trip makes the thread wait for the
    interpreter lock again while the event loop fans out. SQLite (the embedded mode)
    has neither arrays nor lateral joins: there it takes three queries.
    ``show_chat_role`` and ``sanctions_active`` are the same rules for other callers
    (tests/test_shows_rule_team_role.py and tests/test_chat_rule_sanction_in_force.py
    compare them with this SQL).
    """
    if connection.vendor != "postgresql":
        return _chat_send_context_portable(show_id=show_id, user=user)
    room, show, member = ShowRoom._meta, Show._meta, ShowMember._meta
    chat = ChatSettings._meta
    in_force = _sanction_in_force_where(alias="x", channel="s.channel_id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.status, s.channel_id, c.slow_mode_seconds, c.hold_links,"
            f" ARRAY(SELECT m.role FROM {member.db_table} m"
            f"   WHERE m.show_id = r.show_id AND m.user_id = %(user)s),"
            f" x.ids, x.kinds, x.reasons, x.expires, x.shows,"
            f" ARRAY(SELECT ARRAY[b.term, b.action] FROM {BlockedTerm._meta.db_table} b"
            f"   WHERE b.channel_id = s.channel_id ORDER BY b.id)"
            f" FROM {room.db_table} r JOIN {show.db_table} s ON s.id = r.show_id"
            f" JOIN {chat.db_table} c ON c.show_id = r.show_id"
            f" CROSS JOIN LATERAL (SELECT array_agg(x.id ORDER BY x.id) ids,"
            f"   array_agg(x.kind ORDER BY x.id) kinds, array_agg(x.reason ORDER BY x.id) reasons,"
            f"   array_agg(x.expires_at ORDER BY x.id) expires,"
            f"   array_agg(x.show_id ORDER BY x.id) shows"
            f"   FROM {ChatSanction._meta.db_table} x WHERE {in_force}) x"
            f" WHERE r.show_id = %(show)s",
            {"user": user.pk, "show": show_id, "now": _now_for_sql()},
        )
        row = cursor.fetchone()
    if row is None:
        return None
    status, channel_id, slow_mode_seconds, hold_links, roles = row[:5]
    ids, kinds, reasons, expires, shows, terms = row[5:]
    sanctions = [
        ChatSanction(
            id=sanction_id,
            user_id=user.pk,
            channel_id=channel_id,
            show_id=sanction_show_id,
            kind=kind,
            reason=reason,
            expires_at=expires_at,
        )
        for sanction_id, kind, reason, expires_at, sanction_show_id in zip(
            ids or (), kinds or (), reasons or (), expires or (), shows or (), strict=True
        )
    ]
    return ChatSendContext(
        status=status,
        channel_id=channel_id,
        slow_mode_seconds=slow_mode_seconds,
        hold_links=bool(hold_links),
        role=show_role_from(roles, user=user),
        sanctions=sanctions,
        blocked_terms=[(term, action) for term, action in terms],
    )


def _chat_send_context_portable(*, show_id: int, user: User) -> ChatSendContext | None:
    room, show, member = ShowRoom._meta, Show._meta, ShowMember._meta
    chat = ChatSettings._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.status, s.channel_id, c.slow_mode_seconds, c.hold_links, m.role"
            f" FROM {room.db_table} r JOIN {show.db_table} s ON s.id = r.show_id"
            f" JOIN {chat.db_table} c ON c.show_id = r.show_id"
            f" LEFT JOIN {member.db_table} m ON m.show_id = r.show_id AND m.user_id = %s"
            f" WHERE r.show_id = %s",
            [user.pk, show_id],
        )
        rows = cursor.fetchall()
        if not rows:
            return None
        status, channel_id, slow_mode_seconds, hold_links, _ = rows[0]
        cursor.execute(
            f"SELECT term, action FROM {BlockedTerm._meta.db_table} WHERE channel_id = %s"
            " ORDER BY id",
            [channel_id],
        )
        terms = cursor.fetchall()
    return ChatSendContext(
        status=status,
        channel_id=channel_id,
        slow_mode_seconds=slow_mode_seconds,
        hold_links=bool(hold_links),
        role=show_role_from((row[4] for row in rows if row[4] is not None), user=user),
        sanctions=sanctions_active(user=user, channel_id=channel_id, show_id=show_id),
        blocked_terms=[(term, action) for term, action in terms],
    )


def sanctions_active(*, user: User, channel_id: int, show_id: int) -> list[ChatSanction]:
    """The sanctions in force now for ``user`` in this show (its own and its channel's),
    by id; one query."""
    return list(
        ChatSanction.objects.filter(
            sanction_in_force_q(channel_id=channel_id, show_id=show_id, now=timezone.now()),
            user_id=user.pk,
        ).order_by("pk")
    )


def sanction_blocking(sanctions: list[ChatSanction]) -> ChatSanction | None:
    """The sanction that stops posting: a ban before a timeout, the longest of each."""
    for kind in (ChatSanction.Kind.BAN, ChatSanction.Kind.TIMEOUT):
        of_kind = [sanction for sanction in sanctions if sanction.kind == kind]
        if of_kind:
            return max(
                of_kind,
                key=lambda sanction: (sanction.expires_at is None, sanction.expires_at),
            )
    return None


def sanction_shadowed(sanctions: list[ChatSanction]) -> bool:
    return any(sanction.kind == ChatSanction.Kind.SHADOW for sanction in sanctions)


def message_payload(message: ChatMessage) -> dict:
    """The message object of the protocol (docs/protocol.md, 3.1)."""
    author = message.author
    return {
        "id": message.pk,
        "seq": message.seq,
        "kind": message.kind,
        "text": message.text,
        "author": (
            None
            if author is None
            else {"id": author.pk, "name": author.username, "role": message.author_role}
        ),
        "reply_to": message.reply_to_id,
        "is_question": message.is_question,
        "question_status": message.question_status,
        "answer_to": message.answer_to_id,
        "visibility": message.visibility,
        "links_clickable": message.links_clickable,
        "created_at": iso_utc(message.created_at),
    }


def messages_visible(
    *, show_id: int, user: User | AnonymousUser | None, is_team: bool
) -> QuerySet[ChatMessage]:
    """Messages of the show that ``user`` may see (removed ones never)."""
    messages = ChatMessage.objects.filter(show_id=show_id, state=ChatMessage.State.VISIBLE)
    if is_team:
        return messages
    rule = Q(visibility=ChatMessage.Visibility.PUBLIC)
    if user is not None and user.is_authenticated:
        rule |= Q(
            visibility__in=[ChatMessage.Visibility.HELD, ChatMessage.Visibility.SHADOW],
            author=user,
        )
        rule |= Q(visibility=ChatMessage.Visibility.PRIVATE, answer_to__author=user)
    return messages.filter(rule)


def chat_settings_get(*, show_id: int) -> ChatSettings:
    """The show's chat settings; the defaults (unsaved) if it has no row yet."""
    found = ChatSettings.objects.filter(show_id=show_id).first()
    return ChatSettings(show_id=show_id) if found is None else found


# -- Moderation and the question queue --------------------------------------------

# Shows of a channel whose hosts and moderators may edit the channel's blocked terms.
BLOCKED_TERM_EDITOR_STATUSES = (Show.Status.DRAFT, Show.Status.SCHEDULED, Show.Status.LIVE)


def chat_moderator_require(*, show: Show, actor: User) -> ShowChatRole:
    """``actor``'s role in ``show`` if it may moderate there, else ``PermissionDeniedError``."""
    role = show_chat_role(show_id=show.pk, user=actor)
    if not role.can_moderate:
        raise PermissionDeniedError("Only the show's hosts and moderators may moderate its chat.")
    return role


def chat_answerer_require(*, show: Show, actor: User) -> ShowChatRole:
    """``actor``'s role in ``show`` if it may work on the question queue, else 403."""
    role = show_chat_role(show_id=show.pk, user=actor)
    if not role.can_answer:
        raise PermissionDeniedError("Only the show's team may work on its question queue.")
    return role


def blocked_term_editor_require(*, channel: Channel, actor: User) -> None:
    """Pass for merchandisers and hosts/moderators of a running or coming show of ``channel``.

    Hosts and moderators of ended or cancelled shows lose the power, so one show
    long ago does not leave a channel-wide power behind.
    """
    if not actor.is_authenticated:
        raise PermissionDeniedError("Sign in to manage blocked terms.")
    if actor.is_merchandiser:
        return
    if ShowMember.objects.filter(
        member_q(user=actor, roles=MODERATOR_ROLES),
        show__channel=channel,
        show__status__in=BLOCKED_TERM_EDITOR_STATUSES,
    ).exists():
        return
    raise PermissionDeniedError(
        "Only merchandisers and the hosts and moderators of this channel's upcoming or "
        "live shows may manage its blocked terms."
    )


def blocked_term_list(*, actor: User, channel: Channel) -> QuerySet[BlockedTerm]:
    """The channel's blocked terms by term, for those who may edit them (else 403)."""
    blocked_term_editor_require(channel=channel, actor=actor)
    return BlockedTerm.objects.filter(channel=channel).order_by("term", "pk")


def message_held_list(*, actor: User, show: Show) -> QuerySet[ChatMessage]:
    """The show's hold queue, oldest first, for its moderators (else 403)."""
    chat_moderator_require(show=show, actor=actor)
    return (
        ChatMessage.objects.filter(
            show=show, visibility=ChatMessage.Visibility.HELD, state=ChatMessage.State.VISIBLE
        )
        .select_related("author")
        .order_by("created_at", "pk")
    )


def question_queue_list(
    *, actor: User, show: Show, status: str = ChatMessage.QuestionStatus.OPEN
) -> QuerySet[ChatMessage]:
    """The show's questions in ``status``, oldest first, for its team (else 403).

    Removed questions and questions still held for review are left out.
    """
    chat_answerer_require(show=show, actor=actor)
    return (
        ChatMessage.objects.filter(
            show=show,
            is_question=True,
            question_status=status,
            state=ChatMessage.State.VISIBLE,
        )
        .exclude(visibility=ChatMessage.Visibility.HELD)
        .select_related("author", "claimed_by")
        .order_by("created_at", "pk")
    )


def sanction_active_list(*, actor: User, show: Show) -> QuerySet[ChatSanction]:
    """Sanctions in force in ``show`` (its timeouts, its channel's bans and shadow-hides)."""
    chat_moderator_require(show=show, actor=actor)
    return (
        ChatSanction.objects.filter(
            sanction_in_force_q(channel_id=show.channel_id, show_id=show.pk, now=timezone.now())
        )
        .select_related("user", "created_by")
        .order_by("created_at", "pk")
    )


def moderation_action_list(*, actor: User, show: Show) -> QuerySet[ModerationAction]:
    """The show's audit log, newest first, for its moderators (else 403).

    Channel-wide actions taken outside any show (blocked terms) are listed too.
    """
    chat_moderator_require(show=show, actor=actor)
    return (
        ModerationAction.objects.filter(
            Q(show=show) | Q(show__isnull=True, channel_id=show.channel_id)
        )
        .select_related("actor", "target_user")
        .order_by("-created_at", "-pk")
    )
