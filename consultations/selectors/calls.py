"""What a participant's browser needs to set up a call: ICE servers and TURN credentials."""

import base64
import datetime as dt
import hashlib
import hmac

from django.conf import settings


def turn_credentials(*, secret: str, name: str, expires: int) -> tuple[str, str]:
    """A TURN username and password that coturn accepts until ``expires`` (Unix time).

    coturn's shared-secret convention (``use-auth-secret``): the username is
    ``<expiry>:<name>`` and the password the base64 of its HMAC-SHA1 under the secret,
    so coturn checks it without knowing anyone and refuses it once expired.
    """
    username = f"{expires}:{name}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(*, name: str, now: dt.datetime) -> list[dict]:
    """``RTCPeerConnection``'s ``iceServers`` for the participant ``name``.

    Empty when no TURN server is configured: peers that reach each other directly still
    connect (host and server-reflexive candidates need no server here). Credentials live
    ``LIVESHOP_TURN_TTL_SECONDS``; clients get new ones with every snapshot.
    """
    urls = settings.LIVESHOP_TURN_URLS
    if not urls or not settings.LIVESHOP_TURN_SECRET:
        return []
    expires = int(now.timestamp()) + settings.LIVESHOP_TURN_TTL_SECONDS
    username, credential = turn_credentials(
        secret=settings.LIVESHOP_TURN_SECRET, name=name, expires=expires
    )
    return [{"urls": list(urls), "username": username, "credential": credential}]
