"""Middleware of the whole site."""

from collections.abc import Callable

from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse


class AsgiRequestConnectionsCloseMiddleware:
    """Close the database connections an HTTP request opened under ASGI when it ends.

    Under ASGI, Django runs each request's synchronous code in a thread of its own,
    so a persistent connection (``CONN_MAX_AGE``) opened there is never used again:
    it stayed open until garbage collection, and 40 requests left 40 idle
    connections to PostgreSQL. The show channel's database thread lives as long as
    the process and keeps its connection; it runs no middleware. Under WSGI (and the
    test client) threads are reused, so nothing is closed there.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            if isinstance(request, ASGIRequest):
                for connection in connections.all(initialized_only=True):
                    connection.close()
