"""A user's role in a show has one definition (``shows.access``); every other place that
computes it (the show's annotations, the chat send's SQL, the ingest check, the
blocked-term check) must give the same answer for the same user."""

import itertools

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from chat.selectors import _chat_send_context_portable, blocked_term_editor_require
from chat.selectors import chat_send_context as chat_send_context_fast
from liveshop.accounts.models import User
from liveshop.common.exceptions import PermissionDeniedError
from shows.access import show_chat_role, show_is_team
from shows.events import show_room_ensure
from shows.models import Show, ShowMember
from shows.selectors import show_viewer_get
from tests import factories
from video.selectors import show_user_is_host

pytestmark = pytest.mark.django_db

MEMBER_ROLES = (ShowMember.Role.HOST, ShowMember.Role.MODERATOR, ShowMember.Role.SERVICE_STAFF)
ACCOUNT_ROLES = (User.Role.VIEWER, User.Role.MERCHANDISER, User.Role.ADMIN)


def _cases(show: Show, other_show: Show) -> list[tuple[str, object]]:
    """(label, user) for every subset of team roles in ``show`` × account kind, members
    of another show with every role, and an anonymous viewer."""
    cases: list[tuple[str, object]] = [("anonymous", AnonymousUser())]
    for account in ACCOUNT_ROLES:
        for size in range(len(MEMBER_ROLES) + 1):
            for roles in itertools.combinations(MEMBER_ROLES, size):
                user = factories.UserFactory(role=account)
                for role in roles:
                    factories.ShowMemberFactory(show=show, user=user, role=role)
                cases.append((f"{account}+{'+'.join(roles) or 'none'}", user))
    elsewhere = factories.UserFactory()
    for role in MEMBER_ROLES:
        factories.ShowMemberFactory(show=other_show, user=elsewhere, role=role)
    cases.append(("member of another show", elsewhere))
    return cases


def _role_tuple(role) -> tuple:
    return (role.role, role.is_team, role.can_moderate, role.can_answer)


def _shows():
    channel = factories.ChannelFactory()
    show = factories.ShowFactory(channel=channel, status=Show.Status.LIVE)
    other_show = factories.ShowFactory(channel=factories.ChannelFactory())
    show_room_ensure(show_id=show.pk)
    return show, other_show


def test_role_and_annotations_agree():
    show, other_show = _shows()
    seen = {}
    for label, user in _cases(show, other_show):
        role = show_chat_role(show_id=show.pk, user=user)
        annotated = show_viewer_get(public_id=show.public_id, user=user)
        merchandiser = user.is_authenticated and user.is_merchandiser
        assert show_is_team(show=annotated, user=user) == role.is_team, label
        assert (annotated.is_host_or_moderator or merchandiser) == role.can_moderate, label
        # The ingest is for hosts and merchandisers (who rank as moderators).
        assert show_user_is_host(show=show, user=user) == (
            role.role == ShowMember.Role.HOST or merchandiser
        ), label
        try:
            blocked_term_editor_require(channel=show.channel, actor=user)
            may_edit_terms = True
        except PermissionDeniedError:
            may_edit_terms = False
        assert may_edit_terms == role.can_moderate, label
        if user.is_authenticated:
            portable = _chat_send_context_portable(show_id=show.pk, user=user)
            assert _role_tuple(portable.role) == _role_tuple(role), label
        seen[label] = _role_tuple(role)
    assert seen["anonymous"] == ("viewer", False, False, False)
    assert seen["member of another show"] == ("viewer", False, False, False)
    assert seen["viewer+none"] == ("viewer", False, False, False)
    assert seen["viewer+service_staff"] == ("service_staff", True, False, True)
    assert seen["viewer+moderator+service_staff"] == ("moderator", True, True, True)
    assert seen["viewer+host+moderator+service_staff"] == ("host", True, True, True)
    assert seen["merchandiser+none"] == ("moderator", True, True, True)
    assert seen["admin+none"] == ("moderator", True, True, True)
    assert seen["admin+service_staff"] == ("moderator", True, True, True)
    assert seen["merchandiser+host"] == ("host", True, True, True)


@pytest.mark.postgres
def test_chat_send_sql_and_role_agree():
    """The chat send's one-round-trip SQL computes roles from its own array of
    memberships: it must agree with ``show_chat_role`` for every case."""
    assert connection.vendor == "postgresql"
    show, other_show = _shows()
    compared = 0
    for label, user in _cases(show, other_show):
        if not user.is_authenticated:
            continue
        fast = chat_send_context_fast(show_id=show.pk, user=user)
        expected = show_chat_role(show_id=show.pk, user=user)
        assert _role_tuple(fast.role) == _role_tuple(expected), label
        portable = _chat_send_context_portable(show_id=show.pk, user=user)
        assert _role_tuple(portable.role) == _role_tuple(expected), label
        compared += 1
    assert compared == 3 * 8 + 1
