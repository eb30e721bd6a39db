"""One-time tickets for opening a socket (``?ticket=``) where no header can carry a token."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing

from liveshop.accounts.models import User
from liveshop.common.cache import cache_value_add

_TICKET_SALT = "liveshop.realtime.ticket"
TICKET_MAX_LENGTH = 200


def realtime_ticket_create(*, user: User) -> str:
    """A one-time websocket ticket for ``user``, valid ``LIVESHOP_WS_TICKET_SECONDS``.

    The ticket is signed with the secret key (the user id, a random nonce and the
    time), so redeeming it needs no shared store: tickets work while Redis is down.
    Writes nothing.
    """
    return signing.dumps([user.pk, secrets.token_urlsafe(12)], salt=_TICKET_SALT)


def realtime_ticket_redeem(*, ticket: str) -> int | None:
    """The user id of ``ticket`` if it is genuine, fresh and not used yet; a ticket redeems once.

    Side effect: marks the ticket's nonce used in the cache until the ticket
    expires. The cache's atomic ``add`` decides which of two concurrent uses wins;
    while Redis is down that is decided per process.
    """
    if not ticket or len(ticket) > TICKET_MAX_LENGTH:
        return None
    lifetime = settings.LIVESHOP_WS_TICKET_SECONDS
    try:
        user_id, nonce = signing.loads(ticket, salt=_TICKET_SALT, max_age=lifetime)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if type(user_id) is not int or not isinstance(nonce, str):
        return None
    # The key keeps its old prefix: during a rolling deploy old and new processes must
    # see each other's redeemed nonces.
    if not cache_value_add(key=f"chat:ticket:{nonce}", value=user_id, timeout=lifetime + 1):
        return None
    return user_id
