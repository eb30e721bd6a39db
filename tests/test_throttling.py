"""Throttles: password guesses on every sign-in endpoint, and REST writes.

The counters live in the default cache, which tests/conftest.py clears around
every test, so each test starts from zero.
"""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from liveshop.accounts.services import user_create
from tests.conftest import client_for

LOGIN_URL = "/api/v1/auth/token"


@pytest.fixture
def mia(db):
    return user_create(username="mia", password="a long pass phrase", role="merchandiser")


def _token_post(*, username: str, password: str, address: str = "203.0.113.7"):
    return APIClient().post(
        LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=address
    )


def _throttled(response) -> None:
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "throttled"
    assert body["detail"].startswith("Request was throttled.")
    assert body["retry_after"] == int(response["Retry-After"])
    assert 1 <= body["retry_after"] <= 60


def test_token_guesses_for_one_username_are_throttled_from_every_address(mia):
    # Given five wrong passwords for mia, each from another address
    for number in range(5):
        response = _token_post(username="mia", password="guess", address=f"198.51.100.{number}")
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"

    # When the sixth try, even with the right password and from a new address, comes in
    response = _token_post(username="MIA", password="a long pass phrase", address="192.0.2.1")

    # Then it is refused and no token is made
    _throttled(response)
    assert Token.objects.count() == 0
    # Another username from that address still gets in
    user_create(username="noah", password="another pass phrase", role="viewer")
    ok = _token_post(username="noah", password="another pass phrase", address="192.0.2.1")
    assert ok.status_code == 200


def test_token_guesses_from_one_address_are_throttled_across_usernames(mia):
    # Given ten tries from one address, each for another name
    for number in range(10):
        assert _token_post(username=f"user{number}", password="guess").status_code == 401

    # When the eleventh comes, for mia with her password
    response = _token_post(username="mia", password="a long pass phrase")

    # Then the address is refused
    _throttled(response)
    assert Token.objects.count() == 0


def test_rest_writes_are_throttled_per_user_and_reads_are_not(monkeypatch, viewer):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "write", "2/minute")
    client = client_for(viewer)
    for _ in range(2):
        assert client.post("/api/v1/realtime/tickets").status_code == 201

    refused = client.post("/api/v1/realtime/tickets")

    _throttled(refused)
    assert client.get("/api/v1/me").status_code == 200
    # Another user has a count of their own
    other = client_for(user_create(username="ola", password=None, role="viewer"))
    assert other.post("/api/v1/realtime/tickets").status_code == 201


def test_the_login_page_refuses_guesses_past_the_username_rate(mia):
    client = Client()
    for _ in range(5):
        response = client.post("/login/", {"username": "mia", "password": "guess"})
        assert response.status_code == 200
        assert b"did not match" in response.content

    response = client.post("/login/", {"username": "mia", "password": "a long pass phrase"})

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert b"Too many sign-in attempts. Try again in" in response.content
    assert "_auth_user_id" not in client.session


def test_the_admin_login_refuses_guesses_past_the_username_rate(mia):
    client = Client()
    for _ in range(5):
        response = client.post("/admin/login/", {"username": "mia", "password": "guess"})
        assert response.status_code == 200

    response = client.post("/admin/login/", {"username": "mia", "password": "a long pass phrase"})

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.content.startswith(b"Too many sign-in attempts. Try again in")
    assert "_auth_user_id" not in client.session


def test_while_the_redis_cache_is_unreachable_writes_are_throttled_in_the_process(
    monkeypatch, settings, viewer
):
    from liveshop.common import cache as cache_module
    from tests.servers import free_port

    settings.CACHES = {
        "default": {
            "BACKEND": "liveshop.common.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    monkeypatch.setattr(cache_module, "_local", cache_module.LocMemCache("redis-down-test", {}))
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "write", "2/minute")
    client = client_for(viewer)

    assert [client.post("/api/v1/realtime/tickets").status_code for _ in range(2)] == [201, 201]
    _throttled(client.post("/api/v1/realtime/tickets"))
