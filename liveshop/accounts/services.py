import uuid

from django.contrib.auth import authenticate
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from rest_framework.authtoken.models import Token

from liveshop.accounts.models import User
from liveshop.accounts.selectors import _token_stamp_key
from liveshop.common.cache import cache_value_set
from liveshop.common.exceptions import ApplicationError

MERCHANDISER_GROUP_NAME = "Merchandisers"
# What a merchandiser may touch in the admin: the catalog, the show schedule and the desks.
MERCHANDISER_PERMISSION_APPS = ("catalog", "shows", "consultations")
# Picking a show's host, moderators and staff in the admin searches accounts,
# which Django allows only to those who may view them. A premiere's planned pins
# are edited inline on the show (video.admin).
MERCHANDISER_EXTRA_PERMISSIONS = (
    ("accounts", "view_user"),
    *(("video", f"{action}_plannedpin") for action in ("add", "change", "delete", "view")),
)


def merchandiser_group_ensure() -> Group:
    """Create or refresh the admin group that merchandisers belong to.

    Idempotent: running it again only adds permissions created since.
    """
    group, _ = Group.objects.get_or_create(name=MERCHANDISER_GROUP_NAME)
    extra = Q()
    for app_label, codename in MERCHANDISER_EXTRA_PERMISSIONS:
        extra |= Q(content_type__app_label=app_label, codename=codename)
    permissions = Permission.objects.filter(
        Q(content_type__app_label__in=MERCHANDISER_PERMISSION_APPS) | extra
    )
    group.permissions.add(*permissions)
    return group


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    role: str = User.Role.VIEWER,
    email: str = "",
    display_name: str = "",
) -> User:
    """Create an account with a site-wide role.

    Merchandisers get admin access (``is_staff``) limited to the catalog and
    shows; admins are superusers. ``password=None`` makes an account that can
    only log in once a password is set.
    """
    if role not in User.Role.values:
        raise ApplicationError(f"Unknown role {role!r}.", code="invalid_role")
    user = User(username=username, email=email, display_name=display_name, role=role)
    user.is_staff = role in {User.Role.MERCHANDISER, User.Role.ADMIN}
    user.is_superuser = role == User.Role.ADMIN
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    if role == User.Role.MERCHANDISER:
        user.groups.add(merchandiser_group_ensure())
    return user


def auth_token_create(*, username: str, password: str) -> Token:
    """Return the account's API token, creating it on first use.

    One token per account; it stays valid until revoked with
    ``auth_token_revoke``.
    """
    user = authenticate(username=username, password=password)
    if user is None:
        raise ApplicationError(
            "Unknown username or wrong password.", code="invalid_credentials", status_code=401
        )
    token, _ = Token.objects.get_or_create(user=user)
    return token


def auth_token_revoke(*, user: User) -> bool:
    """Delete the account's API token; every app using it is signed out.

    Side effect: after commit the account's token stamp (``auth_token_stamp``)
    changes, so show sockets opened with the token refuse their next write.
    """
    with transaction.atomic():
        deleted, _ = Token.objects.filter(user=user).delete()
        # No expiry: a socket may stay open for as long as a show lasts, and more.
        transaction.on_commit(
            lambda: cache_value_set(
                key=_token_stamp_key(user.pk), value=uuid.uuid4().hex, timeout=None
            )
        )
    return deleted > 0
