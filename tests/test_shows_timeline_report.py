"""Shoppable replays (timeline, appearances) and the attribution report."""

import datetime as dt
import json
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.test import Client

from catalog.models import CartAddition, LinkClick, Order, OrderLine
from liveshop.common.webhooks import webhook_headers_build
from shows.links import cart_link_build
from shows.models import Show, ShowMember
from shows.selectors import show_attribution_report, show_pin_timeline
from shows.services import show_end, show_product_pin, show_product_unpin
from tests.conftest import client_for
from tests.factories import (
    ProductImageFactory,
    ShowFactory,
    ShowMemberFactory,
    ShowProductFactory,
    StorefrontFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

STARTED = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.UTC)


def _at(minutes: float) -> dt.datetime:
    return STARTED + dt.timedelta(minutes=minutes)


@pytest.fixture
def show():
    return ShowFactory(status=Show.Status.LIVE, actual_start=STARTED)


@pytest.fixture
def moderator(show):
    return ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user


def test_the_timeline_after_the_show_ends(show, moderator):
    boots = VariantFactory(sku="BOOT", product__title="Boots").product
    scarf = VariantFactory(sku="SCARF", product__title="Scarf").product
    ShowProductFactory(show=show, product=boots, show_price=Decimal("1.00"))
    first = show_product_pin(show=show, product_id=boots.pk, actor=moderator, now=_at(2))
    show_product_unpin(show=show, pin_id=first.pk, actor=moderator, now=_at(6))
    second = show_product_pin(show=show, product_id=scarf.pk, actor=moderator, now=_at(7))
    again = show_product_pin(show=show, product_id=boots.pk, actor=moderator, now=_at(9.5))
    show_end(show=show)
    show.refresh_from_db()

    response = client_for(None).get(f"/api/v1/shows/{show.public_id}/pins")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["id"], row["product"]["title"], row["start_offset"]) for row in rows] == [
        (first.pk, "Boots", 120.0),
        (second.pk, "Scarf", 420.0),
        (again.pk, "Boots", 570.0),
    ]
    assert rows[0]["end_offset"] == 360.0
    ended_offset = (show.actual_end - STARTED).total_seconds()
    assert rows[1]["end_offset"] == pytest.approx(ended_offset, abs=0.001)
    # After the show, cards carry the normal price and still-working links.
    assert rows[0]["product"]["variants"][0]["show_price"] is None
    link = rows[0]["product"]["variants"][0]["add_to_cart_url"]
    assert Client().get(urlsplit(link).path).status_code == 302


def test_the_timeline_costs_the_same_queries_whatever_its_size(
    show, moderator, django_assert_num_queries
):
    for _ in range(3):
        product = VariantFactory().product
        VariantFactory(product=product)
        pin = show_product_pin(show=show, product_id=product.pk, actor=moderator)
        show_product_unpin(show=show, pin_id=pin.pk, actor=moderator)
    client = client_for(None)

    # show lookup, pins, variants, images, show prices
    with django_assert_num_queries(5):
        response = client.get(f"/api/v1/shows/{show.public_id}/pins")
    assert len(response.json()["results"]) == 3


def test_timelines_of_hidden_shows_are_404(moderator):
    draft = ShowFactory(status=Show.Status.DRAFT)

    assert client_for(UserFactory()).get(f"/api/v1/shows/{draft.public_id}/pins").status_code == 404


def test_a_product_appearances_across_shows(show, moderator):
    boots = VariantFactory().product
    show_product_pin(show=show, product_id=boots.pk, actor=moderator, now=_at(3))
    show_end(show=show)
    later = ShowFactory(status=Show.Status.LIVE, actual_start=_at(600))
    show_product_pin(
        show=later,
        product_id=boots.pk,
        actor=UserFactory(role="merchandiser"),
        now=_at(601),
    )
    private = ShowFactory(status=Show.Status.LIVE, actual_start=_at(900), is_private=True)
    show_product_pin(show=private, product_id=boots.pk, actor=UserFactory(role="merchandiser"))

    response = client_for(None).get(f"/api/v1/products/{boots.pk}/appearances")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [(row["show"], row["start_offset"], row["show_status"]) for row in body["results"]] == [
        (later.public_id, 60.0, "live"),
        (show.public_id, 180.0, "ended"),
    ]
    assert (
        client_for(None).get("/api/v1/products/999999999999999999999/appearances").status_code
        == 404
    )


def _webhook(storefront, body: dict, webhook_id: str):
    raw = json.dumps(body).encode()
    headers = webhook_headers_build(
        secret=storefront.webhook_secret, webhook_id=webhook_id, body=raw
    )
    return Client().generic(
        "POST",
        f"/api/v1/webhooks/storefronts/{storefront.slug}/orders",
        raw,
        content_type="application/json",
        **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()},
    )


