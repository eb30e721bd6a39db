"""Signed incoming stock webhook: verified, deduplicated, all or nothing."""

import json
import threading
import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from catalog.models import IncomingWebhook, Variant
from catalog.services.webhooks import StockUpdate, storefront_stock_webhook_apply
from liveshop.common.webhooks import webhook_headers_build
from tests.factories import StorefrontFactory, VariantFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/storefronts/{slug}/stock"
SECRET = "shop-secret-for-tests"


@pytest.fixture
def shop():
    storefront = StorefrontFactory(slug="hook-shop", webhook_secret=SECRET)
    VariantFactory(product__storefront=storefront, sku="A-1", stock_quantity=10)
    VariantFactory(product__storefront=storefront, sku="B-2", stock_quantity=5)
    return storefront


@pytest.fixture
def client():
    # CSRF checks on, as for a browser: the endpoint must not depend on them.
    return APIClient(enforce_csrf_checks=True)


def _headers(body: bytes, *, webhook_id="msg_1", secret=SECRET, timestamp=None) -> dict:
    headers = webhook_headers_build(
        secret=secret, webhook_id=webhook_id, body=body, timestamp=timestamp
    )
    return {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}


def _post(client, body: bytes, *, slug="hook-shop", headers=None, **kwargs):
    return client.generic(
        "POST",
        URL.format(slug=slug),
        body,
        content_type="application/json",
        **(headers if headers is not None else _headers(body, **kwargs)),
    )


def _stock() -> dict[str, int]:
    return dict(Variant.objects.values_list("sku", "stock_quantity"))


def _body(updates) -> bytes:
    return json.dumps({"updates": updates}).encode()


def test_valid_delivery_sets_and_adjusts_stock(client, shop):
    body = _body([{"sku": "A-1", "quantity": 12}, {"sku": "B-2", "delta": -2}])

    response = _post(client, body)

    assert response.status_code == 200
    assert response.json() == {"status": "applied"}
    assert _stock() == {"A-1": 12, "B-2": 3}
    assert list(IncomingWebhook.objects.values_list("storefront__slug", "webhook_id", "kind")) == [
        ("hook-shop", "msg_1", "stock")
    ]


def test_retried_delivery_is_a_duplicate_and_changes_nothing(client, shop):
    body = _body([{"sku": "B-2", "delta": -2}])
    _post(client, body)

    response = _post(client, body)

    assert response.status_code == 200
    assert response.json() == {"status": "duplicate"}
    assert _stock() == {"A-1": 10, "B-2": 3}
    assert IncomingWebhook.objects.count() == 1


def test_same_webhook_id_from_another_storefront_is_not_a_duplicate(client, shop):
    other = StorefrontFactory(slug="other-shop", webhook_secret="other-secret")
    VariantFactory(product__storefront=other, sku="C-3", stock_quantity=1)
    _post(client, _body([{"sku": "A-1", "quantity": 1}]))

    body = _body([{"sku": "C-3", "quantity": 7}])
    response = _post(client, body, slug="other-shop", secret="other-secret")

    assert response.json() == {"status": "applied"}
    assert _stock() == {"A-1": 1, "B-2": 5, "C-3": 7}


def test_tampered_body_is_refused(client, shop):
    signed = _body([{"sku": "A-1", "quantity": 1}])
    tampered = _body([{"sku": "A-1", "quantity": 999}])

    response = _post(client, tampered, headers=_headers(signed))

    assert response.status_code == 401
    assert response.json() == {
        "detail": "The webhook signature does not match.",
        "code": "invalid_signature",
    }
    assert _stock() == {"A-1": 10, "B-2": 5}
    assert IncomingWebhook.objects.count() == 0


def test_wrong_secret_is_refused(client, shop):
    response = _post(client, _body([{"sku": "A-1", "quantity": 1}]), secret="guessed")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert _stock() == {"A-1": 10, "B-2": 5}
    assert IncomingWebhook.objects.count() == 0


def test_signature_of_another_storefront_is_refused(client, shop):
    StorefrontFactory(slug="other-shop", webhook_secret="other-secret")

    response = _post(client, _body([{"sku": "A-1", "quantity": 1}]), secret="other-secret")

    assert response.status_code == 401
    assert _stock() == {"A-1": 10, "B-2": 5}


@pytest.mark.parametrize("age", [301, -301, 86400])
def test_stale_or_future_timestamp_is_refused(client, shop, age):
    response = _post(
        client, _body([{"sku": "A-1", "quantity": 1}]), timestamp=int(time.time()) - age
    )

    assert response.status_code == 401
    assert response.json() == {
        "detail": "webhook-timestamp is too far from the current time.",
        "code": "stale_timestamp",
    }
    assert _stock() == {"A-1": 10, "B-2": 5}
    assert IncomingWebhook.objects.count() == 0


