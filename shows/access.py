"""A user's role in a show, and permission-checked fetches of shows for the adapters.

The role rule is written once here: ``show_role_from`` in Python, ``member_q`` for
querysets; chat, video and the show's own reads build on them.

A show ``user`` may not see answers 404 exactly like a show that does not
exist, so test shows and drafts do not leak through their public ids. A show
``user`` may see but not act on answers 403.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from django.db.models import Q

from liveshop.accounts.models import User
from liveshop.accounts.types import Viewer
from liveshop.common.exceptions import NotFoundError, PermissionDeniedError

# A module import, not ``from shows.selectors import ...``: shows.selectors builds its
# annotations with ``member_q`` from here, so each module is imported while the other
# is still half-initialised.
from shows import selectors as show_selectors
from shows.models import Show, ShowMember

if TYPE_CHECKING:
    from shows.selectors import ViewedShow

TEAM_ROLES = (ShowMember.Role.HOST, ShowMember.Role.MODERATOR, ShowMember.Role.SERVICE_STAFF)
MODERATOR_ROLES = (ShowMember.Role.HOST, ShowMember.Role.MODERATOR)


# What a user is in a show: one of its member roles, or a viewer.
ShowRoleName = ShowMember.Role | Literal["viewer"]


@dataclasses.dataclass(frozen=True)
class ShowChatRole:
    """A user's standing in one show: its team, who may moderate, who may answer."""

    role: ShowRoleName
    is_team: bool
    can_moderate: bool
    can_answer: bool


VIEWER_ROLE = ShowChatRole(role="viewer", is_team=False, can_moderate=False, can_answer=False)


def member_q(*, user: User, roles: Iterable[str] = TEAM_ROLES) -> Q:
    """The ``ShowMember`` rows that make ``user`` one of ``roles`` of a show.

    Merchandisers are not members: callers that let them act add that rule
    themselves, as ``show_role_from`` does.
    """
    return Q(user=user, role__in=tuple(roles))


def show_role_from(roles: Iterable[str], *, user: Viewer | None) -> ShowChatRole:
    """The role of ``user`` given its memberships ``roles`` in one show.

    Merchandisers and admins act as moderators of every show; anonymous users
    are viewers.
    """
    if not isinstance(user, User) or not user.is_authenticated:
        return VIEWER_ROLE
    held = set(roles)
    if user.is_merchandiser:
        held.add(ShowMember.Role.MODERATOR)
    if not held:
        return VIEWER_ROLE
    primary = next(
        role for role in (*MODERATOR_ROLES, ShowMember.Role.SERVICE_STAFF) if role in held
    )
    return ShowChatRole(
        role=primary,
        is_team=True,
        can_moderate=bool(held & set(MODERATOR_ROLES)),
        can_answer=bool(held & set(TEAM_ROLES)),
    )


def show_chat_role(*, show_id: int, user: Viewer | None) -> ShowChatRole:
    """What ``user`` is in this show; one query for a signed-in user, none otherwise."""
    if not isinstance(user, User) or not user.is_authenticated:
        return VIEWER_ROLE
    roles = ShowMember.objects.filter(member_q(user=user), show_id=show_id).values_list(
        "role", flat=True
    )
    return show_role_from(roles, user=user)


def show_is_team(*, show: ViewedShow, user: Viewer) -> bool:
    """``show_chat_role(...).is_team`` for a show annotated by ``show_viewer_get``,
    without a query."""
    return bool(show.is_team_member) or (isinstance(user, User) and user.is_merchandiser)


SHOW_NOT_FOUND_MESSAGE = "No show with this id."


class ShowAction(enum.StrEnum):
    """What a user wants to do to a show, for ``show_access_act``."""

    PUBLISH = "publish"
    CANCEL = "cancel"
    GO_LIVE = "go_live"
    END = "end"


# Actions the show's own hosts and moderators may take; every other action is
# for merchandisers only.
_TEAM_ACTIONS = frozenset({ShowAction.GO_LIVE, ShowAction.END})


def show_may_view(*, show: ViewedShow, user: Viewer) -> bool:
    """Whether ``user`` may open ``show``, annotated by ``show_viewer_get``.

    Drafts and test shows are for their team and merchandisers; private shows
    are open to anyone with the link.
    """
    if show_is_team(show=show, user=user):
        return True
    return not show.is_test and show.status != Show.Status.DRAFT


def show_access_view(*, user: Viewer, public_id: str) -> ViewedShow:
    """The show at ``public_id`` if ``user`` may see it, else ``NotFoundError``.

    The show comes annotated with ``is_reminded``, ``is_team_member`` and
    ``is_host_or_moderator`` for ``user`` and with its channel; one query.
    """
    show = show_selectors.show_viewer_get(public_id=public_id, user=user)
    if show is None or not show_may_view(show=show, user=user):
        raise NotFoundError(SHOW_NOT_FOUND_MESSAGE)
    return show


def show_access_act(*, user: Viewer, public_id: str, action: ShowAction) -> ViewedShow:
    """The show at ``public_id`` if ``user`` may take ``action`` on it.

    Raises ``NotFoundError`` if ``user`` may not even see the show and
    ``PermissionDeniedError`` if they may see it but not act. Publishing and
    cancelling are for merchandisers; going live and ending also for the
    show's hosts and moderators (not its service staff).
    """
    show = show_access_view(user=user, public_id=public_id)
    if user.is_authenticated and user.is_merchandiser:
        return show
    if action in _TEAM_ACTIONS and show.is_host_or_moderator:
        return show
    raise PermissionDeniedError("You may not do this to this show.")
