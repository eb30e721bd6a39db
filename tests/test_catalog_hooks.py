"""catalog.hooks: how catalog calls up into shows without importing it.

Installation and its system check, the no-op defaults, and that each catalog write or read
that needs shows goes through its hook.
"""

from decimal import Decimal

import pytest
from django.core import checks
from django.db import transaction
from django.test import Client

from catalog import hooks as catalog_hooks_module
from catalog.hooks import (
    Attribution,
    CartShowPrices,
    CatalogHooks,
    catalog_hooks,
    catalog_hooks_check,
    catalog_hooks_install,
)
from catalog.models import OrderLine
from catalog.selectors import cart_lines_priced
from catalog.services.imports import CatalogRawRow, catalog_import
from catalog.services.stock import (
    product_change_announce,
    stock_change_announce,
    variant_stock_adjust,
    variant_stock_set,
)
from catalog.services.webhooks import OrderLineInput, storefront_order_webhook_apply
from shows.attribution import attribution_resolve
from shows.catalog_hooks import product_cards_refresh, shows_catalog_hooks
from shows.models import Show, ShowEvent, ShowMember
from shows.pricing import cart_show_prices
from shows.services import show_product_pin, variant_stock_announce
from tests.factories import (
    ShowFactory,
    ShowMemberFactory,
    ShowProductFactory,
    StorefrontFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def _hooks_use(monkeypatch, hooks: CatalogHooks) -> None:
    monkeypatch.setattr(catalog_hooks_module, "_hooks", hooks)


class Calls:
    """A hook that records its keyword arguments and answers ``answer``."""

    def __init__(self, answer):
        self.answer = answer
        self.calls: list[dict] = []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        return self.answer


# --- Installation ------------------------------------------------------------------


def test_shows_installs_its_catalog_hooks():
    hooks = catalog_hooks()

    assert hooks.stock_changed is variant_stock_announce
    assert hooks.products_changed is product_cards_refresh
    assert hooks.cart_prices is cart_show_prices
    assert hooks.attribution_resolve is attribution_resolve
    assert catalog_hooks_check() == []
    assert [message.id for message in checks.run_checks() if message.id == "catalog.E001"] == []


def test_the_system_check_fails_when_shows_is_installed_without_its_hooks(monkeypatch):
    monkeypatch.setattr(catalog_hooks_module, "_installed", None)

    [error] = catalog_hooks_check()

    assert (error.id, error.level) == ("catalog.E001", checks.ERROR)
    assert error.hint == "Call catalog.hooks.catalog_hooks_install() from ShowsConfig.ready()."
    assert [message.id for message in checks.run_checks() if message.id == "catalog.E001"] == [
        "catalog.E001"
    ]


def test_the_hooks_are_installed_once():
    installed = catalog_hooks()

    # ShowsConfig.ready() running twice installs the same hooks again: nothing changes.
    catalog_hooks_install(shows_catalog_hooks())
    with pytest.raises(RuntimeError, match="^catalog hooks are installed already"):
        catalog_hooks_install(CatalogHooks())

    assert catalog_hooks() == installed


# --- The no-op defaults (no app above catalog) --------------------------------------


def test_without_shows_stock_changes_tell_no_one_carts_keep_normal_prices_and_credit_nothing(
    monkeypatch,
):
    _hooks_use(monkeypatch, CatalogHooks())
    variant = VariantFactory(sku="TEE", price=Decimal("20.00"), stock_quantity=10)
    show = ShowFactory(status=Show.Status.LIVE)
    moderator = ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user
    ShowProductFactory(show=show, product=variant.product, show_price=Decimal("15.00"))
    pin = show_product_pin(show=show, product_id=variant.product_id, actor=moderator)
    before = ShowEvent.objects.count()

    variant_stock_set(storefront=variant.product.storefront, sku="TEE", quantity=0)
    [line] = cart_lines_priced(
        lines=[{"variant_id": variant.pk, "quantity": 2, "show_id": show.pk, "pin_id": pin.pk}]
    )
    storefront_order_webhook_apply(
        storefront=variant.product.storefront,
        order_id="1001",
        currency="EUR",
        lines=[OrderLineInput(sku="TEE", quantity=1, unit_price=Decimal("20.00"))],
        show_public_id=show.public_id,
        pin_id=pin.pk,
    )

    assert ShowEvent.objects.count() == before
    assert (line.unit_price, line.show_id, line.pin_id) == (Decimal("20.00"), None, None)
    assert OrderLine.objects.values_list("show_id", "pin_id").get() == (None, None)


# --- Each need goes through its hook ------------------------------------------------


def test_a_stock_change_is_announced_through_the_hook(monkeypatch):
    stock_changed = Calls(answer=2)
    _hooks_use(monkeypatch, CatalogHooks(stock_changed=stock_changed))
    variant = VariantFactory(sku="TEE", stock_quantity=10)
    storefront = variant.product.storefront

    variant_stock_adjust(storefront=storefront, sku="TEE", delta=-3)
    variant_stock_set(storefront=storefront, sku="TEE", quantity=1)

    assert [
        (call["variant"].pk, call["variant"].stock_quantity) for call in stock_changed.calls
    ] == [
        (variant.pk, 7),
        (variant.pk, 1),
    ]
    assert [call["previous_quantity"] for call in stock_changed.calls] == [10, 7]
    # The listener gets the variant with what it needs to judge the change.
    assert stock_changed.calls[0]["variant"].product.storefront == storefront


@pytest.mark.django_db(transaction=True)
def test_stock_change_announce_answers_what_the_hook_answers_and_only_inside_a_transaction(
    monkeypatch,
):
    _hooks_use(monkeypatch, CatalogHooks(stock_changed=Calls(answer=3)))
    variant = VariantFactory()

    with transaction.atomic():
        assert stock_change_announce(variant=variant, previous_quantity=0) == 3
    _hooks_use(monkeypatch, CatalogHooks())
    with pytest.raises(RuntimeError, match="^stock_change_announce must run inside"):
        stock_change_announce(variant=variant, previous_quantity=0)


def test_a_product_saved_in_the_admin_is_announced_through_the_hook(monkeypatch):
    from tests.test_catalog_admin_stock import _change_form, _variant_form

    products_changed = Calls(answer=0)
    _hooks_use(monkeypatch, CatalogHooks(products_changed=products_changed))
    variant = VariantFactory(price=Decimal("20.00"))
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    product = variant.product
    data = _change_form(product, [_variant_form("variants-0", variant, price="7.50")])

    response = client.post(f"/admin/catalog/product/{product.pk}/change/", data)

    assert response.status_code == 302
    assert products_changed.calls == [{"product_ids": [product.pk]}]


def test_an_import_announces_every_product_it_touched_through_the_hook(monkeypatch):
    products_changed = Calls(answer=0)
    _hooks_use(monkeypatch, CatalogHooks(products_changed=products_changed))
    storefront = StorefrontFactory()
    rows = [
        {"product_handle": handle, "product_title": handle, "sku": sku, "price": "5.00"}
        for handle, sku in (("cap", "CAP-S"), ("cap", "CAP-L"), ("tee", "TEE"))
    ]

    catalog_import(
        storefront=storefront,
        rows=[
            CatalogRawRow(label=f"line {n}", values={**row, "stock_quantity": "1"})
            for n, row in enumerate(rows, start=2)
        ],
    )

    products = storefront.products.order_by("pk")
    assert products_changed.calls == [{"product_ids": [product.pk for product in products]}]
    assert product_change_announce(product_ids=[products[0].pk]) == 0


def test_cart_prices_come_from_the_hook(monkeypatch):
    cap, tee = VariantFactory(price=Decimal("20.00")), VariantFactory(price=Decimal("30.00"))
    cart_prices = Calls(
        answer=CartShowPrices(
            show_ids=frozenset({7}), prices={(7, cap.product_id): Decimal("1.50")}
        )
    )
    _hooks_use(monkeypatch, CatalogHooks(cart_prices=cart_prices))
    lines = [
        {"variant_id": cap.pk, "quantity": 2, "show_id": 7, "pin_id": 70},
        {"variant_id": tee.pk, "quantity": 1, "show_id": 7, "pin_id": 71},
        {"variant_id": tee.pk + cap.pk + 1, "quantity": 1, "show_id": 9, "pin_id": 90},
        {"variant_id": cap.pk, "quantity": 1, "show_id": 8, "pin_id": 80},
        {"variant_id": tee.pk, "quantity": 1, "show_id": None, "pin_id": None},
    ]

    priced = cart_lines_priced(lines=lines)

    # Only lines with a variant are asked about; a show the hook does not know loses its credit.
    assert cart_prices.calls == [
        {"lines": {(7, cap.product_id), (7, tee.product_id), (8, cap.product_id)}}
    ]
    assert [
        (line.variant, line.unit_price, line.total, line.show_id, line.pin_id) for line in priced
    ] == [
        (cap, Decimal("1.50"), Decimal("3.00"), 7, 70),
        (tee, Decimal("30.00"), Decimal("30.00"), 7, 71),
        (cap, Decimal("20.00"), Decimal("20.00"), None, None),
        (tee, Decimal("30.00"), Decimal("30.00"), None, None),
    ]


def test_a_shop_order_is_credited_through_the_hook(monkeypatch):
    variant = VariantFactory(sku="TEE")
    show = ShowFactory(status=Show.Status.LIVE)
    moderator = ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user
    pin = show_product_pin(show=show, product_id=variant.product_id, actor=moderator)
    resolve = Calls(answer=Attribution(show_id=show.pk, pin_id=pin.pk))
    _hooks_use(monkeypatch, CatalogHooks(attribution_resolve=resolve))

    outcome = storefront_order_webhook_apply(
        storefront=variant.product.storefront,
        order_id="1001",
        currency="EUR",
        lines=[
            OrderLineInput(sku="TEE", quantity=1, unit_price=Decimal("20.00")),
            OrderLineInput(sku="UNKNOWN", quantity=1, unit_price=Decimal("5.00")),
        ],
        show_public_id="abc",
        pin_id="5",
    )

    assert outcome == "applied"
    assert resolve.calls == [
        {"show_public_id": "abc", "pin_id": "5", "product_id": variant.product_id},
        {"show_public_id": "abc", "pin_id": "5", "product_id": None},
    ]
    assert list(OrderLine.objects.order_by("pk").values_list("sku", "show_id", "pin_id")) == [
        ("TEE", show.pk, pin.pk),
        ("UNKNOWN", show.pk, pin.pk),
    ]
