"""Live stock: every stock change reaches every live show that pins the variant."""

import json

import pytest
from django.test import Client

from catalog.services.imports import CatalogRawRow, catalog_import
from catalog.services.stock import variant_stock_adjust, variant_stock_set
from liveshop.common.webhooks import webhook_headers_build
from shows.models import Show, ShowEvent, ShowMember
from shows.services import show_product_pin, show_product_unpin
from tests.factories import (
    ShowFactory,
    ShowMemberFactory,
    StorefrontFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant():
    storefront = StorefrontFactory(
        slug="stock-shop", low_stock_threshold=3, webhook_secret="s" * 20
    )
    return VariantFactory(
        product__storefront=storefront, product__handle="tee", sku="TEE", stock_quantity=10
    )


def _pin(show, variant):
    actor = ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user
    return show_product_pin(show=show, product_id=variant.product_id, actor=actor)


def _events_of(show, kind: str) -> list[dict]:
    return list(
        ShowEvent.objects.filter(show=show, type=kind)
        .order_by("seq")
        .values_list("data", flat=True)
    )


def _stock_events(show) -> list[dict]:
    return _events_of(show, "stock.changed")


def _data(variant, state, left) -> dict:
    return {
        "product_id": variant.product_id,
        "variant_id": variant.pk,
        "sku": variant.sku,
        "stock_state": state,
        "left": left,
    }


@pytest.fixture
def shows(variant):
    pinning = [ShowFactory(status=Show.Status.LIVE) for _ in range(2)]
    for show in pinning:
        _pin(show, variant)
    unpinned = ShowFactory(status=Show.Status.LIVE)
    show_product_unpin(
        show=unpinned, pin_id=_pin(unpinned, variant).pk, actor=UserFactory(role="merchandiser")
    )
    not_pinning = ShowFactory(status=Show.Status.LIVE)
    _pin(not_pinning, VariantFactory())
    return pinning, [unpinned, not_pinning]


def test_every_show_pinning_the_variant_is_told_and_no_other(variant, shows):
    pinning, others = shows
    storefront = variant.product.storefront

    variant_stock_set(storefront=storefront, sku="TEE", quantity=3)
    variant_stock_adjust(storefront=storefront, sku="TEE", delta=-1)
    variant_stock_adjust(storefront=storefront, sku="TEE", delta=-2)

    for show in pinning:
        assert _stock_events(show) == [
            _data(variant, "low", 3),
            _data(variant, "low", 2),
            _data(variant, "sold_out", None),
        ]
    for show in others:
        assert _stock_events(show) == []


def test_changes_viewers_cannot_see_send_nothing(variant, shows):
    pinning, _ = shows

    variant_stock_adjust(storefront=variant.product.storefront, sku="TEE", delta=-2)
    variant_stock_set(storefront=variant.product.storefront, sku="TEE", quantity=50)

    assert _stock_events(pinning[0]) == []


def test_a_refused_decrement_sends_nothing(variant, shows):
    pinning, _ = shows
    from catalog.services.stock import OutOfStockError

    with pytest.raises(OutOfStockError):
        variant_stock_adjust(storefront=variant.product.storefront, sku="TEE", delta=-11)

    assert _stock_events(pinning[0]) == []


def test_the_stock_webhook_reaches_viewers(variant, shows):
    pinning, _ = shows
    body = json.dumps({"updates": [{"sku": "TEE", "quantity": 0}]}).encode()
    headers = webhook_headers_build(secret="s" * 20, webhook_id="w1", body=body)

    response = Client().generic(
        "POST",
        "/api/v1/webhooks/storefronts/stock-shop/stock",
        body,
        content_type="application/json",
        **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()},
    )

    assert response.status_code == 200
    assert _stock_events(pinning[1]) == [_data(variant, "sold_out", None)]


def _import_one_row(storefront, **values) -> None:
    row = {"product_handle": "tee", "sku": "TEE", **values}
    catalog_import(storefront=storefront, rows=[CatalogRawRow(label="line 2", values=row)])


def test_the_import_reaches_viewers(variant, shows):
    pinning, _ = shows

    _import_one_row(
        variant.product.storefront, product_title="Tee", price="10.00", stock_quantity="1"
    )

    assert _stock_events(pinning[0]) == [_data(variant, "low", 1)]


def test_the_import_tells_viewers_of_stock_changed_by_an_order_during_the_import(variant, shows):
    pinning, _ = shows
    storefront = variant.product.storefront
    rows = [
        {"product_handle": "cap", "product_title": "Cap", "sku": "CAP", "price": "5.00"},
        {"product_handle": "tee", "product_title": "Tee", "sku": "TEE", "price": "10.00"},
    ]
    orders = iter([-8])

    def an_order_between_rows() -> None:
        # An order for the pinned tee lands after the import began, before its row.
        delta = next(orders, None)
        if delta is not None:
            variant_stock_adjust(storefront=storefront, sku="TEE", delta=delta)

    catalog_import(
        storefront=storefront,
        rows=[
            CatalogRawRow(label=f"line {n}", values={**row, "stock_quantity": "10"})
            for n, row in enumerate(rows, start=2)
        ],
        on_row=an_order_between_rows,
    )

    # The order made it low (2 left); the import's 10 must bring it back.
    assert _stock_events(pinning[0]) == [
        _data(variant, "low", 2),
        _data(variant, "in_stock", None),
    ]
    assert _stock_events(pinning[1]) == _stock_events(pinning[0])
    variant.refresh_from_db()
    assert variant.stock_quantity == 10


def test_the_admin_reaches_viewers(variant, shows):
    from tests.test_catalog_admin_stock import _change_form, _variant_form

    pinning, _ = shows
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    product = variant.product
    data = _change_form(product, [_variant_form("variants-0", variant, stock_quantity=0)])

    response = client.post(f"/admin/catalog/product/{product.pk}/change/", data)

    assert response.status_code == 302
    assert _stock_events(pinning[0]) == [_data(variant, "sold_out", None)]


def _updates(show) -> list[dict]:
    return _events_of(show, "product.updated")


def test_a_price_edit_in_the_admin_sends_a_fresh_card(variant, shows):
    from tests.test_catalog_admin_stock import _change_form, _variant_form

    pinning, others = shows
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    product = variant.product
    data = _change_form(product, [_variant_form("variants-0", variant, price="7.50")])

    response = client.post(f"/admin/catalog/product/{product.pk}/change/", data)

    assert response.status_code == 302
    for show in pinning:
        [card] = _updates(show)
        assert [v["price"] for v in card["product"]["variants"]] == ["7.50"]
    for show in others:
        assert _updates(show) == []


def test_the_import_sends_fresh_cards_of_pinned_products(variant, shows):
    pinning, _ = shows

    _import_one_row(
        variant.product.storefront,
        product_title="Tee, new title",
        price="12.00",
        stock_quantity="10",
    )

    [card] = _updates(pinning[0])
    assert card["product"]["title"] == "Tee, new title"
    assert card["product"]["variants"][0]["price"] == "12.00"
    assert _stock_events(pinning[0]) == []
