"""The built-in demo shop: session cart, order placement, out_of_stock, the last unit."""

import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client

from catalog.models import CartAddition, LinkClick, Order, OrderLine, Storefront, Variant
from catalog.selectors import cart_lines_priced
from catalog.services.demo_cart import CartError, order_place
from catalog.services.orders import OrderTotalError
from catalog.services.stock import OutOfStockError
from shows.links import cart_link_build
from shows.models import Show, ShowEvent, ShowMember
from shows.selectors import show_attribution_report
from shows.services import show_product_pin, show_product_unpin
from tests.factories import (
    ShowFactory,
    ShowMemberFactory,
    ShowProductFactory,
    StorefrontFactory,
    VariantFactory,
)
from tests.threads import threads_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def tee():
    return VariantFactory(
        sku="TEE-M", price=Decimal("20.00"), stock_quantity=5, product__title="Tee"
    )


def _order_key(client: Client) -> str:
    page = client.get("/shop/cart").content.decode()
    return re.search(r'name="order_key" value="([^"]+)"', page).group(1)


def _cart(client: Client) -> list[dict]:
    return client.session.get("liveshop_cart", [])


def test_add_change_remove_and_the_cart_page(tee):
    other = VariantFactory(sku="CAP", price=Decimal("9.50"), product__title="Cap")
    client = Client()

    response = client.get("/shop/cart/add", {"sku": "TEE-M", "quantity": "2"})
    assert response.status_code == 302
    assert response["Location"] == "/shop/cart"
    client.get("/shop/cart/add", {"sku": "TEE-M"})
    client.get("/shop/cart/add", {"sku": "CAP"})
    assert [(line["variant_id"], line["quantity"]) for line in _cart(client)] == [
        (tee.pk, 3),
        (other.pk, 1),
    ]

    page = client.get("/shop/cart")
    assert page.status_code == 200
    assert "Tee" in page.content.decode()
    assert page.context["total"] == Decimal("69.50")

    assert client.post(f"/shop/cart/lines/{tee.pk}", {"quantity": "1"}).status_code == 302
    assert client.post(f"/shop/cart/lines/{other.pk}/remove").status_code == 302
    assert [(line["variant_id"], line["quantity"]) for line in _cart(client)] == [(tee.pk, 1)]
    assert client.post(f"/shop/cart/lines/{tee.pk}", {"quantity": "0"}).status_code == 302
    assert _cart(client) == []
    assert CartAddition.objects.count() == 3


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"sku": "TEE-M", "quantity": "0"}, 400, "invalid_quantity"),
        ({"sku": "TEE-M", "quantity": "100"}, 400, "invalid_quantity"),
        ({"sku": "TEE-M", "quantity": "abc"}, 400, "invalid_quantity"),
        ({"sku": "NOPE"}, 404, "unknown_sku"),
        ({"sku": "x" * 5000}, 404, "unknown_sku"),
        ({"sku": "TEE\x00"}, 404, "unknown_sku"),
    ],
)
def test_bad_adds_change_nothing(tee, query, status, code):
    client = Client()

    response = client.get("/shop/cart/add", query)

    assert response.status_code == status
    assert f'data-code="{code}"' in response.content.decode()
    assert _cart(client) == []
    assert not CartAddition.objects.exists()


def test_external_shop_products_are_not_sold_in_the_demo_cart():
    VariantFactory(sku="EXT", product__storefront__kind=Storefront.Kind.SHOPIFY)

    response = Client().get("/shop/cart/add", {"sku": "EXT"})

    assert response.status_code == 404
    assert not CartAddition.objects.exists()


def test_sold_out_variants_cannot_be_added(tee):
    Variant.objects.filter(pk=tee.pk).update(stock_quantity=0)
    client = Client()

    response = client.get("/shop/cart/add", {"sku": "TEE-M"})

    assert response.status_code == 409
    assert 'data-code="out_of_stock"' in response.content.decode()
    assert _cart(client) == []


def test_bad_line_changes_change_nothing(tee):
    client = Client()
    client.get("/shop/cart/add", {"sku": "TEE-M", "quantity": "2"})

    for quantity in ("-1", "100", "x", ""):
        response = client.post(f"/shop/cart/lines/{tee.pk}", {"quantity": quantity})
        assert response.status_code == 400
        assert 'data-code="invalid_quantity"' in response.content.decode()
    assert client.post("/shop/cart/lines/999999/remove").status_code == 404
    assert [(line["variant_id"], line["quantity"]) for line in _cart(client)] == [(tee.pk, 2)]


