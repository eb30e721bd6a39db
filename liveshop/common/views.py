"""JSON answers for API paths that never reach a DRF view."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found, server_error


# Exempt: it answers 404 to every method, and a CSRF refusal first would be an
# HTML page on an API path.
@csrf_exempt
def api_not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Catch-all for unknown API paths, so they answer JSON even with DEBUG on."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "The request was refused as malformed.", "code": "bad_request"}, status=400
        )
    return django_bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)


def server_failure(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "detail": "The server failed to answer; the error was logged.",
                "code": "server_error",
            },
            status=500,
        )
    return server_error(request)
