"""Who may advise at desks."""

from liveshop.accounts.models import User

# The "users with the service-staff role"; merchandisers and admins run the desks and
# may step in.
ADVISOR_ROLES = frozenset({User.Role.SERVICE_STAFF, User.Role.MERCHANDISER, User.Role.ADMIN})


def user_may_advise(*, user: User) -> bool:
    """Whether ``user``'s site-wide role lets them be a desk's advisor."""
    return user.is_active and (user.is_superuser or user.role in ADVISOR_ROLES)
