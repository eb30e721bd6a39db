"""Stock services and cart links."""

import pytest
from django.core.exceptions import ValidationError

from catalog.models import Storefront, Variant
from catalog.services.cart_urls import storefront_cart_url_build
from catalog.services.stock import (
    OutOfStockError,
    StockQuantityError,
    variant_stock_adjust,
    variant_stock_set,
)
from liveshop.common.exceptions import ApplicationError, NotFoundError
from tests.factories import StorefrontFactory, VariantFactory
from tests.threads import threads_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant():
    return VariantFactory(sku="TEE-M", stock_quantity=5, product__storefront__slug="stock-shop")


def _stock(sku: str) -> int:
    return Variant.objects.get(sku=sku).stock_quantity


def test_stock_set_writes_the_absolute_quantity(variant):
    result = variant_stock_set(storefront=variant.product.storefront, sku="TEE-M", quantity=42)

    assert result.stock_quantity == 42
    assert _stock("TEE-M") == 42


def test_stock_adjust_adds_and_takes(variant):
    storefront = variant.product.storefront

    assert variant_stock_adjust(storefront=storefront, sku="TEE-M", delta=3).stock_quantity == 8
    assert variant_stock_adjust(storefront=storefront, sku="TEE-M", delta=-8).stock_quantity == 0
    assert _stock("TEE-M") == 0


def test_decrement_beyond_stock_is_refused_and_changes_nothing(variant):
    with pytest.raises(OutOfStockError) as excinfo:
        variant_stock_adjust(storefront=variant.product.storefront, sku="TEE-M", delta=-6)

    assert excinfo.value.code == "out_of_stock"
    assert excinfo.value.status_code == 409
    assert excinfo.value.extra == {"sku": "TEE-M", "available": 5}
    assert _stock("TEE-M") == 5


@pytest.mark.parametrize("quantity", [-1, 2_147_483_648, True])
def test_stock_set_refuses_out_of_range_quantities(variant, quantity):
    with pytest.raises(StockQuantityError):
        variant_stock_set(storefront=variant.product.storefront, sku="TEE-M", quantity=quantity)

    assert _stock("TEE-M") == 5


def test_stock_adjust_refuses_overflow(variant):
    with pytest.raises(StockQuantityError):
        variant_stock_adjust(storefront=variant.product.storefront, sku="TEE-M", delta=2**31 - 3)

    assert _stock("TEE-M") == 5


def test_stock_lookups_are_scoped_to_the_storefront(variant):
    other = StorefrontFactory(slug="other-shop")

    with pytest.raises(NotFoundError):
        variant_stock_set(storefront=other, sku="TEE-M", quantity=0)
    with pytest.raises(NotFoundError):
        variant_stock_adjust(storefront=other, sku="TEE-M", delta=-1)
    with pytest.raises(NotFoundError):
        variant_stock_adjust(storefront=variant.product.storefront, sku="NOPE", delta=1)

    assert _stock("TEE-M") == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_decrements_of_the_last_units_never_oversell():
    variant = VariantFactory(sku="LAST", stock_quantity=3)
    storefront = variant.product.storefront
    buyers = 12

    def buy(number: int) -> str:
        try:
            variant_stock_adjust(storefront=storefront, sku="LAST", delta=-1)
        except OutOfStockError:
            return "out_of_stock"
        return "sold"

    outcomes = threads_run(buy, buyers)

    assert sorted(outcomes) == ["out_of_stock"] * 9 + ["sold"] * 3
    assert _stock("LAST") == 0


# --- Cart links ---------------------------------------------------------------


def _cart_url(kind, *, base_url="https://shop.example.com/", template="", quantity=2):
    storefront = StorefrontFactory(kind=kind, base_url=base_url, cart_url_template=template)
    variant = VariantFactory(product__storefront=storefront, sku="TEE M/1", external_id="4711")
    return storefront_cart_url_build(storefront=storefront, variant=variant, quantity=quantity)


def test_shopify_cart_permalink():
    assert _cart_url(Storefront.Kind.SHOPIFY) == "https://shop.example.com/cart/4711:2"


def test_woocommerce_add_to_cart_url():
    assert (
        _cart_url(Storefront.Kind.WOOCOMMERCE)
        == "https://shop.example.com/?add-to-cart=4711&quantity=2"
    )


def test_custom_template_fills_every_placeholder_url_encoded():
    url = _cart_url(
        Storefront.Kind.CUSTOM,
        template="{base_url}/basket/add?id={variant_id}&sku={sku}&qty={quantity}",
        quantity=3,
    )

    assert url == "https://shop.example.com/basket/add?id=4711&sku=TEE%20M%2F1&qty=3"


def test_demo_cart_is_a_liveshop_path():
    assert _cart_url(Storefront.Kind.DEMO, base_url="") == "/shop/cart/add?sku=TEE+M%2F1&quantity=2"


@pytest.mark.parametrize(
    "template",
    [
        "{base_url}/cart?price={price}",
        "{base_url}/{sku.__class__}",
        "{base_url}/{quantity:>9}",
        "{base_url}/{sku!r}",
        "{base_url}/{0}",
        "{base_url}/{",
    ],
)
def test_custom_template_with_unknown_placeholders_is_refused(template):
    storefront = StorefrontFactory(
        kind=Storefront.Kind.CUSTOM, base_url="https://shop.example.com", cart_url_template=template
    )
    variant = VariantFactory(product__storefront=storefront)

    with pytest.raises(ValidationError):
        storefront.full_clean()
    with pytest.raises(ApplicationError) as excinfo:
        storefront_cart_url_build(storefront=storefront, variant=variant, quantity=1)

    assert excinfo.value.code == "storefront_misconfigured"


def test_custom_template_names_the_unknown_placeholder():
    storefront = StorefrontFactory(
        kind=Storefront.Kind.CUSTOM,
        base_url="https://shop.example.com",
        cart_url_template="{base_url}/?p={price}",
    )

    with pytest.raises(ValidationError) as excinfo:
        storefront.full_clean()

    assert excinfo.value.message_dict["cart_url_template"] == [
        "Unknown placeholder(s) {price} in the cart URL template; use only {base_url}, "
        "{quantity}, {sku}, {variant_id}."
    ]


@pytest.mark.parametrize(
    ("kind", "base_url", "template", "quantity", "code"),
    [
        (Storefront.Kind.SHOPIFY, "https://shop.example.com", "", 0, "invalid_quantity"),
        (Storefront.Kind.DEMO, "", "", 10_001, "invalid_quantity"),
        (Storefront.Kind.SHOPIFY, "", "", 1, "storefront_misconfigured"),
        (Storefront.Kind.CUSTOM, "https://shop.example.com", "", 1, "storefront_misconfigured"),
    ],
)
def test_cart_url_refusals(kind, base_url, template, quantity, code):
    with pytest.raises(ApplicationError) as excinfo:
        _cart_url(kind, base_url=base_url, template=template, quantity=quantity)

    assert excinfo.value.code == code


def test_shopify_needs_the_shops_variant_id():
    storefront = StorefrontFactory(kind=Storefront.Kind.SHOPIFY, base_url="https://s.example.com")
    variant = VariantFactory(product__storefront=storefront, external_id="")

    with pytest.raises(ApplicationError) as excinfo:
        storefront_cart_url_build(storefront=storefront, variant=variant, quantity=1)

    assert excinfo.value.code == "storefront_misconfigured"