def test_report_counts_each_event_once(show, moderator):
    demo = VariantFactory(sku="DEMO-1", price=Decimal("20.00"), stock_quantity=50)
    shop = StorefrontFactory(kind="woocommerce", base_url="https://shop.example.com")
    external = VariantFactory(product__storefront=shop, sku="EXT-1", stock_quantity=50)
    demo_pin = show_product_pin(show=show, product_id=demo.product_id, actor=moderator)
    external_pin = show_product_pin(show=show, product_id=external.product_id, actor=moderator)

    anna, ben = Client(), Client()
    demo_link = cart_link_build(show_id=show.pk, pin_id=demo_pin.pk, variant_id=demo.pk)
    path = urlsplit(demo_link).path
    # Anna double-clicks, then adds and orders; Ben clicks once and leaves.
    cart_url = anna.get(path)["Location"]
    anna.get(path)
    anna.get(cart_url)
    page = anna.get("/shop/cart").content.decode()
    key = page.split('name="order_key" value="')[1].split('"')[0]
    assert anna.post("/shop/cart/order", {"order_key": key}).status_code == 200
    ben.get(path)
    # An external order, delivered twice.
    order = {
        "id": "W-1",
        "currency": "EUR",
        "lines": [{"sku": "EXT-1", "quantity": 3, "unit_price": "5.00"}],
        "attribution": {"ls_show": show.public_id, "ls_pin": external_pin.pk},
    }
    assert _webhook(shop, order, "d1").json() == {"status": "applied"}
    assert _webhook(shop, order, "d2").json() == {"status": "duplicate"}

    report = show_attribution_report(show=show)

    assert report["totals"] == {
        "clicks": 3,
        "unique_clickers": 2,
        "add_to_carts": 1,
        "orders": 2,
        "revenue": {"EUR": "35.00"},
        "conversion": 1.0,
    }
    by_pin = {row["pin_id"]: row for row in report["pins"]}
    assert {key: by_pin[demo_pin.pk][key] for key in report["totals"]} == {
        "clicks": 3,
        "unique_clickers": 2,
        "add_to_carts": 1,
        "orders": 1,
        "revenue": {"EUR": "20.00"},
        "conversion": 0.5,
    }
    assert {key: by_pin[external_pin.pk][key] for key in report["totals"]} == {
        "clicks": 0,
        "unique_clickers": 0,
        "add_to_carts": 0,
        "orders": 1,
        "revenue": {"EUR": "15.00"},
        "conversion": None,
    }
    assert (LinkClick.objects.count(), CartAddition.objects.count(), Order.objects.count()) == (
        3,
        1,
        2,
    )
    assert OrderLine.objects.count() == 2


def test_report_permissions_and_query_count(show, moderator, django_assert_num_queries):
    url = f"/api/v1/shows/{show.public_id}/report"
    for _ in range(3):
        show_product_pin(show=show, product_id=VariantFactory().product_id, actor=moderator)

    assert client_for(None).get(url).status_code == 401
    assert client_for(UserFactory()).get(url).status_code == 403
    other = ShowMemberFactory(role=ShowMember.Role.MODERATOR).user
    assert client_for(other).get(url).status_code == 403
    staff = ShowMemberFactory(show=show, role=ShowMember.Role.SERVICE_STAFF).user
    assert client_for(staff).get(url).status_code == 403
    client = client_for(moderator)
    # show, role, then: clicks total, add-to-carts, orders, revenue, clicks, adds,
    # orders and revenue per pin, pins
    with django_assert_num_queries(11):
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.json()["pins"]) == 3
    assert response.json()["totals"]["conversion"] is None


@pytest.mark.parametrize("pins", [1, 3])
def test_snapshot_pins_cost_the_same_queries_whatever_their_number(
    show, moderator, django_assert_num_queries, pins
):
    from shows.selectors import show_pins_open_payload

    for _ in range(pins):
        product = VariantFactory().product
        VariantFactory(product=product)
        show_product_pin(show=show, product_id=product.pk, actor=moderator)

    # pins with products and storefronts, variants, images, show prices
    with django_assert_num_queries(4):
        payload = show_pins_open_payload(show=show)
    assert len(payload) == pins


def test_appearances_cost_the_same_queries_whatever_their_number(
    moderator, django_assert_num_queries
):
    product = VariantFactory().product
    merchandiser = UserFactory(role="merchandiser")
    for number in range(3):
        show = ShowFactory(status=Show.Status.LIVE, actual_start=_at(number * 200))
        show_product_pin(show=show, product_id=product.pk, actor=merchandiser)
    client = client_for(None)

    # count, page
    with django_assert_num_queries(2):
        response = client.get(f"/api/v1/products/{product.pk}/appearances")
    assert response.json()["count"] == 3


def _without_links(pins: list[dict]) -> list[dict]:
    # Links are signed with the current second, so two builds may differ.
    return [
        {
            **pin,
            "product": {
                **pin["product"],
                "variants": [
                    {**variant, "add_to_cart_url": urlsplit(variant["add_to_cart_url"]).path[:9]}
                    for variant in pin["product"]["variants"]
                ],
            },
        }
        for pin in pins
    ]


def test_rest_timeline_and_report_send_everything_their_schema_describes(show, moderator):
    boots = VariantFactory(sku="BOOT", product__title="Boots", stock_quantity=2).product
    ProductImageFactory(product=boots, url="https://img.example.com/boots.jpg")
    ShowProductFactory(show=show, product=boots, show_price=Decimal("9.00"))
    first = show_product_pin(show=show, product_id=boots.pk, actor=moderator, now=_at(2))
    show_product_unpin(show=show, pin_id=first.pk, actor=moderator, now=_at(4))
    show_product_pin(show=show, product_id=VariantFactory().product_id, actor=moderator)
    client = client_for(moderator)

    timeline = client.get(f"/api/v1/shows/{show.public_id}/pins").json()
    report = client.get(f"/api/v1/shows/{show.public_id}/report").json()

    expected = _without_links(show_pin_timeline(show=show))
    assert _without_links(timeline["results"]) == expected
    assert expected[0]["product"]["variants"][0]["add_to_cart_url"] == "/shop/go/"
    assert expected[0]["product"]["image"] == {
        "url": "https://img.example.com/boots.jpg",
        "alt_text": "",
    }
    assert list(timeline) == ["results"]
    assert report == show_attribution_report(show=show)
