"""The OpenAPI schema is valid, generates without a single warning, and describes
what the API serves: real responses are validated against it with ``jsonschema``."""

import copy

import jsonschema
import pytest
from django.conf import settings
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token

from catalog.models import Product
from liveshop.accounts.models import User
from liveshop.demo.demo import demo_seed
from shows.models import Show
from shows.services import show_product_pin
from tests.conftest import client_for


def test_schema_validates_without_warnings(tmp_path):
    schema_path = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema_path))

    schema = schema_path.read_text()
    assert "ProductPage:" in schema
    assert "ShowStatusEnum:" in schema


def _json_schema(node):
    """OpenAPI 3.0 to JSON Schema: ``nullable`` becomes "or null", and every object that
    lists its properties allows no others, so an undocumented field fails too."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.get("type") == "object" and "properties" in node:
        node.setdefault("additionalProperties", False)
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture(scope="module")
def openapi():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {"paths": schema["paths"], "components": _json_schema(schema["components"])}


def _assert_served_as_declared(openapi, response, *, path: str, method: str = "get") -> None:
    """``response`` has a status, a content type and a body that ``path`` declares."""
    declared = openapi["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in declared, f"{method} {path} answered {status}, declares {sorted(declared)}"
    content_type = response["Content-Type"].split(";")[0]
    content = declared[status].get("content", {})
    assert content_type in content, f"{method} {path} {status}: {content_type} not declared"
    schema = {
        **_json_schema(copy.deepcopy(content[content_type]["schema"])),
        "components": openapi["components"],
    }
    jsonschema.validate(response.json(), schema, cls=jsonschema.Draft202012Validator)


@pytest.fixture
def demo(db):
    demo_seed()
    show = Show.objects.get(
        channel__slug=settings.LIVESHOP_DEMO_CHANNEL_SLUG, status=Show.Status.LIVE
    )
    product = show.lineup.order_by("position").first().product
    merchandiser = User.objects.get(username="merchandiser")
    show_product_pin(show=show, product_id=product.pk, actor=merchandiser)
    return {"show": show, "product": product, "merchandiser": merchandiser}


@pytest.mark.django_db
def test_the_product_list_is_served_as_declared(openapi, demo, api_client):
    response = api_client.get("/api/v1/products")

    assert response.status_code == 200
    # Prices are strings, as the schema says ("19.00", not 19.0).
    assert {type(item["min_price"]) for item in response.json()["results"]} == {str}
    _assert_served_as_declared(openapi, response, path="/api/v1/products")


@pytest.mark.django_db
def test_a_product_without_variants_has_no_min_price_as_declared(openapi, demo, api_client):
    Product.objects.filter(pk=demo["product"].pk).first().variants.all().delete()

    response = api_client.get(f"/api/v1/products?q={demo['product'].handle}")

    assert [item["min_price"] for item in response.json()["results"]] == [None]
    _assert_served_as_declared(openapi, response, path="/api/v1/products")


@pytest.mark.django_db
def test_product_appearances_are_a_page_as_declared(openapi, demo, api_client):
    response = api_client.get(f"/api/v1/products/{demo['product'].pk}/appearances")

    assert response.status_code == 200
    assert response.json()["count"] == 1
    _assert_served_as_declared(openapi, response, path="/api/v1/products/{product_id}/appearances")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("/api/v1/products/{product_id}", "/api/v1/products/{product}"),
        ("/api/v1/channels", "/api/v1/channels"),
        ("/api/v1/channels/{slug}/schedule", "/api/v1/channels/{channel}/schedule"),
        ("/api/v1/shows/{public_id}", "/api/v1/shows/{show}"),
        ("/api/v1/shows/{public_id}/pins", "/api/v1/shows/{show}/pins"),
        ("/api/v1/me", "/api/v1/me"),
    ],
)
def test_reads_are_served_as_declared(openapi, demo, path, url):
    client = client_for(demo["merchandiser"])
    response = client.get(
        url.format(
            product=demo["product"].pk,
            channel=settings.LIVESHOP_DEMO_CHANNEL_SLUG,
            show=demo["show"].public_id,
        )
    )

    assert response.status_code == 200
    _assert_served_as_declared(openapi, response, path=path)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "url", "status"),
    [
        ("/api/v1/products", "/api/v1/products?min_price=abc", 400),
        ("/api/v1/products", "/api/v1/products?page=99", 404),
        ("/api/v1/products/{product_id}", "/api/v1/products/999999", 404),
        ("/api/v1/products/{product_id}/appearances", "/api/v1/products/1/appearances?page=9", 404),
        ("/api/v1/shows/{public_id}/pins", "/api/v1/shows/nope/pins", 404),
    ],
)
def test_errors_are_served_as_declared(openapi, demo, api_client, path, url, status):
    response = api_client.get(url)

    assert response.status_code == status
    _assert_served_as_declared(openapi, response, path=path)


@pytest.mark.django_db
def test_a_bad_token_is_a_declared_401_everywhere(openapi, demo, api_client):
    Token.objects.all().delete()
    api_client.credentials(HTTP_AUTHORIZATION="Token no-such-token")

    for path in ("/api/v1/products", "/api/v1/channels"):
        response = api_client.get(path)

        assert response.status_code == 401
        _assert_served_as_declared(openapi, response, path=path)