@pytest.mark.parametrize(
    ("drop", "code"),
    [("HTTP_WEBHOOK_SIGNATURE", "missing_signature"), ("HTTP_WEBHOOK_ID", "missing_signature")],
)
def test_missing_headers_are_refused(client, shop, drop, code):
    body = _body([{"sku": "A-1", "quantity": 1}])
    headers = _headers(body)
    del headers[drop]

    response = _post(client, body, headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == code
    assert _stock() == {"A-1": 10, "B-2": 5}


def test_non_numeric_timestamp_is_refused(client, shop):
    body = _body([{"sku": "A-1", "quantity": 1}])
    headers = {**_headers(body), "HTTP_WEBHOOK_TIMESTAMP": "yesterday"}

    response = _post(client, body, headers=headers)

    assert response.status_code == 401
    assert response.json() == {
        "detail": "webhook-timestamp must be Unix seconds.",
        "code": "invalid_signature",
    }


def test_unknown_storefront_is_not_found(client, shop):
    body = _body([{"sku": "A-1", "quantity": 1}])

    response = _post(client, body, slug="no-such-shop")

    assert response.status_code == 404
    assert response.json() == {
        "detail": "Unknown storefront 'no-such-shop'.",
        "code": "storefront_not_found",
    }
    assert _stock() == {"A-1": 10, "B-2": 5}


def test_unknown_sku_is_named_and_nothing_is_applied(client, shop):
    other = StorefrontFactory(slug="other-shop")
    VariantFactory(product__storefront=other, sku="THEIRS", stock_quantity=4)
    body = _body(
        [{"sku": "A-1", "quantity": 1}, {"sku": "NOPE", "delta": 1}, {"sku": "THEIRS", "delta": -1}]
    )

    response = _post(client, body)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Unknown SKU(s) in storefront 'hook-shop': NOPE, THEIRS.",
        "code": "unknown_sku",
        "skus": ["NOPE", "THEIRS"],
    }
    assert _stock() == {"A-1": 10, "B-2": 5, "THEIRS": 4}
    assert IncomingWebhook.objects.count() == 0


def test_decrement_below_zero_rolls_back_the_whole_delivery(client, shop):
    body = _body([{"sku": "A-1", "quantity": 1}, {"sku": "B-2", "delta": -6}])

    response = _post(client, body)

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Only 5 of 'B-2' left, cannot take 6.",
        "code": "out_of_stock",
        "sku": "B-2",
        "available": 5,
    }
    assert _stock() == {"A-1": 10, "B-2": 5}
    # Not recorded, so the shop's corrected retry with the same id is applied.
    assert IncomingWebhook.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (b"{not json", 400, {"detail": "The body is not valid JSON.", "code": "parse_error"}),
        (b"\xff\xfe", 400, {"detail": "The body is not valid JSON.", "code": "parse_error"}),
        (b"", 400, {"detail": "The body is not valid JSON.", "code": "parse_error"}),
        (
            b"[1, 2]",
            400,
            {
                "detail": "Invalid data. Expected a dictionary, but got list.",
                "code": "invalid",
            },
        ),
        (
            b"{}",
            400,
            {
                "detail": "Some fields are invalid.",
                "code": "required",
                "fields": {"updates": ["This field is required."]},
            },
        ),
        (
            b'{"updates": []}',
            400,
            {
                "detail": "Some fields are invalid.",
                "code": "empty",
                "fields": {"updates": {"non_field_errors": ["This list may not be empty."]}},
            },
        ),
        (
            b'{"updates": [{"sku": "A-1", "quantity": 1, "delta": 2}]}',
            400,
            {
                "detail": "Some fields are invalid.",
                "code": "invalid_update",
                "fields": {
                    "updates": {
                        "0": {"non_field_errors": ["Give exactly one of quantity and delta."]}
                    }
                },
            },
        ),
        (
            b'{"updates": [{"sku": "A-1", "quantity": -1}]}',
            400,
            {
                "detail": "Some fields are invalid.",
                "code": "min_value",
                "fields": {
                    "updates": {
                        "0": {"quantity": ["Ensure this value is greater than or equal to 0."]}
                    }
                },
            },
        ),
        (
            b'{"updates": [{"sku": "A-1", "quantity": 99999999999999999999}]}',
            400,
            {
                "detail": "Some fields are invalid.",
                "code": "max_value",
                "fields": {
                    "updates": {
                        "0": {
                            "quantity": ["Ensure this value is less than or equal to 2147483647."]
                        }
                    }
                },
            },
        ),
        (
            b'{"updates": [{"sku": "A-1", "delta": "lots"}]}',
            400,
            {
                "detail": "Some fields are invalid.",
                "code": "invalid",
                "fields": {"updates": {"0": {"delta": ["A valid integer is required."]}}},
            },
        ),
    ],
)
def test_malformed_bodies_are_refused(client, shop, body, status, expected):
    response = _post(client, body)

    assert response.status_code == status
    assert response.json() == expected
    assert _stock() == {"A-1": 10, "B-2": 5}
    assert IncomingWebhook.objects.count() == 0


def test_get_is_not_allowed(client, shop):
    response = client.get(URL.format(slug="hook-shop"))

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_id_are_applied_once():
    storefront = StorefrontFactory(slug="race-shop", webhook_secret=SECRET)
    VariantFactory(product__storefront=storefront, sku="R-1", stock_quantity=5)
    deliveries = 6
    barrier = threading.Barrier(deliveries)
    statuses: list[str] = []
    lock = threading.Lock()

    def deliver() -> None:
        try:
            barrier.wait()
            status = storefront_stock_webhook_apply(
                storefront=storefront,
                webhook_id="msg_race",
                updates=[StockUpdate(sku="R-1", delta=-1)],
            )
            with lock:
                statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(deliveries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == ["applied"] + ["duplicate"] * 5
    assert _stock() == {"R-1": 4}
    assert IncomingWebhook.objects.count() == 1