def test_place_order_takes_stock_and_empties_the_cart(tee):
    client = Client()
    client.get("/shop/cart/add", {"sku": "TEE-M", "quantity": "2"})
    key = _order_key(client)

    response = client.post("/shop/cart/order", {"order_key": key})

    assert response.status_code == 200
    assert "Thank you for your order" in response.content.decode()
    order = Order.objects.get()
    assert (order.external_id, order.source, order.total, order.currency) == (
        f"demo-{key}",
        "demo",
        Decimal("40.00"),
        "EUR",
    )
    assert list(order.lines.values_list("sku", "quantity", "unit_price")) == [
        ("TEE-M", 2, Decimal("20.00"))
    ]
    assert Variant.objects.get(pk=tee.pk).stock_quantity == 3
    assert _cart(client) == []


def test_a_double_submitted_order_buys_once(tee):
    lines = [{"variant_id": tee.pk, "quantity": 2, "show_id": None, "pin_id": None}]

    key = "k" * 16

    first = order_place(lines=lines, viewer_key="a-x", order_key=key, issued_order_key=key)
    second = order_place(lines=lines, viewer_key="a-x", order_key=key, issued_order_key=key)

    assert [order.pk for order in first] == [order.pk for order in second]
    assert Order.objects.count() == 1
    assert Variant.objects.get(pk=tee.pk).stock_quantity == 3


def test_short_stock_refuses_the_whole_order_with_out_of_stock(tee):
    cap = VariantFactory(sku="CAP", stock_quantity=1, product__storefront=tee.product.storefront)
    client = Client()
    client.get("/shop/cart/add", {"sku": "TEE-M", "quantity": "2"})
    client.get("/shop/cart/add", {"sku": "CAP", "quantity": "1"})
    Variant.objects.filter(pk=cap.pk).update(stock_quantity=0)

    response = client.post("/shop/cart/order", {"order_key": _order_key(client)})

    assert response.status_code == 409
    assert 'data-code="out_of_stock"' in response.content.decode()
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()
    assert Variant.objects.get(pk=tee.pk).stock_quantity == 5
    assert len(_cart(client)) == 2


def test_a_spent_order_key_places_nothing_and_keeps_the_new_cart(tee):
    show = ShowFactory(status=Show.Status.LIVE)
    show_product_pin(
        show=show,
        product_id=tee.product_id,
        actor=ShowMemberFactory(show=show, role=ShowMember.Role.HOST).user,
    )
    cap = VariantFactory(sku="CAP", stock_quantity=25, product__storefront=tee.product.storefront)
    client = Client()
    client.get("/shop/cart/add", {"sku": "CAP"})
    spent_key = _order_key(client)
    assert client.post("/shop/cart/order", {"order_key": spent_key}).status_code == 200
    client.get("/shop/cart/add", {"sku": "TEE-M", "quantity": "2"})
    events_before = ShowEvent.objects.filter(show=show).count()

    response = client.post("/shop/cart/order", {"order_key": spent_key})

    assert response.status_code == 409
    page = response.content.decode()
    assert 'data-code="stale_order_key"' in page
    assert "Thank you for your order" not in page
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 1
    assert Variant.objects.get(pk=tee.pk).stock_quantity == 5
    assert Variant.objects.get(pk=cap.pk).stock_quantity == 24
    assert [(line["variant_id"], line["quantity"]) for line in _cart(client)] == [(tee.pk, 2)]
    assert ShowEvent.objects.filter(show=show).count() == events_before


def test_an_order_key_issued_to_another_session_is_refused(tee):
    mallory, viewer = Client(), Client()
    mallory.get("/shop/cart/add", {"sku": "TEE-M"})
    viewer.get("/shop/cart/add", {"sku": "TEE-M", "quantity": "3"})
    _order_key(viewer)

    response = viewer.post("/shop/cart/order", {"order_key": _order_key(mallory)})

    assert response.status_code == 409
    assert 'data-code="stale_order_key"' in response.content.decode()
    assert not Order.objects.exists()
    assert Variant.objects.get(pk=tee.pk).stock_quantity == 5
    assert [(line["variant_id"], line["quantity"]) for line in _cart(viewer)] == [(tee.pk, 3)]


