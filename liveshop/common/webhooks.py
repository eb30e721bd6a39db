"""Standard Webhooks signing (https://www.standardwebhooks.com/), through ``standardwebhooks``.

A secret is ``whsec_<base64 of the key bytes>``; a message is signed as
``base64(HMAC-SHA256(key bytes, f"{id}.{timestamp}.{body}"))`` and sent with the
headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature:
v1,<signature>``. The official library computes the signature, so a receiver
using it (or any Standard Webhooks library) with the same ``whsec_`` secret
verifies liveshop's notifications, and liveshop verifies the shops' webhooks
signed by it. The same scheme verifies incoming shop webhooks and signs
outgoing notifications.
"""

import base64
import binascii
import datetime as dt
import hmac
import secrets
import time

from django.core.exceptions import ValidationError
from standardwebhooks import Webhook

from liveshop.common.exceptions import ApplicationError

SECRET_PREFIX = "whsec_"
# Standard Webhooks asks for 24 to 64 bytes; fewer than 16 is refused outright.
SECRET_MIN_BYTES = 16


class WebhookSignatureError(ApplicationError):
    status_code = 401
    default_code = "invalid_signature"


def webhook_secret_generate() -> str:
    """A new secret in the standard form: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_secret_from_legacy(legacy: str) -> str:
    """The ``whsec_`` form of a secret that was used as a plain string key.

    liveshop used to take the UTF-8 bytes of the string itself as the HMAC key;
    ``whsec_`` + base64 of those bytes decodes to the very same key, so
    signatures made with the old string keep verifying.
    """
    return SECRET_PREFIX + base64.b64encode(legacy.encode()).decode()


def webhook_secret_validate(value: str) -> None:
    """Django validator: ``whsec_`` and standard base64 of at least 16 bytes."""
    if not value.startswith(SECRET_PREFIX):
        raise ValidationError(
            f"A webhook secret starts with {SECRET_PREFIX!r} (Standard Webhooks).", code="invalid"
        )
    try:
        key = base64.b64decode(value[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValidationError(
            "After whsec_ a webhook secret is standard base64.", code="invalid"
        ) from error
    if len(key) < SECRET_MIN_BYTES:
        raise ValidationError(
            f"A webhook secret holds at least {SECRET_MIN_BYTES} bytes.", code="invalid"
        )


def _webhook(secret: str) -> Webhook:
    if secret.startswith(SECRET_PREFIX):
        return Webhook(secret)
    # A secret configured before the whsec_ form (LIVESHOP_NOTIFICATION_WEBHOOK_SECRET):
    # its bytes stay the key, the same key as webhook_secret_from_legacy(secret).
    return Webhook(secret.encode())


def webhook_signature_compute(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return _webhook(secret).sign(msg_id=webhook_id, timestamp=moment, data=body)


def webhook_headers_build(
    *, secret: str, webhook_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature_compute(
            secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body
        ),
    }


def webhook_timestamp_parse(
    *, timestamp: str, tolerance_seconds: int, now: float | None, label: str
) -> int:
    """The signed Unix ``timestamp``; ``WebhookSignatureError`` if bad or too far from now.

    Refusing old timestamps means a captured delivery cannot be replayed later.
    """
    try:
        sent_at = int(timestamp)
    except ValueError as error:
        raise WebhookSignatureError(f"{label} must be Unix seconds.") from error
    now = time.time() if now is None else now
    if abs(now - sent_at) > tolerance_seconds:
        raise WebhookSignatureError(
            f"{label} is too far from the current time.", code="stale_timestamp"
        )
    return sent_at


def webhook_signature_verify(
    *,
    secret: str,
    webhook_id: str,
    timestamp: str,
    signature_header: str,
    body: bytes,
    tolerance_seconds: int,
    now: float | None = None,
) -> None:
    """Raise ``WebhookSignatureError`` unless one of the header's signatures matches.

    Timestamps further than ``tolerance_seconds`` from now are refused, so a
    captured delivery cannot be replayed later. The timestamp is checked here
    rather than by ``Webhook.verify``, whose window is fixed at five minutes;
    the signature is the library's.
    """
    if not webhook_id or not timestamp or not signature_header:
        raise WebhookSignatureError(
            "Missing webhook-id, webhook-timestamp or webhook-signature header.",
            code="missing_signature",
        )
    sent_at = webhook_timestamp_parse(
        timestamp=timestamp, tolerance_seconds=tolerance_seconds, now=now, label="webhook-timestamp"
    )
    expected = webhook_signature_compute(
        secret=secret, webhook_id=webhook_id, timestamp=sent_at, body=body
    )
    for candidate in signature_header.split():
        if hmac.compare_digest(candidate, expected):
            return
    raise WebhookSignatureError("The webhook signature does not match.")
