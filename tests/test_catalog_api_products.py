"""Public product reads: filters, search, stock states, constant query count."""

from decimal import Decimal

import pytest

from tests.conftest import client_for
from tests.factories import (
    ProductFactory,
    ProductImageFactory,
    ShowMemberFactory,
    ShowProductFactory,
    StorefrontFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def _product(title: str, *, storefront=None, prices=("19.99",), stocks=(10,), **kwargs):
    product = ProductFactory(
        title=title, storefront=storefront or StorefrontFactory(slug="main"), **kwargs
    )
    for position, (price, stock) in enumerate(zip(prices, stocks, strict=True)):
        VariantFactory(
            product=product, price=Decimal(price), stock_quantity=stock, position=position
        )
    return product


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["results"]]


def test_list_shows_only_active_products_in_title_order(api_client):
    _product("Boots")
    _product("Anorak")
    _product("Hidden", is_active=False)

    response = api_client.get("/api/v1/products")

    assert response.json()["count"] == 2
    assert _titles(response) == ["Anorak", "Boots"]


def test_list_item_shape(api_client):
    storefront = StorefrontFactory(slug="shape", name="Shape shop", low_stock_threshold=5)
    product = _product(
        "Scarf", storefront=storefront, prices=("25.00", "19.50"), stocks=(2, 1), handle="scarf"
    )
    ProductImageFactory(product=product, url="https://images.example.com/scarf.jpg")

    response = api_client.get("/api/v1/products")

    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": product.pk,
                "handle": "scarf",
                "title": "Scarf",
                "storefront": {"slug": "shape", "name": "Shape shop"},
                "image_url": "https://images.example.com/scarf.jpg",
                "min_price": "19.50",
                "currency": "EUR",
                "stock_quantity": 3,
                "stock_state": "low",
            }
        ],
    }


def test_search_matches_title_handle_and_sku_case_insensitively(api_client):
    _product("Red jacket", handle="jacket-red")
    _product("Blue shirt", handle="shirt-blue")
    hat = _product("Hat", handle="hat")
    VariantFactory(product=hat, sku="WOOL-HAT-1")
    _product("Jacket and hat", handle="combo")

    assert _titles(api_client.get("/api/v1/products?q=JACKET")) == ["Jacket and hat", "Red jacket"]
    assert _titles(api_client.get("/api/v1/products?q=shirt-bl")) == ["Blue shirt"]
    assert _titles(api_client.get("/api/v1/products?q=wool-hat")) == ["Hat"]
    assert _titles(api_client.get("/api/v1/products?q=nothing")) == []


def test_filters_by_storefront_stock_and_price(api_client):
    other = StorefrontFactory(slug="other")
    _product("Cheap", prices=("5.00",), stocks=(3,))
    _product("Middle", prices=("20.00", "30.00"), stocks=(0, 1))
    _product("Pricey", prices=("100.00",), stocks=(0,))
    _product("Elsewhere", storefront=other, prices=("20.00",), stocks=(4,))

    assert _titles(api_client.get("/api/v1/products?storefront=other")) == ["Elsewhere"]
    assert _titles(api_client.get("/api/v1/products?storefront=none")) == []
    assert _titles(api_client.get("/api/v1/products?in_stock=true")) == [
        "Cheap",
        "Elsewhere",
        "Middle",
    ]
    assert _titles(api_client.get("/api/v1/products?in_stock=false")) == ["Pricey"]
    assert _titles(api_client.get("/api/v1/products?min_price=25")) == ["Middle", "Pricey"]
    assert _titles(api_client.get("/api/v1/products?max_price=20")) == [
        "Cheap",
        "Elsewhere",
        "Middle",
    ]
    assert _titles(
        api_client.get("/api/v1/products?min_price=10&max_price=50&storefront=main")
    ) == ["Middle"]


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("min_price=abc", {"min_price": ["Enter a number."]}),
        ("max_price=-1", {"max_price": ["Ensure this value is greater than or equal to 0."]}),
        (
            "min_price=1e40",
            {"min_price": ["Ensure that there are no more than 10 digits in total."]},
        ),
        (
            "in_stock=maybe",
            {"in_stock": ["Select a valid choice. maybe is not one of the available choices."]},
        ),
        ("q=" + "x" * 101, {"q": ["Ensure this value has at most 100 characters (it has 101)."]}),
    ],
)
def test_bad_filters_are_refused_in_the_error_shape(api_client, query, fields):
    _product("Anything")

    response = api_client.get(f"/api/v1/products?{query}")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Some fields are invalid.",
        "code": "invalid",
        "fields": fields,
    }


def test_pagination_pages_and_rejects_a_page_past_the_end(api_client):
    for n in range(3):
        _product(f"Item {n}")

    first = api_client.get("/api/v1/products?page_size=2")
    second = api_client.get("/api/v1/products?page_size=2&page=2")
    past = api_client.get("/api/v1/products?page=9")

    assert _titles(first) == ["Item 0", "Item 1"]
    assert first.json()["next"] == "http://testserver/api/v1/products?page=2&page_size=2"
    assert _titles(second) == ["Item 2"]
    assert past.status_code == 404
    assert past.json() == {"detail": "Invalid page.", "code": "not_found"}


