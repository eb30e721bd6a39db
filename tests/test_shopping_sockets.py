"""Pins and stock through the real show socket, and the whole shopping flow end to end."""

import re
import time
from urllib.parse import urlsplit

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from rest_framework.authtoken.models import Token

from catalog.services.stock import variant_stock_adjust
from shows.models import Show, ShowMember
from shows.services import show_go_live, show_product_pin
from tests import factories
from tests.conftest import client_for
from tests.sockets import batch_events, frame_receive, frames_until, hub_shutdown, socket_open

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _has_event(kind: str):
    return lambda frame: (
        frame["type"] == "batch" and any(event["type"] == kind for event in frame["events"])
    )


@database_sync_to_async
def _setup_pinned(shows: int = 1) -> tuple[list[Show], object]:
    variant = factories.VariantFactory(
        sku="BOOT-40",
        stock_quantity=4,
        product__title="Winter boots",
        product__storefront__low_stock_threshold=3,
    )
    result = []
    for _ in range(shows):
        show = factories.ShowFactory(status=Show.Status.LIVE)
        moderator = factories.ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user
        show_product_pin(show=show, product_id=variant.product_id, actor=moderator)
        result.append(show)
    return result, variant


async def test_the_snapshot_holds_the_current_pins():
    [show], variant = await _setup_pinned()
    try:
        viewer = await socket_open(show.public_id)
        snapshot = await frame_receive(viewer)
        [pin] = snapshot["pins"]
        assert pin["product"]["title"] == "Winter boots"
        assert [v["sku"] for v in pin["product"]["variants"]] == ["BOOT-40"]
        assert pin["end_offset"] is None
        await viewer.disconnect()
    finally:
        await hub_shutdown()


async def test_stock_changes_reach_viewers_of_every_show_pinning_the_variant():
    shows, variant = await _setup_pinned(shows=2)
    try:
        viewers = [await socket_open(show.public_id) for show in shows]
        for viewer in viewers:
            await frame_receive(viewer)

        started = time.monotonic()
        await database_sync_to_async(variant_stock_adjust)(
            storefront=variant.product.storefront, sku="BOOT-40", delta=-4
        )

        for viewer in viewers:
            frames = await frames_until(viewer, _has_event("stock.changed"))
            # The promise: stock changes reach viewers within a second.
            assert time.monotonic() - started < 1.0
            [event] = [e for e in batch_events(frames) if e["type"] == "stock.changed"]
            assert event["data"] == {
                "product_id": variant.product_id,
                "variant_id": variant.pk,
                "sku": "BOOT-40",
                "stock_state": "sold_out",
                "left": None,
            }
            await viewer.disconnect()
    finally:
        await hub_shutdown()


@database_sync_to_async
def _scheduled_show_with_team():
    show = factories.ShowFactory(status=Show.Status.SCHEDULED)
    moderator = factories.ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user
    variant = factories.VariantFactory(
        sku="TEE-M", stock_quantity=6, product__title="Tee", price="20.00"
    )
    factories.ShowProductFactory(show=show, product=variant.product, show_price="15.00")
    return show, moderator, variant, Token.objects.create(user=moderator).key


def _follow_link_and_order(link: str) -> tuple[int, int]:
    """A viewer's browser: follow the card's link, land in the cart, order."""
    browser = Client()
    response = browser.get(urlsplit(link).path)
    assert response.status_code == 302
    response = browser.get(response["Location"])  # the demo cart's add URL
    assert response.status_code == 302
    cart = browser.get(response["Location"])
    assert cart.status_code == 200
    key = re.search(r'name="order_key" value="([^"]+)"', cart.content.decode()).group(1)
    placed = browser.post("/shop/cart/order", {"order_key": key})
    assert placed.status_code == 200
    # The same form sent again buys nothing more: its key is spent.
    again = browser.post("/shop/cart/order", {"order_key": key})
    assert again.status_code == 409
    assert 'data-code="stale_order_key"' in again.content.decode()
    return placed.status_code, cart.status_code


async def test_full_flow_from_pin_to_report():
    show, moderator, variant, token = await _scheduled_show_with_team()
    try:
        # The show goes live; a viewer is watching.
        await database_sync_to_async(show_go_live)(show=show)
        viewer = await socket_open(show.public_id)
        assert (await frame_receive(viewer))["pins"] == []
        host_console = await database_sync_to_async(client_for)(moderator)

        # The moderator pins the product over REST.
        response = await database_sync_to_async(host_console.post)(
            f"/api/v1/shows/{show.public_id}/pins",
            {"product_id": variant.product_id},
            format="json",
        )
        assert response.status_code == 201

        # The viewer's socket gets the whole card.
        frames = await frames_until(viewer, _has_event("product.pinned"))
        [pinned] = [e for e in batch_events(frames) if e["type"] == "product.pinned"]
        [card_variant] = pinned["data"]["product"]["variants"]
        assert card_variant["show_price"] == "15.00"
        assert card_variant["stock_state"] == "in_stock"

        # The viewer follows the link, adds to the cart and orders.
        await database_sync_to_async(_follow_link_and_order)(card_variant["add_to_cart_url"])

        # The order's stock change reaches the socket too.
        frames = await frames_until(viewer, _has_event("stock.changed"))
        [stock] = [e for e in batch_events(frames) if e["type"] == "stock.changed"]
        assert (stock["data"]["stock_state"], stock["data"]["left"]) == ("low", 5)

        report = await database_sync_to_async(host_console.get)(
            f"/api/v1/shows/{show.public_id}/report"
        )
        assert report.status_code == 200
        body = report.json()
        expected = {
            "clicks": 1,
            "unique_clickers": 1,
            "add_to_carts": 1,
            "orders": 1,
            "revenue": {"EUR": "15.00"},
            "conversion": 1.0,
        }
        assert body["totals"] == expected
        [pin_row] = body["pins"]
        assert pin_row["pin_id"] == pinned["data"]["id"]
        assert {key: pin_row[key] for key in expected} == expected
        await viewer.disconnect()
    finally:
        await hub_shutdown()
