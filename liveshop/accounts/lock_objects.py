"""Row locks of accounts, in liveshop's one lock order (docs/architecture.md, "Lock order")."""

from liveshop.accounts.models import User


def user_lock(*, user_id: int) -> User | None:
    """Lock a user row (``FOR NO KEY UPDATE``, that table only); ``None`` if there is none.

    Chat sanctions of one user are serialised on it; in the lock order it comes
    after the show's rows and the catalog's, before the chat's.
    """
    return User.objects.select_for_update(of=("self",), no_key=True).filter(pk=user_id).first()