@pytest.mark.parametrize("count", [1, 10])
def test_list_query_count_is_constant(api_client, django_assert_num_queries, count):
    storefront = StorefrontFactory(slug="many")
    for n in range(count):
        product = _product(f"P{n}", storefront=storefront, prices=("1.00", "2.00"), stocks=(1, 9))
        ProductImageFactory(product=product)
        ProductImageFactory(product=product)

    # count, products with storefront, variants, images
    with django_assert_num_queries(4):
        response = api_client.get("/api/v1/products?storefront=many&in_stock=true&q=P")

    assert len(response.json()["results"]) == count


def test_detail_with_images_variants_and_stock_states(api_client):
    storefront = StorefrontFactory(slug="detail", name="Detail shop", low_stock_threshold=3)
    product = ProductFactory(storefront=storefront, handle="tee", title="Tee", description="Soft.")
    ProductImageFactory(product=product, url="https://images.example.com/b.jpg", position=1)
    ProductImageFactory(
        product=product, url="https://images.example.com/a.jpg", alt_text="Front", position=0
    )
    plenty = VariantFactory(
        product=product,
        sku="TEE-M",
        title="M",
        options={"size": "M"},
        price=Decimal("20.00"),
        compare_at_price=Decimal("25.00"),
        stock_quantity=4,
        position=0,
    )
    low = VariantFactory(product=product, sku="TEE-L", stock_quantity=3, position=1)
    gone = VariantFactory(product=product, sku="TEE-XL", stock_quantity=0, position=2)

    response = api_client.get(f"/api/v1/products/{product.pk}")

    assert response.status_code == 200
    assert response.json() == {
        "id": product.pk,
        "handle": "tee",
        "title": "Tee",
        "description": "Soft.",
        "storefront": {"slug": "detail", "name": "Detail shop"},
        "images": [
            {"url": "https://images.example.com/a.jpg", "alt_text": "Front"},
            {"url": "https://images.example.com/b.jpg", "alt_text": ""},
        ],
        "variants": [
            {
                "id": plenty.pk,
                "sku": "TEE-M",
                "title": "M",
                "options": {"size": "M"},
                "price": "20.00",
                "compare_at_price": "25.00",
                "currency": "EUR",
                "stock_quantity": 4,
                "stock_state": "in_stock",
            },
            {
                "id": low.pk,
                "sku": "TEE-L",
                "title": "Default",
                "options": {},
                "price": "19.99",
                "compare_at_price": None,
                "currency": "EUR",
                "stock_quantity": 3,
                "stock_state": "low",
            },
            {
                "id": gone.pk,
                "sku": "TEE-XL",
                "title": "Default",
                "options": {},
                "price": "19.99",
                "compare_at_price": None,
                "currency": "EUR",
                "stock_quantity": 0,
                "stock_state": "sold_out",
            },
        ],
    }


def test_detail_query_count_does_not_grow_with_variants(api_client, django_assert_num_queries):
    product = _product("Many", prices=("1.00",) * 6, stocks=(1, 2, 3, 4, 5, 6))

    with django_assert_num_queries(3):
        response = api_client.get(f"/api/v1/products/{product.pk}")

    assert len(response.json()["variants"]) == 6


@pytest.mark.parametrize("path", ["/api/v1/products/999999", "/api/v1/products/{inactive}"])
def test_detail_of_unknown_or_inactive_product_is_not_found(api_client, path):
    inactive = _product("Gone", is_active=False)

    response = api_client.get(path.format(inactive=inactive.pk))

    assert response.status_code == 404
    assert response.json() == {"detail": "Product not found.", "code": "not_found"}


def test_detail_with_non_numeric_id_is_not_found(api_client):
    response = api_client.get("/api/v1/products/abc")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def _audience():
    product = _product("Lineup item")
    show = ShowProductFactory(product=product).show
    return product, {
        "anonymous": None,
        "viewer": UserFactory(role="viewer"),
        "other show's moderator": ShowMemberFactory(role="moderator").user,
        "this show's moderator": ShowMemberFactory(show=show, role="moderator").user,
        "merchandiser": UserFactory(role="merchandiser", is_staff=True),
    }


def test_reads_are_public_and_identical_for_every_audience():
    product, audience = _audience()
    bodies = {}

    for name, user in audience.items():
        client = client_for(user)
        listing = client.get("/api/v1/products")
        detail = client.get(f"/api/v1/products/{product.pk}")
        assert (listing.status_code, detail.status_code) == (200, 200), name
        bodies[name] = (listing.json(), detail.json())

    assert len({repr(body) for body in bodies.values()}) == 1


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/products", "/api/v1/products/{pk}"])
def test_writes_are_not_allowed_and_change_nothing(method, path):
    product, audience = _audience()

    for user in audience.values():
        response = getattr(client_for(user), method)(
            path.format(pk=product.pk), {"title": "Hacked"}, format="json"
        )
        assert response.status_code == 405
        assert response.json() == {
            "detail": f'Method "{method.upper()}" not allowed.',
            "code": "method_not_allowed",
        }

    product.refresh_from_db()
    assert product.title == "Lineup item"


def test_products_appear_in_the_openapi_schema(api_client):
    response = api_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    paths = response.json()["paths"]
    assert set(paths["/api/v1/products"]) == {"get"}
    assert set(paths["/api/v1/products/{product_id}"]) == {"get"}
    assert set(paths["/api/v1/webhooks/storefronts/{slug}/stock"]) == {"post"}
    parameters = {parameter["name"] for parameter in paths["/api/v1/products"]["get"]["parameters"]}
    assert {"q", "storefront", "in_stock", "min_price", "max_price", "page"} <= parameters