def test_an_order_without_an_issued_key_is_refused(tee):
    lines = [{"variant_id": tee.pk, "quantity": 1, "show_id": None, "pin_id": None}]

    with pytest.raises(CartError) as refused:
        order_place(lines=lines, viewer_key="a-x", order_key="k" * 16, issued_order_key=None)

    assert (refused.value.code, refused.value.status_code) == ("stale_order_key", 409)
    assert not Order.objects.exists()
    assert Variant.objects.get(pk=tee.pk).stock_quantity == 5


@pytest.mark.parametrize("key", ["", "short", "x" * 200])
def test_orders_without_a_valid_form_key_are_refused(tee, key):
    client = Client()
    client.get("/shop/cart/add", {"sku": "TEE-M"})

    response = client.post("/shop/cart/order", {"order_key": key})

    assert response.status_code == 400
    assert 'data-code="invalid_order_key"' in response.content.decode()
    assert not Order.objects.exists()
    assert Variant.objects.get(pk=tee.pk).stock_quantity == 5


def test_an_empty_cart_cannot_be_ordered():
    client = Client()
    client.get("/shop/cart")
    key = client.session["liveshop_order_key"]

    response = client.post("/shop/cart/order", {"order_key": key})

    assert response.status_code == 400
    assert 'data-code="cart_empty"' in response.content.decode()


def _pinned_at_show_price(product, show_price: str, **show_fields):
    """A live show pinning ``product`` at ``show_price``: (show, moderator, pin)."""
    show = ShowFactory(status=Show.Status.LIVE, **show_fields)
    moderator = ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user
    ShowProductFactory(show=show, product=product, show_price=Decimal(show_price))
    return show, moderator, show_product_pin(show=show, product_id=product.pk, actor=moderator)


def _live_pin_with_show_price(tee):
    show, _moderator, pin = _pinned_at_show_price(tee.product, "15.00")
    return show, pin


def _link_follow(client: Client, show, pin, variant) -> str:
    """Follow a card's signed link like a browser; return the demo cart's add URL."""
    link = cart_link_build(show_id=show.pk, pin_id=pin.pk, variant_id=variant.pk)
    response = client.get(urlsplit(link).path)
    assert response.status_code == 302
    return response["Location"]


def test_show_price_applies_while_live_to_an_add_from_a_followed_link(tee):
    show, pin = _live_pin_with_show_price(tee)
    client = Client()

    client.get(_link_follow(client, show, pin, tee))

    addition = CartAddition.objects.get()
    assert (addition.show, addition.pin, addition.click) == (show, pin, LinkClick.objects.get())
    assert client.get("/shop/cart").context["total"] == Decimal("15.00")
    show.status = Show.Status.ENDED
    show.save(update_fields=["status"])
    client.post("/shop/cart/order", {"order_key": _order_key(client)})
    line = OrderLine.objects.get()
    assert (line.quantity, line.unit_price, line.show, line.pin) == (
        1,
        Decimal("20.00"),
        show,
        pin,
    )


def test_unsigned_attribution_parameters_credit_nothing(tee):
    show, pin = _live_pin_with_show_price(tee)
    client = Client()

    for _ in range(5):
        response = client.get(
            "/shop/cart/add", {"sku": "TEE-M", "ls_show": show.public_id, "ls_pin": pin.pk}
        )
        assert response.status_code == 302

    assert (
        list(CartAddition.objects.values_list("show", "pin", "quantity")) == [(None, None, 1)] * 5
    )
    assert _cart(client) == [{"variant_id": tee.pk, "quantity": 5, "show_id": None, "pin_id": None}]
    assert client.get("/shop/cart").context["total"] == Decimal("100.00")
    assert show_attribution_report(show=show)["totals"]["add_to_carts"] == 0


