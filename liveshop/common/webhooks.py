"""Standard Webhooks signing (https://www.standardwebhooks.com/).

A message is signed as ``base64(HMAC-SHA256(secret, f"{id}.{timestamp}.{body}"))``
and sent with the headers ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature: v1,<signature>``. The same scheme verifies incoming shop
webhooks and signs outgoing notifications.
"""

import base64
import hashlib
import hmac
import time

from liveshop.common.exceptions import ApplicationError


class WebhookSignatureError(ApplicationError):
    status_code = 401
    default_code = "invalid_signature"


def webhook_signature_compute(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


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


def webhook_timestamp_check(
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
    captured delivery cannot be replayed later.
    """
    if not webhook_id or not timestamp or not signature_header:
        raise WebhookSignatureError(
            "Missing webhook-id, webhook-timestamp or webhook-signature header.",
            code="missing_signature",
        )
    sent_at = webhook_timestamp_check(
        timestamp=timestamp, tolerance_seconds=tolerance_seconds, now=now, label="webhook-timestamp"
    )
    expected = webhook_signature_compute(
        secret=secret, webhook_id=webhook_id, timestamp=sent_at, body=body
    )
    for candidate in signature_header.split():
        if hmac.compare_digest(candidate, expected):
            return
    raise WebhookSignatureError("The webhook signature does not match.")
