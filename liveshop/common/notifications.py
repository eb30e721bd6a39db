"""Outgoing notification hook: POSTs signed JSON to the configured URL."""

import logging
import uuid

import httpx
import orjson
from django.conf import settings

from liveshop.common.webhooks import webhook_headers_build

logger = logging.getLogger(__name__)


def notification_hook_post(
    *, event_type: str, data: dict, idempotency_key: str | None = None
) -> bool:
    """Send one notification to ``LIVESHOP_NOTIFICATION_WEBHOOK_URL``.

    Returns False when no hook is configured. Raises ``httpx.HTTPError`` on a
    network error or a non-2xx answer so the calling task can retry; the
    ``webhook-id`` stays the same across retries so the receiver can dedupe.
    """
    url = settings.LIVESHOP_NOTIFICATION_WEBHOOK_URL
    if not url:
        return False
    webhook_id = idempotency_key or f"msg_{uuid.uuid4().hex}"
    body = orjson.dumps({"type": event_type, "data": data})
    headers = webhook_headers_build(
        secret=settings.LIVESHOP_NOTIFICATION_WEBHOOK_SECRET, webhook_id=webhook_id, body=body
    )
    headers["content-type"] = "application/json"
    response = httpx.post(url, content=body, headers=headers, timeout=10)
    response.raise_for_status()
    logger.info("notification.sent", extra={"event_type": event_type, "webhook_id": webhook_id})
    return True