def test_a_click_credits_one_add_and_only_for_the_viewer_who_clicked(tee):
    show, pin = _live_pin_with_show_price(tee)
    viewer, stranger = Client(), Client()
    add_url = _link_follow(viewer, show, pin, tee)

    # Another browser (or curl) replaying the viewer's add URL is not credited.
    assert stranger.get(add_url).status_code == 302
    assert viewer.get(add_url).status_code == 302
    # The same add URL again, e.g. through the back button: the click is spent.
    assert viewer.get(add_url).status_code == 302

    click = LinkClick.objects.get()
    stranger_key = "a-" + stranger.cookies["liveshop_vid"].value
    assert stranger_key != click.viewer_key
    assert list(
        CartAddition.objects.order_by("pk").values_list("viewer_key", "show", "pin", "click")
    ) == [
        (stranger_key, None, None, None),
        (click.viewer_key, show.pk, pin.pk, click.pk),
        (click.viewer_key, None, None, None),
    ]
    assert _cart(stranger) == [
        {"variant_id": tee.pk, "quantity": 1, "show_id": None, "pin_id": None}
    ]
    assert _cart(viewer) == [
        {"variant_id": tee.pk, "quantity": 2, "show_id": show.pk, "pin_id": pin.pk}
    ]
    assert show_attribution_report(show=show)["totals"]["add_to_carts"] == 1


@pytest.mark.parametrize(
    "click",
    [
        "nope",
        signing.dumps(1, salt="another-salt"),
        signing.dumps("x", salt="liveshop.cart-add-click"),
        signing.dumps(10**30, salt="liveshop.cart-add-click"),
    ],
    ids=["unsigned", "other-salt", "not-an-id", "out-of-range-id"],
)
def test_a_forged_click_token_credits_nothing(tee, click):
    show, pin = _live_pin_with_show_price(tee)
    client = Client()
    add_url = _link_follow(client, show, pin, tee)
    query = parse_qs(urlsplit(add_url).query)
    query["ls_click"] = [click]

    response = client.get("/shop/cart/add", {key: values[0] for key, values in query.items()})

    assert response.status_code == 302
    assert list(CartAddition.objects.values_list("show", "pin", "click")) == [(None, None, None)]
    assert _cart(client) == [{"variant_id": tee.pk, "quantity": 1, "show_id": None, "pin_id": None}]


def test_a_click_on_another_variant_credits_nothing(tee):
    show, pin = _live_pin_with_show_price(tee)
    other = VariantFactory(sku="TEE-L", product=tee.product)
    client = Client()
    add_url = _link_follow(client, show, pin, other)
    query = {key: values[0] for key, values in parse_qs(urlsplit(add_url).query).items()}

    client.get("/shop/cart/add", {**query, "sku": "TEE-M"})

    assert list(CartAddition.objects.values_list("variant", "show", "click")) == [
        (tee.pk, None, None)
    ]


