"""Signed incoming order webhook: verified, stored once per order id, attributed."""

import json
import time
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from catalog.models import Order, OrderLine, Storefront
from liveshop.common.webhooks import webhook_headers_build
from shows.models import Show, ShowMember
from shows.services import show_product_pin
from tests.factories import ShowFactory, ShowMemberFactory, StorefrontFactory, VariantFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/storefronts/{slug}/orders"
SECRET = "shop-secret-for-order-tests"


@pytest.fixture
def shop():
    storefront = StorefrontFactory(
        slug="order-shop", webhook_secret=SECRET, kind=Storefront.Kind.SHOPIFY
    )
    VariantFactory(product__storefront=storefront, sku="A-1", stock_quantity=10)
    VariantFactory(product__storefront=storefront, sku="B-2", stock_quantity=5)
    return storefront


@pytest.fixture
def pinned(shop):
    show = ShowFactory(status=Show.Status.LIVE)
    moderator = ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user
    product_id = shop.products.get(variants__sku="A-1").pk
    return show, show_product_pin(show=show, product_id=product_id, actor=moderator)


def _post(body: dict | bytes, *, slug="order-shop", secret=SECRET, webhook_id="msg_1", **kw):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = webhook_headers_build(secret=secret, webhook_id=webhook_id, body=raw, **kw)
    return APIClient(enforce_csrf_checks=True).generic(
        "POST",
        URL.format(slug=slug),
        raw,
        content_type="application/json",
        **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()},
    )


def _order(order_id="1001", attribution=None) -> dict:
    body = {
        "id": order_id,
        "currency": "EUR",
        "lines": [
            {"sku": "A-1", "quantity": 2, "unit_price": "10.00"},
            {"sku": "B-2", "quantity": 1, "unit_price": "5.50"},
            {"sku": "NOT-OURS", "quantity": 1, "unit_price": "1.00"},
        ],
    }
    if attribution is not None:
        body["attribution"] = attribution
    return body


def test_an_attributed_order_is_stored_once(shop, pinned):
    show, pin = pinned
    body = _order(attribution={"ls_show": show.public_id, "ls_pin": pin.pk})

    first = _post(body)
    retry = _post(body, webhook_id="msg_2")

    assert first.status_code == 200
    assert first.json() == {"status": "applied"}
    assert retry.json() == {"status": "duplicate"}
    order = Order.objects.get()
    assert (order.external_id, order.source, order.total) == ("1001", "webhook", Decimal("26.50"))
    assert list(order.lines.values_list("sku", "show_id", "pin_id")) == [
        ("A-1", show.pk, pin.pk),
        ("B-2", show.pk, None),
        ("NOT-OURS", show.pk, None),
    ]


def test_orders_without_attribution_are_stored_unattributed(shop):
    assert _post(_order()).json() == {"status": "applied"}
    assert set(OrderLine.objects.values_list("show_id", "pin_id")) == {(None, None)}


def test_forged_attribution_credits_nothing_it_cannot_prove(shop, pinned):
    show, pin = pinned

    _post(_order(attribution={"ls_show": "no-such-show", "ls_pin": pin.pk}))

    assert set(OrderLine.objects.values_list("show_id", "pin_id")) == {(None, None)}


def test_orders_do_not_touch_stock(shop):
    _post(_order())

    assert dict(shop.products.values_list("variants__sku", "variants__stock_quantity")) == {
        "A-1": 10,
        "B-2": 5,
    }


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"secret": "wrong-secret"}, "invalid_signature"),
        ({"timestamp": int(time.time()) - 3600}, "stale_timestamp"),
    ],
)
def test_bad_signatures_are_refused_and_change_nothing(shop, kwargs, code):
    response = _post(_order(), **kwargs)

    assert response.status_code == 401
    assert response.json()["code"] == code
    assert not Order.objects.exists()


