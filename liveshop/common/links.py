"""Absolute links to liveshop pages, for what leaves the site: emails, calendars, webhooks."""

from django.conf import settings


def public_url(*, path: str) -> str:
    """``path`` (starting with ``/``) under ``LIVESHOP_PUBLIC_BASE_URL``.

    Built from the configured base, never from a request: notices are sent by
    workers that have none, and a request's Host header is the client's to choose.
    """
    return f"{settings.PUBLIC_BASE_URL}{path}"
