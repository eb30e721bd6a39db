"""The REST API answers every error in one shape: {"detail", "code"}."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_unknown_api_path_is_json_not_found(api_client):
    response = api_client.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_unknown_api_path_with_an_encoded_newline_is_json_not_found(settings, api_client):
    settings.DEBUG = True  # as `make run` serves: Django's HTML 404 page otherwise

    response = api_client.delete("/api/v1/shows/x/sanctions/a%0Ab")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_token_create_with_wrong_password_is_refused(api_client, user_factory):
    user_factory(username="ada")

    response = api_client.post(
        "/api/v1/auth/token", {"username": "ada", "password": "nope"}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Unknown username or wrong password.",
        "code": "invalid_credentials",
    }


def test_token_create_with_missing_fields_names_each_field(api_client):
    response = api_client.post("/api/v1/auth/token", {}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Some fields are invalid.",
        "code": "required",
        "fields": {
            "username": ["This field is required."],
            "password": ["This field is required."],
        },
    }


def test_token_lifecycle_get_use_and_revoke(api_client, user_factory):
    user_factory(username="ada")
    response = api_client.post(
        "/api/v1/auth/token",
        {"username": "ada", "password": "correct horse battery staple"},
        format="json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert api_client.get("/api/v1/me").json()["username"] == "ada"
    assert api_client.delete("/api/v1/auth/token/revoke").status_code == 204

    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token.", "code": "authentication_failed"}


def test_me_needs_authentication(api_client):
    response = api_client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


def test_openapi_schema_is_served(api_client):
    response = api_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert response.json()["info"]["title"] == "liveshop API"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/v1/shows/abc/pins/99999999999999999999"),
        ("delete", "/api/v1/shows/abc/pins/abc"),
        ("delete", "/api/v1/shows/abc/pins/-1"),
        ("post", "/api/v1/webhooks/storefronts/no%00pe/orders"),
        ("put", "/api/v1/no-such-thing"),
        ("patch", "/api/v1/no-such-thing"),
    ],
)
def test_unknown_api_paths_answer_json_even_with_csrf_checks(method, path):
    client = Client(enforce_csrf_checks=True)

    response = getattr(client, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
