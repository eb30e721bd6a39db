""" "A sanction in force" has one definition for querysets (``sanction_in_force_q``) and
one for a row in hand (``sanction_in_force``); the chat send's PostgreSQL fast path
writes it once more in SQL. Every reader must pick the same sanctions."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from chat.models import ChatSanction
from chat.selectors import (
    _chat_send_context_portable,
    chat_send_context,
    sanction_active_list,
    sanction_in_force,
    sanctions_active,
)
from liveshop.accounts.models import User
from shows.events import show_room_ensure
from shows.models import Show
from tests import factories

pytestmark = pytest.mark.django_db

BAN, TIMEOUT, SHADOW = ChatSanction.Kind.BAN, ChatSanction.Kind.TIMEOUT, ChatSanction.Kind.SHADOW

# (label, kind, scope, expiry, revoked, in force in the show)
# scope: "channel" (show-less), "show", "other show" (same channel), "other channel".
# expiry: "never", "later", "past".
CASES = [
    ("ban channel-wide", BAN, "channel", "never", False, True),
    ("ban channel-wide for a while", BAN, "channel", "later", False, True),
    ("timeout this show", TIMEOUT, "show", "later", False, True),
    ("timeout other show", TIMEOUT, "other show", "later", False, False),
    ("timeout expired", TIMEOUT, "show", "past", False, False),
    ("ban expired", BAN, "channel", "past", False, False),
    ("ban revoked", BAN, "channel", "never", True, False),
    ("timeout revoked", TIMEOUT, "show", "later", True, False),
    ("shadow", SHADOW, "channel", "never", False, True),
    ("shadow expired", SHADOW, "channel", "past", False, False),
    ("ban of another channel", BAN, "other channel", "never", False, False),
]


@pytest.fixture
def scene():
    channel = factories.ChannelFactory()
    show = factories.ShowFactory(channel=channel, status=Show.Status.LIVE)
    other_show = factories.ShowFactory(channel=channel)
    elsewhere = factories.ShowFactory(channel=factories.ChannelFactory())
    show_room_ensure(show_id=show.pk)
    moderator = factories.UserFactory(role=User.Role.MERCHANDISER)
    return show, other_show, elsewhere, moderator


def _sanction(*, user, kind, scope, expiry, revoked, show, other_show, elsewhere, now):
    scope_show = {"channel": None, "show": show, "other show": other_show}.get(scope)
    channel = elsewhere.channel if scope == "other channel" else show.channel
    expires = {
        "never": None,
        "later": now + dt.timedelta(minutes=10),
        "past": now - dt.timedelta(seconds=1),
    }[expiry]
    return factories.ChatSanctionFactory(
        user=user,
        kind=kind,
        show=scope_show,
        channel=channel,
        expires_at=expires,
        revoked_at=now - dt.timedelta(seconds=5) if revoked else None,
        reason=f"reason {kind}",
    )


def _readers(*, show, user, moderator, mine, now) -> dict[str, list[int]]:
    """The ids each reader finds in force for ``user`` in ``show``, in id order."""
    listed = sanction_active_list(actor=moderator, show=show)
    return {
        "sanctions_active": [
            s.pk for s in sanctions_active(user=user, channel_id=show.channel_id, show_id=show.pk)
        ],
        "sanction_active_list": sorted(s.pk for s in listed if s.user_id == user.pk),
        "sanction_in_force": sorted(
            s.pk
            for s in mine
            if sanction_in_force(s, channel_id=show.channel_id, show_id=show.pk, now=now)
        ),
        "send context (portable)": [
            s.pk for s in _chat_send_context_portable(show_id=show.pk, user=user).sanctions
        ],
        "send context": [s.pk for s in chat_send_context(show_id=show.pk, user=user).sanctions],
    }


def _check(scene, cases) -> None:
    show, other_show, elsewhere, moderator = scene
    now = timezone.now()
    for label, kind, scope, expiry, revoked, expected in cases:
        user = factories.UserFactory()
        sanction = _sanction(
            user=user,
            kind=kind,
            scope=scope,
            expiry=expiry,
            revoked=revoked,
            show=show,
            other_show=other_show,
            elsewhere=elsewhere,
            now=now,
        )
        found = _readers(show=show, user=user, moderator=moderator, mine=[sanction], now=now)
        want = [sanction.pk] if expected else []
        assert found == dict.fromkeys(found, want), label
    # All at once, for one user: each reader picks the same set, in the same order.
    user = factories.UserFactory()
    mine = [
        _sanction(
            user=user,
            kind=kind,
            scope=scope,
            expiry=expiry,
            revoked=revoked,
            show=show,
            other_show=other_show,
            elsewhere=elsewhere,
            now=now,
        )
        for _, kind, scope, expiry, revoked, _ in cases
    ]
    want = [s.pk for s, case in zip(mine, cases, strict=True) if case[-1]]
    found = _readers(show=show, user=user, moderator=moderator, mine=mine, now=now)
    assert found == dict.fromkeys(found, want)


def test_every_reader_of_sanctions_agrees(scene):
    """On either engine (on SQLite the send context is the portable one)."""
    _check(scene, CASES)


@pytest.mark.postgres
def test_fast_path_and_orm_agree(scene):
    """The chat send's SQL picks the same sanctions as the ORM rule, with the same fields."""
    assert connection.vendor == "postgresql"
    _check(scene, CASES)
    show = scene[0]
    user = factories.UserFactory()
    now = timezone.now()
    for _, kind, scope, expiry, revoked, _ in CASES:
        _sanction(
            user=user,
            kind=kind,
            scope=scope,
            expiry=expiry,
            revoked=revoked,
            show=show,
            other_show=scene[1],
            elsewhere=scene[2],
            now=now,
        )
    fields = ("pk", "user_id", "channel_id", "show_id", "kind", "reason", "expires_at")
    fast = chat_send_context(show_id=show.pk, user=user).sanctions
    orm = sanctions_active(user=user, channel_id=show.channel_id, show_id=show.pk)
    assert [[getattr(s, f) for f in fields] for s in fast] == [
        [getattr(s, f) for f in fields] for s in orm
    ]
    assert len(fast) == 4
