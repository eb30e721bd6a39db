"""The snapshot's ``me``: what the studio reads to decide what it offers."""

import pytest
from django.contrib.auth.models import AnonymousUser

from liveshop.accounts.models import User
from shows.models import ShowMember
from tests import factories
from tests.sockets import show_snapshot

pytestmark = pytest.mark.django_db


def _me(show, user) -> dict:
    snapshot = show_snapshot(show, user)
    me = snapshot["me"]
    return {key: me[key] for key in ("role", "is_team", "can_moderate", "can_answer")}


@pytest.mark.parametrize(
    ("show_roles", "user_role", "expected"),
    [
        ([ShowMember.Role.HOST], User.Role.HOST, ("host", True, True, True)),
        ([ShowMember.Role.MODERATOR], User.Role.MODERATOR, ("moderator", True, True, True)),
        (
            [ShowMember.Role.SERVICE_STAFF],
            User.Role.SERVICE_STAFF,
            ("service_staff", True, False, True),
        ),
        (
            [ShowMember.Role.SERVICE_STAFF, ShowMember.Role.HOST],
            User.Role.HOST,
            ("host", True, True, True),
        ),
        ([], User.Role.MERCHANDISER, ("moderator", True, True, True)),
        ([], User.Role.VIEWER, ("viewer", False, False, False)),
    ],
)
def test_me_says_the_users_role_in_the_show_and_what_it_may_do(show_roles, user_role, expected):
    show = factories.ShowFactory()
    user = factories.UserFactory(role=user_role)
    for show_role in show_roles:
        factories.ShowMemberFactory(show=show, user=user, role=show_role)

    assert _me(show, user) == dict(
        zip(("role", "is_team", "can_moderate", "can_answer"), expected, strict=True)
    )


def test_a_moderator_of_another_show_is_a_viewer_here():
    show = factories.ShowFactory()
    other = factories.ShowMemberFactory(role=ShowMember.Role.MODERATOR)

    assert _me(show, other.user) == {
        "role": "viewer",
        "is_team": False,
        "can_moderate": False,
        "can_answer": False,
    }
    assert _me(show, AnonymousUser())["role"] == "viewer"
