"""Domain errors raised by services and mapped to one error shape by every adapter."""

from typing import Any


class ApplicationError(Exception):
    """A refusal a client can act on: it carries a stable ``code`` and an HTTP status.

    Services raise it (or a subclass) before changing anything; the REST
    exception handler turns it into ``{"detail", "code"}`` and websocket
    consumers into an ``error`` frame.
    """

    status_code = 400
    default_code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra or {}


class NotFoundError(ApplicationError):
    status_code = 404
    default_code = "not_found"


class PermissionDeniedError(ApplicationError):
    status_code = 403
    default_code = "permission_denied"


class ConflictError(ApplicationError):
    """The request is valid but the object's current state forbids it."""

    status_code = 409
    default_code = "conflict"