def test_an_order_of_a_pinned_variant_tells_the_show_its_stock(tee):
    storefront = tee.product.storefront
    storefront.low_stock_threshold = 3
    storefront.save(update_fields=["low_stock_threshold"])
    show = ShowFactory(status=Show.Status.LIVE)
    show_product_pin(
        show=show,
        product_id=tee.product_id,
        actor=ShowMemberFactory(show=show, role=ShowMember.Role.HOST).user,
    )
    lines = [{"variant_id": tee.pk, "quantity": 2, "show_id": None, "pin_id": None}]

    order_place(
        lines=lines, viewer_key="a-x", order_key="key-00000001", issued_order_key="key-00000001"
    )

    event = ShowEvent.objects.filter(show=show).latest("seq")
    assert (event.type, event.data) == (
        "stock.changed",
        {
            "product_id": tee.product_id,
            "variant_id": tee.pk,
            "sku": "TEE-M",
            "stock_state": "low",
            "left": 3,
        },
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_for_the_last_item_exactly_one_succeeds():
    storefront = StorefrontFactory()
    variant = VariantFactory(sku="LAST-ONE", stock_quantity=1, product__storefront=storefront)
    buyers = 8

    def buy(number: int) -> str:
        try:
            order_place(
                lines=[{"variant_id": variant.pk, "quantity": 1, "show_id": None, "pin_id": None}],
                viewer_key=f"a-buyer-{number}",
                order_key=f"buyer-key-{number:04d}",
                issued_order_key=f"buyer-key-{number:04d}",
            )
        except OutOfStockError:
            return "out_of_stock"
        return "ordered"

    outcomes = threads_run(buy, buyers)

    assert sorted(outcomes) == ["ordered"] + ["out_of_stock"] * (buyers - 1)
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 0
    assert Order.objects.count() == 1
    assert OrderLine.objects.get().quantity == 1


def test_orders_are_listed_read_only_in_the_admin(tee):
    order_place(
        lines=[{"variant_id": tee.pk, "quantity": 1, "show_id": None, "pin_id": None}],
        viewer_key="a-x",
        order_key="admin-key-01",
        issued_order_key="admin-key-01",
    )
    client = Client()
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    order = Order.objects.get()

    listing = client.get("/admin/catalog/order/")
    detail = client.get(f"/admin/catalog/order/{order.pk}/change/")
    refused = client.post(f"/admin/catalog/order/{order.pk}/change/", {"total": "0"})

    assert listing.status_code == 200
    assert "demo-admin-key-01" in listing.content.decode()
    assert detail.status_code == 200
    assert "TEE-M" in detail.content.decode()
    assert refused.status_code == 403
    assert Order.objects.get().total == Decimal("20.00")


def test_a_show_price_only_while_pinned_ends_with_the_pin(tee):
    show, moderator, pin = _pinned_at_show_price(
        tee.product, "15.00", show_price_while_pinned_only=True
    )
    lines = [{"variant_id": tee.pk, "quantity": 2, "show_id": show.pk, "pin_id": pin.pk}]

    [while_pinned] = cart_lines_priced(lines=lines)
    show_product_unpin(show=show, pin_id=pin.pk, actor=moderator)
    [after_unpin] = cart_lines_priced(lines=lines)

    assert (while_pinned.unit_price, while_pinned.total) == (Decimal("15.00"), Decimal("30.00"))
    assert (after_unpin.unit_price, after_unpin.total) == (Decimal("20.00"), Decimal("40.00"))


@pytest.mark.postgres
def test_a_demo_order_total_beyond_what_is_stored_is_refused():
    storefront = StorefrontFactory()
    dear = [
        VariantFactory(product__storefront=storefront, price=Decimal("99999999.99"))
        for _ in range(2)
    ]
    lines = [
        {"variant_id": variant.pk, "quantity": 99, "show_id": None, "pin_id": None}
        for variant in dear
    ]

    with pytest.raises(OrderTotalError) as refused:
        order_place(lines=lines, viewer_key="a-x", order_key="k" * 16, issued_order_key="k" * 16)

    assert (refused.value.code, refused.value.status_code) == ("order_total_too_large", 400)
    assert refused.value.message == (
        "The order's total exceeds 9999999999.99, the largest total stored."
    )
    assert not Order.objects.exists()
    assert [variant.stock_quantity for variant in Variant.objects.order_by("pk")] == [10, 10]


def test_a_demo_cart_in_two_currencies_is_refused(tee):
    dollars = VariantFactory(product__storefront=tee.product.storefront, currency="USD")
    lines = [
        {"variant_id": tee.pk, "quantity": 1, "show_id": None, "pin_id": None},
        {"variant_id": dollars.pk, "quantity": 1, "show_id": None, "pin_id": None},
    ]

    with pytest.raises(CartError) as refused:
        order_place(lines=lines, viewer_key="a-x", order_key="k" * 16, issued_order_key="k" * 16)

    assert (refused.value.code, refused.value.status_code) == ("mixed_currencies", 400)
    assert not Order.objects.exists()
    assert Variant.objects.get(pk=tee.pk).stock_quantity == 5
    assert Variant.objects.get(pk=dollars.pk).stock_quantity == 10


def test_a_show_price_only_while_pinned_applies_again_when_the_product_is_pinned_again(tee):
    show, moderator, first_pin = _pinned_at_show_price(
        tee.product, "15.00", show_price_while_pinned_only=True
    )
    lines = [{"variant_id": tee.pk, "quantity": 2, "show_id": show.pk, "pin_id": first_pin.pk}]
    show_product_unpin(show=show, pin_id=first_pin.pk, actor=moderator)
    _pinned_at_show_price(tee.product, "12.00", show_price_while_pinned_only=True)

    # Pinned in another show only: this line's show price does not apply.
    [pinned_elsewhere] = cart_lines_priced(lines=lines)
    show_product_pin(show=show, product_id=tee.product_id, actor=moderator)
    [pinned_again] = cart_lines_priced(lines=lines)

    assert (pinned_elsewhere.unit_price, pinned_elsewhere.total) == (
        Decimal("20.00"),
        Decimal("40.00"),
    )
    assert (pinned_again.unit_price, pinned_again.total) == (Decimal("15.00"), Decimal("30.00"))
