"""Catalog admin pages render and products can be autocompleted."""

import pytest

from tests.factories import ProductImageFactory, StorefrontFactory, UserFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True))
    return client


def test_product_change_page_shows_variant_and_image_inlines(admin_client):
    variant = VariantFactory(sku="ADM-1")
    ProductImageFactory(product=variant.product, url="https://images.example.com/adm.jpg")

    response = admin_client.get(f"/admin/catalog/product/{variant.product.pk}/change/")

    assert response.status_code == 200
    content = response.content.decode()
    assert 'value="ADM-1"' in content
    assert 'value="https://images.example.com/adm.jpg"' in content


@pytest.mark.parametrize(
    "path",
    [
        "/admin/catalog/storefront/",
        "/admin/catalog/product/?is_active__exact=1",
        "/admin/catalog/product/?q=ADM",
        "/admin/catalog/incomingwebhook/",
    ],
)
def test_catalog_changelists_render(admin_client, path):
    VariantFactory(sku="ADM-2")

    assert admin_client.get(path).status_code == 200


def test_product_search_finds_title_handle_and_sku(admin_client):
    VariantFactory(sku="ZZ-SKU", product__title="Woollen hat", product__handle="hat-wool")
    VariantFactory(sku="OTHER", product__title="Boots", product__handle="boots")

    for term in ("woollen", "hat-wool", "zz-sku"):
        response = admin_client.get(f"/admin/catalog/product/?q={term}")
        assert list(response.context["cl"].result_list.values_list("title", flat=True)) == [
            "Woollen hat"
        ]


def test_a_merchandiser_finds_the_storefront_webhook_secret_in_the_admin(admin_client):
    storefront = StorefrontFactory(webhook_secret="whsec-for-the-shop-settings")

    page = admin_client.get(f"/admin/catalog/storefront/{storefront.pk}/change/")

    assert page.status_code == 200
    body = page.content.decode()
    assert "Webhook secret" in body
    assert 'value="whsec-for-the-shop-settings"' in body