def test_a_signed_body_edited_afterwards_is_refused(shop):
    raw = json.dumps(_order()).encode()
    headers = webhook_headers_build(secret=SECRET, webhook_id="m", body=raw)
    edited = raw.replace(b"10.00", b"0.01")

    response = APIClient().generic(
        "POST",
        URL.format(slug="order-shop"),
        edited,
        content_type="application/json",
        **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()},
    )

    assert response.status_code == 401
    assert not Order.objects.exists()


_INVALID = "Some fields are invalid."
_LINE = {"sku": "A-1", "quantity": 1, "unit_price": "1"}


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        (b"not json", {"detail": "The body is not valid JSON.", "code": "parse_error"}),
        (
            {"id": "1", "currency": "EUR", "lines": []},
            {
                "detail": _INVALID,
                "code": "empty",
                "fields": {"lines": {"non_field_errors": ["This list may not be empty."]}},
            },
        ),
        (
            {"id": "1", "currency": "EUE", "lines": [_LINE]},
            {
                "detail": _INVALID,
                "code": "invalid_choice",
                "fields": {"currency": ['"EUE" is not a valid choice.']},
            },
        ),
        (
            {"id": "1", "currency": "EUR", "lines": [{**_LINE, "quantity": 0}]},
            {
                "detail": _INVALID,
                "code": "min_value",
                "fields": {
                    "lines": {
                        "0": {"quantity": ["Ensure this value is greater than or equal to 1."]}
                    }
                },
            },
        ),
        (
            {"id": "1", "currency": "EUR", "lines": [{**_LINE, "unit_price": "-1"}]},
            {
                "detail": _INVALID,
                "code": "min_value",
                "fields": {
                    "lines": {
                        "0": {"unit_price": ["Ensure this value is greater than or equal to 0."]}
                    }
                },
            },
        ),
        (
            {"id": "x" * 101, "currency": "EUR", "lines": [_LINE]},
            {
                "detail": _INVALID,
                "code": "max_length",
                "fields": {"id": ["Ensure this field has no more than 100 characters."]},
            },
        ),
        (
            {"currency": "EUR", "lines": [_LINE]},
            {"detail": _INVALID, "code": "required", "fields": {"id": ["This field is required."]}},
        ),
        (
            [1, 2, 3],
            {"detail": "Invalid data. Expected a dictionary, but got list.", "code": "invalid"},
        ),
    ],
)
def test_garbage_is_refused_and_changes_nothing(shop, body, answer):
    response = _post(body)

    assert response.status_code == 400
    assert response.json() == answer
    assert not Order.objects.exists()


def test_unknown_storefront_is_404(shop):
    assert _post(_order(), slug="nope").status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_order_store_it_once():
    from catalog.services.webhooks import OrderLineInput, storefront_order_webhook_apply
    from tests.threads import threads_run

    storefront = StorefrontFactory(slug="race-shop")
    VariantFactory(product__storefront=storefront, sku="R-1")

    def deliver(number: int) -> str:
        return storefront_order_webhook_apply(
            storefront=storefront,
            order_id="R-1001",
            currency="EUR",
            lines=[OrderLineInput(sku="R-1", quantity=1, unit_price=Decimal("3.00"))],
        )

    outcomes = threads_run(deliver, 6)

    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 5
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.parametrize(
    "lines",
    [
        [{"sku": "A-1", "quantity": 10_000, "unit_price": "99999999.99"}],
        [{"sku": "A-1", "quantity": 1, "unit_price": "99999999.99"}] * 101,
    ],
)
def test_an_order_total_beyond_what_is_stored_is_refused(shop, lines):
    response = _post({"id": "huge-1", "currency": "EUR", "lines": lines})

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The order's total exceeds 9999999999.99, the largest total stored.",
        "code": "order_total_too_large",
    }
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()


def test_the_largest_total_stored_is_accepted(shop):
    lines = [
        {"sku": "A-1", "quantity": 100, "unit_price": "99999999.99"},
        {"sku": "B-2", "quantity": 1, "unit_price": "0.99"},
    ]

    response = _post({"id": "big-1", "currency": "EUR", "lines": lines})

    assert response.status_code == 200
    assert Order.objects.get().total == Decimal("9999999999.99")
