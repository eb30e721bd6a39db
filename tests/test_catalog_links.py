"""Signed add-to-cart links: the tracked redirect, its refusals and the recorded click."""

import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client

from catalog.models import LinkClick, Storefront
from catalog.selectors import viewer_key_for_user
from shows.links import CART_LINK_SALT, cart_link_build
from shows.models import Show, ShowMember
from shows.services import show_product_pin
from tests.factories import (
    ShowFactory,
    ShowMemberFactory,
    StorefrontFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def show():
    return ShowFactory(status=Show.Status.LIVE)


def _pinned(show, sku="TEE-M", **storefront_fields):
    storefront = StorefrontFactory(**storefront_fields)
    variant = VariantFactory(
        product__storefront=storefront, sku=sku, external_id="4711", price=Decimal("20.00")
    )
    moderator = ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user
    pin = show_product_pin(show=show, product_id=variant.product_id, actor=moderator)
    return variant, pin


def _path(url: str) -> str:
    return urlsplit(url).path


def test_valid_link_records_a_click_and_redirects_to_the_demo_cart(show, settings):
    settings.PUBLIC_BASE_URL = "https://live.example.com"
    variant, pin = _pinned(show)
    link = cart_link_build(show_id=show.pk, pin_id=pin.pk, variant_id=variant.pk, quantity=2)
    client = Client()

    response = client.get(_path(link))

    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.path == "/shop/cart/add"
    query = parse_qs(target.query)
    click_token = query.pop("ls_click")
    assert query == {"sku": ["TEE-M"], "quantity": ["2"]}
    click = LinkClick.objects.get()
    # The demo cart learns show and pin from the signed click, not from the URL.
    assert signing.loads(click_token[0], salt="liveshop.cart-add-click") == click.pk
    assert (click.show, click.pin, click.product, click.variant) == (
        show,
        pin,
        variant.product,
        variant,
    )
    cookie = response.cookies["liveshop_vid"].value
    assert click.viewer_key == "a-" + cookie
    # The same browser keeps its pseudonymous id.
    client.get(_path(link))
    assert list(LinkClick.objects.values_list("viewer_key", flat=True).distinct()) == [
        "a-" + cookie
    ]


def test_signed_in_viewers_are_recorded_under_a_pseudonym(show):
    variant, pin = _pinned(show)
    user = UserFactory()
    client = Client()
    client.force_login(user)

    client.get(_path(cart_link_build(show_id=show.pk, pin_id=pin.pk, variant_id=variant.pk)))

    key = LinkClick.objects.get().viewer_key
    assert key == viewer_key_for_user(user_id=user.pk)
    assert key.startswith("u-")
    assert len(key) == 32
    assert key != viewer_key_for_user(user_id=user.pk + 1)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            Storefront.Kind.SHOPIFY,
            "https://shop.example.com/cart/4711:1?attributes%5Bls_show%5D={show}&attributes%5Bls_pin%5D={pin}",
        ),
        (
            Storefront.Kind.WOOCOMMERCE,
            "https://shop.example.com/?add-to-cart=4711&quantity=1&ls_show={show}&ls_pin={pin}",
        ),
    ],
)
def test_external_shops_get_their_cart_url_with_attribution(show, kind, expected):
    variant, pin = _pinned(show, kind=kind, base_url="https://shop.example.com")

    response = Client().get(
        _path(cart_link_build(show_id=show.pk, pin_id=pin.pk, variant_id=variant.pk))
    )

    assert response.status_code == 302
    assert response["Location"] == expected.format(show=show.public_id, pin=pin.pk)


def _refused(response, status: int, code: str, text: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert f'data-code="{code}"' in body
    assert text in body
    assert not LinkClick.objects.exists()


def test_tampered_links_get_an_error_page(show):
    variant, pin = _pinned(show)
    other, _ = _pinned(ShowFactory(status=Show.Status.LIVE), sku="OTHER")
    link = _path(cart_link_build(show_id=show.pk, pin_id=pin.pk, variant_id=variant.pk))
    token = link.removeprefix("/shop/go/")
    payload = signing.loads(token, salt=CART_LINK_SALT)
    body, signature = token.rsplit(":", 1)
    # Swap the variant but keep the old signature.
    forged_body = signing.dumps({**payload, "v": other.pk}, salt=CART_LINK_SALT, compress=False)
    forged = forged_body.rsplit(":", 1)[0] + ":" + signature

    for bad in (forged, token[:-1] + ("A" if token[-1] != "A" else "B"), "garbage", body):
        _refused(Client().get(f"/shop/go/{bad}"), 400, "invalid_link", "This link is not valid")


def test_a_link_signed_for_another_salt_or_with_wrong_fields_is_refused(show):
    variant, pin = _pinned(show)
    other_salt = signing.dumps({"s": show.pk, "p": pin.pk, "v": variant.pk, "q": 1, "e": 2**40})
    wrong_types = signing.dumps(
        {"s": show.pk, "p": pin.pk, "v": variant.pk, "q": "1", "e": 2**40}, salt=CART_LINK_SALT
    )
    other_pin = signing.dumps(
        {"s": show.pk, "p": pin.pk + 1000, "v": variant.pk, "q": 1, "e": 2**40}, salt=CART_LINK_SALT
    )

    for token in (other_salt, wrong_types, other_pin):
        _refused(Client().get(f"/shop/go/{token}"), 400, "invalid_link", "not valid")


@pytest.mark.parametrize("field", ["s", "p", "v", "q"])
@pytest.mark.parametrize("value", [2**63, 10**30, 0, -1])
def test_a_signed_link_with_an_id_out_of_range_is_refused(show, field, value):
    variant, pin = _pinned(show)
    payload = {"s": show.pk, "p": pin.pk, "v": variant.pk, "q": 1, "e": 2**40, field: value}
    token = signing.dumps(payload, salt=CART_LINK_SALT)

    _refused(Client().get(f"/shop/go/{token}"), 400, "invalid_link", "not valid")


def test_expired_links_get_an_expired_page(show, settings):
    variant, pin = _pinned(show)
    settings.LIVESHOP_CART_LINK_SECONDS = 60
    link = cart_link_build(
        show_id=show.pk, pin_id=pin.pk, variant_id=variant.pk, now=time.time() - 61
    )

    _refused(Client().get(_path(link)), 410, "link_expired", "This link has expired")


def test_sold_out_variants_get_a_sold_out_page(show):
    variant, pin = _pinned(show)
    variant.stock_quantity = 0
    variant.save(update_fields=["stock_quantity"])
    link = cart_link_build(show_id=show.pk, pin_id=pin.pk, variant_id=variant.pk)

    response = Client().get(_path(link))

    _refused(response, 409, "sold_out", "Sold out")
    assert variant.product.title in response.content.decode()


def test_links_are_get_only(show):
    variant, pin = _pinned(show)

    # The real server checks CSRF on every POST; the test client must too.
    response = Client(enforce_csrf_checks=True).post(
        _path(cart_link_build(show_id=show.pk, pin_id=pin.pk, variant_id=variant.pk))
    )

    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert "CSRF" not in response.content.decode()
    assert not LinkClick.objects.exists()
