"""Who is on a show socket: bearer subprotocol, one-time ticket, or session + Origin.

The middleware never refuses by itself: it records ``scope["auth_error"]`` and the
consumer accepts, then closes with the documented code (a refusal before the
handshake reaches clients only as an anonymous 403/1006).
"""

from __future__ import annotations

import types
from importlib import import_module
from urllib.parse import parse_qs, urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host
from rest_framework.authtoken.models import Token

from chat.services import realtime_ticket_redeem
from liveshop.accounts.models import User

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
def _user_from_token(key: str) -> User | None:
    if _credential_malformed(key):
        return None
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


@database_sync_to_async
def _user_from_ticket(ticket: str) -> User | None:
    user_id = realtime_ticket_redeem(ticket=ticket)
    if user_id is None:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


@database_sync_to_async
def _user_from_session(session_key: str):
    if _credential_malformed(session_key):
        return AnonymousUser()
    engine = import_module(settings.SESSION_ENGINE)
    request = types.SimpleNamespace(session=engine.SessionStore(session_key))
    return get_user(request)


def _session_key(scope: dict) -> str | None:
    cookies = _header(scope, b"cookie")
    if not cookies:
        return None
    for part in cookies.split(";"):
        name, _, value = part.strip().partition("=")
        if name == settings.SESSION_COOKIE_NAME:
            return value or None
    return None


async def socket_identify(scope: dict) -> tuple[object, str | None, str | None]:
    """(user, auth error, subprotocol to echo) for a websocket handshake."""
    offered = list(scope.get("subprotocols") or [])
    echo = PROTOCOL if PROTOCOL in offered else None
    origin = _header(scope, b"origin")
    if origin is not None and not origin_allowed(origin):
        return AnonymousUser(), "origin_not_allowed", echo
    bearer = next((item for item in offered if item.startswith(BEARER_PREFIX)), None)
    if bearer is not None:
        user = await _user_from_token(bearer[len(BEARER_PREFIX) :])
        return (user, None, echo) if user else (AnonymousUser(), "unauthenticated", echo)
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if "ticket" in query:
        user = await _user_from_ticket(query["ticket"][0])
        return (user, None, echo) if user else (AnonymousUser(), "unauthenticated", echo)
    session_key = _session_key(scope)
    if origin is not None and session_key:
        # Cookies count only with an allow-listed Origin: that is what stops another
        # site's page from riding on a signed-in viewer's session.
        return await _user_from_session(session_key), None, echo
    return AnonymousUser(), None, echo


class ShowSocketAuthMiddleware:
    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        user, error, echo = await socket_identify(scope)
        scope = dict(scope, user=user, auth_error=error, liveshop_subprotocol=echo)
        return await self.inner(scope, receive, send)
