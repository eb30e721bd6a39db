"""One error shape for the whole REST API: ``{"detail": str, "code": str}``.

Validation errors add ``fields`` (field name -> list of messages) so forms can
show each message beside its input.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from liveshop.common.exceptions import ApplicationError


def _first_code(detail: Any) -> str:
    if isinstance(detail, exceptions.ErrorDetail):
        return detail.code or "invalid"
    if isinstance(detail, list) and detail:
        return _first_code(detail[0])
    if isinstance(detail, dict) and detail:
        return _first_code(next(iter(detail.values())))
    return "invalid"


def _plain(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _plain(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_plain(value) for value in detail]
    return str(detail)


def validation_error_body(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        fields = _plain(detail)
        non_field = fields.pop("non_field_errors", None)
        message = "; ".join(non_field) if non_field else "Some fields are invalid."
        body: dict[str, Any] = {"detail": message, "code": _first_code(detail)}
        if fields:
            body["fields"] = fields
        return body
    messages = _plain(detail if isinstance(detail, list) else [detail])
    return {"detail": " ".join(messages), "code": _first_code(detail)}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(
            {"detail": exc.message, "code": exc.code, **exc.extra}, status=exc.status_code
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "The request body is too large.", "code": "request_too_large"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response(
            {"detail": "The request was refused as malformed.", "code": "bad_request"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = validation_error_body(exc.detail)
    elif isinstance(exc, exceptions.APIException):
        response.data = {"detail": str(exc.detail), "code": _first_code(exc.detail)}
        # Throttled sets ``wait`` in __init__; the DRF stubs do not declare it.
        wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
        if wait is not None:
            response.data["retry_after"] = int(wait)
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response.data["code"] = response.data.get("code") or "not_authenticated"
    return response
