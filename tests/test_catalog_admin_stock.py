"""Catalog admin: stock edits go through the stock service and never undo sales."""

from decimal import Decimal

import pytest
from django.test import Client

from catalog.models import Product, Variant
from catalog.services.stock import variant_stock_adjust
from tests.factories import (
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _variant_form(prefix: str, variant: Variant, **changes) -> dict:
    values = {
        "id": variant.pk,
        "product": variant.product_id,
        "sku": variant.sku,
        "title": variant.title,
        "options": '{"size": "M"}',
        "external_id": variant.external_id,
        "price": str(variant.price),
        "compare_at_price": "",
        "currency": variant.currency,
        "stock_quantity": variant.stock_quantity,
        "position": variant.position,
    }
    values.update(changes)
    data = {f"{prefix}-{key}": value for key, value in values.items()}
    # What the page was drawn with, as the browser sends it back.
    data[f"initial-{prefix}-stock_quantity"] = variant.stock_quantity
    return data


def _change_form(product: Product, variants: list[dict], *, extra: dict | None = None) -> dict:
    data = {
        "storefront": product.storefront_id,
        "handle": product.handle,
        "title": product.title,
        "description": product.description,
        "is_active": "on",
        "variants-TOTAL_FORMS": len(variants),
        "variants-INITIAL_FORMS": sum(1 for form in variants if form.get("_existing", True)),
        "variants-MIN_NUM_FORMS": 0,
        "variants-MAX_NUM_FORMS": 1000,
        "images-TOTAL_FORMS": 0,
        "images-INITIAL_FORMS": 0,
        "images-MIN_NUM_FORMS": 0,
        "images-MAX_NUM_FORMS": 1000,
    }
    for form in variants:
        data.update({key: value for key, value in form.items() if key != "_existing"})
    data.update(extra or {})
    return data


def _save(client: Client, product: Product, data: dict):
    return client.post(f"/admin/catalog/product/{product.pk}/change/", data)


def test_editing_a_variant_keeps_sales_made_since_the_page_was_loaded(admin_client_logged_in):
    variant = VariantFactory(sku="TEE-M", title="M", stock_quantity=10, options={"size": "M"})
    product = variant.product
    form = _variant_form("variants-0", variant, title="Medium")
    # A viewer buys two while the merchandiser is editing the title.
    variant_stock_adjust(storefront=product.storefront, sku="TEE-M", delta=-2)

    response = _save(admin_client_logged_in, product, _change_form(product, [form]))

    assert response.status_code == 302
    variant.refresh_from_db()
    assert (variant.title, variant.stock_quantity) == ("Medium", 8)


def test_changing_stock_in_the_admin_sets_it_through_the_stock_service(admin_client_logged_in):
    variant = VariantFactory(sku="TEE-M", stock_quantity=10, options={"size": "M"})
    product = variant.product
    form = _variant_form("variants-0", variant, stock_quantity=25)

    response = _save(admin_client_logged_in, product, _change_form(product, [form]))

    assert response.status_code == 302
    variant.refresh_from_db()
    assert variant.stock_quantity == 25


def test_negative_stock_in_the_admin_is_refused_and_nothing_changes(admin_client_logged_in):
    variant = VariantFactory(sku="TEE-M", title="M", stock_quantity=10, options={"size": "M"})
    product = variant.product
    form = _variant_form("variants-0", variant, title="Medium", stock_quantity=-5)

    response = _save(admin_client_logged_in, product, _change_form(product, [form]))

    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.errors == [
        {"stock_quantity": ["Ensure this value is greater than or equal to 0."]}
    ]
    variant.refresh_from_db()
    assert (variant.title, variant.stock_quantity) == ("M", 10)


def test_adding_and_deleting_variants_in_the_admin(admin_client_logged_in):
    old = VariantFactory(sku="OLD", stock_quantity=4, options={"size": "M"})
    product = old.product
    new = {
        "variants-1-product": product.pk,
        "variants-1-sku": "NEW",
        "variants-1-title": "L",
        "variants-1-options": "{}",
        "variants-1-external_id": "",
        "variants-1-price": "12.50",
        "variants-1-compare_at_price": "",
        "variants-1-currency": "EUR",
        "variants-1-stock_quantity": 7,
        "variants-1-position": 1,
        "_existing": False,
    }
    deleted = _variant_form("variants-0", old, DELETE="on")

    response = _save(admin_client_logged_in, product, _change_form(product, [deleted, new]))

    assert response.status_code == 302
    assert list(product.variants.values_list("sku", "price", "stock_quantity")) == [
        ("NEW", Decimal("12.50"), 7)
    ]
