"""Who is on a socket: bearer subprotocol, one-time ticket, or session + Origin.

The middleware never refuses by itself: it records ``scope["auth_error"]`` and the
consumer accepts, then closes with the documented code (a refusal before the
handshake reaches clients only as an anonymous 403/1006).
"""

from __future__ import annotations

import types
from importlib import import_module
from typing import cast
from urllib.parse import parse_qs, urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.http.request import validate_host
from rest_framework.authtoken.models import Token

from liveshop.accounts.models import User
from liveshop.accounts.selectors import auth_token_stamp
from realtime.tickets import realtime_ticket_redeem

PROTOCOL = "liveshop.v1"
BEARER_PREFIX = "liveshop.bearer."


def origin_allowed(origin: str) -> bool:
    if settings.LIVESHOP_WS_ALLOWED_ORIGINS:
        return origin.rstrip("/") in {
            allowed.rstrip("/") for allowed in settings.LIVESHOP_WS_ALLOWED_ORIGINS
        }
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return False
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    hostname = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return validate_host(hostname, hosts)


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _credential_malformed(value: str) -> bool:
    # PostgreSQL refuses a NUL byte in a query parameter: without this check a
    # forged credential would crash the handshake instead of being refused.
    return "\x00" in value


@database_sync_to_async
def _user_from_token(key: str) -> tuple[User | None, str | None]:
    """The token's user and the account's token stamp, read before the token.

    In that order a revocation either deleted the token before it was read
    (refused now) or changes the stamp after (refused at the next write).
    """
    if _credential_malformed(key):
        return None, None
    user_id = Token.objects.filter(key=key).values_list("user_id", flat=True).first()
    if user_id is None:
        return None, None
    stamp = auth_token_stamp(user_id=user_id)
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None, None
    return token.user, stamp


@database_sync_to_async
def _user_from_ticket(ticket: str) -> User | None:
    user_id = realtime_ticket_redeem(ticket=ticket)
    if user_id is None:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


@database_sync_to_async
def _user_from_session(session_key: str) -> User | AnonymousUser:
    if _credential_malformed(session_key):
        return AnonymousUser()
    engine = import_module(settings.SESSION_ENGINE)
    # get_user reads nothing of the request but its session; a socket has no HttpRequest.
    request = cast(HttpRequest, types.SimpleNamespace(session=engine.SessionStore(session_key)))
    user = get_user(request)
    return user if isinstance(user, User) else AnonymousUser()


def _session_key(scope: dict) -> str | None:
    cookies = _header(scope, b"cookie")
    if not cookies:
        return None
    for part in cookies.split(";"):
        name, _, value = part.strip().partition("=")
        if name == settings.SESSION_COOKIE_NAME:
            return value or None
    return None


# ``token_stamp`` of a socket that was not opened with a token.
NO_TOKEN = object()


async def socket_identify(scope: dict) -> tuple[object, str | None, str | None, object]:
    """(user, auth error, subprotocol to echo, token stamp) for a websocket handshake.

    The token stamp is ``auth_token_stamp`` as it was when a bearer token was
    checked, ``NO_TOKEN`` for the other ways in.
    """
    offered = list(scope.get("subprotocols") or [])
    echo = PROTOCOL if PROTOCOL in offered else None
    origin = _header(scope, b"origin")
    if origin is not None and not origin_allowed(origin):
        return AnonymousUser(), "origin_not_allowed", echo, NO_TOKEN
    bearer = next((item for item in offered if item.startswith(BEARER_PREFIX)), None)
    if bearer is not None:
        user, stamp = await _user_from_token(bearer[len(BEARER_PREFIX) :])
        if user is None:
            return AnonymousUser(), "unauthenticated", echo, NO_TOKEN
        return user, None, echo, stamp
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if "ticket" in query:
        user = await _user_from_ticket(query["ticket"][0])
        if user is None:
            return AnonymousUser(), "unauthenticated", echo, NO_TOKEN
        return user, None, echo, NO_TOKEN
    session_key = _session_key(scope)
    if origin is not None and session_key:
        # Cookies count only with an allow-listed Origin: that is what stops another
        # site's page from riding on a signed-in viewer's session.
        return await _user_from_session(session_key), None, echo, NO_TOKEN
    return AnonymousUser(), None, echo, NO_TOKEN


class SocketAuthMiddleware:
    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        user, error, echo, token_stamp = await socket_identify(scope)
        scope = dict(
            scope,
            user=user,
            auth_error=error,
            liveshop_subprotocol=echo,
            liveshop_token_stamp=token_stamp,
        )
        return await self.inner(scope, receive, send)
