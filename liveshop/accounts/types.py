"""Types for who is asking: the user of a request, signed in or not.

`request.user` is typed by the stubs as `User | AnonymousUser`. Views behind `IsAuthenticated`
(and admin views, which Django's admin site only serves to signed-in staff) know more than the
stubs do; these names say so once, here, instead of a `cast` in every view.
"""

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from liveshop.accounts.models import User

# Whoever reads something that anyone may read: selectors and services that serve anonymous
# viewers too take a Viewer, not a User.
Viewer: TypeAlias = User | AnonymousUser


class AuthenticatedRequest(Request):
    """Annotation for the request of a view behind `IsAuthenticated`; never instantiated.

    The permission class has refused anonymous users before the view runs, so `user` is a User.
    """

    user: User


class AdminRequest(HttpRequest):
    """Annotation for the request of an admin view; never instantiated."""

    user: User


def request_user(request: Request) -> User:
    """The signed-in user of a view that checks authentication itself.

    Raises NotAuthenticated (401 through the REST error handler) for an anonymous request.
    """
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


def admin_user(request: HttpRequest) -> User:
    """The user of an admin request (the admin site only serves signed-in staff)."""
    user = request.user
    if not isinstance(user, User):
        # Unreachable behind the admin site's own login check; a TypeError, not a 401, because
        # reaching it means a view was wired outside the admin.
        raise TypeError("admin_user() called on a request without a signed-in user")
    return user
