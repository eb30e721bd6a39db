"""Hostile requests get a 4xx in the API's one error shape, never a 500 or HTML."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_json_nested_too_deep_is_a_parse_error(api_client):
    body = "[" * 100_000 + "]" * 100_000

    response = api_client.post("/api/v1/auth/token", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - the document is nested too deeply.",
        "code": "parse_error",
    }


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_body_over_the_upload_limit_is_413(api_client):
    body = '{"username": "' + "x" * 4096 + '", "password": "p"}'

    response = api_client.post("/api/v1/auth/token", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request body is too large.",
        "code": "request_too_large",
    }


@override_settings(DEBUG=True)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/",
        "/api/v1/nope",
        "/api/v1/channels/",
        "/api/v1/shows/abc%00def",
        "/api/v1/" + "a" * 300,
    ],
)
def test_unknown_api_paths_are_json_even_in_debug_mode(api_client, path):
    response = api_client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize(
    "path", ["/api/v1/shows/nonexistent/calendar.ics", "/api/v1/channels/nope/schedule.ics"]
)
def test_calendar_errors_are_labelled_json_for_calendar_clients(api_client, path):
    response = api_client.get(path, HTTP_ACCEPT="text/calendar")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"
