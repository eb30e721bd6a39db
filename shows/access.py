"""Permission-checked fetches of shows for the REST adapters.

A show ``user`` may not see answers 404 exactly like a show that does not
exist, so test shows and drafts do not leak through their public ids. A show
``user`` may see but not act on answers 403.
"""

from liveshop.accounts.models import User
from liveshop.common.exceptions import NotFoundError, PermissionDeniedError
from shows.models import Show
from shows.selectors import show_viewer_get

SHOW_NOT_FOUND_MESSAGE = "No show with this id."


class ShowAction:
    """What a user wants to do to a show, for ``show_access_act``."""

    PUBLISH = "publish"
    CANCEL = "cancel"
    GO_LIVE = "go_live"
    END = "end"


# Actions the show's own hosts and moderators may take; every other action is
# for merchandisers only.
_TEAM_ACTIONS = frozenset({ShowAction.GO_LIVE, ShowAction.END})


def show_may_view(*, show: Show, user: User) -> bool:
    """Whether ``user`` may open ``show``, annotated by ``show_viewer_get``.

    Drafts and test shows are for their team and merchandisers; private shows
    are open to anyone with the link.
    """
    if user.is_authenticated and user.is_merchandiser:
        return True
    if show.is_team_member:
        return True
    return not show.is_test and show.status != Show.Status.DRAFT


def show_access_view(*, user: User, public_id: str) -> Show:
    """The show at ``public_id`` if ``user`` may see it, else ``NotFoundError``.

    The show comes annotated with ``is_reminded``, ``is_team_member`` and
    ``is_host_or_moderator`` for ``user`` and with its channel; one query.
    """
    show = show_viewer_get(public_id=public_id, user=user)
    if show is None or not show_may_view(show=show, user=user):
        raise NotFoundError(SHOW_NOT_FOUND_MESSAGE)
    return show


def show_access_act(*, user: User, public_id: str, action: str) -> Show:
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
