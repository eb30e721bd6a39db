"""Pinning products to a live show: permissions, limits, the card, offsets, REST."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import signing
from django.utils import timezone

from liveshop.common.exceptions import ConflictError, NotFoundError, PermissionDeniedError
from shows.links import CART_LINK_SALT
from shows.models import Show, ShowEvent, ShowMember, ShowPin, ShowProduct
from shows.services import show_end, show_lineup_add, show_product_pin, show_product_unpin
from tests.conftest import client_for
from tests.factories import (
    ProductFactory,
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


@pytest.fixture
def show():
    return ShowFactory(status=Show.Status.LIVE, actual_start=STARTED)


@pytest.fixture
def moderator(show):
    return ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user


@pytest.fixture
def boots():
    storefront = StorefrontFactory(slug="boots-shop", low_stock_threshold=3)
    product = ProductFactory(storefront=storefront, handle="winter-boots", title="Winter boots")
    ProductImageFactory(product=product, url="https://img.example.com/boots.jpg", alt_text="Boots")
    VariantFactory(
        product=product,
        sku="BOOT-40",
        title="40 / black",
        options={"size": "40", "colour": "black"},
        price=Decimal("89.00"),
        compare_at_price=Decimal("119.00"),
        stock_quantity=12,
        position=0,
    )
    VariantFactory(
        product=product,
        sku="BOOT-41",
        title="41 / black",
        options={"size": "41", "colour": "black"},
        price=Decimal("89.00"),
        stock_quantity=2,
        position=1,
    )
    VariantFactory(
        product=product,
        sku="BOOT-42",
        title="42",
        price=Decimal("89.00"),
        stock_quantity=0,
        position=2,
    )
    return product


def _events(show) -> list[tuple[str, dict]]:
    return [
        (event.type, event.data) for event in ShowEvent.objects.filter(show=show).order_by("seq")
    ]


def _pin(show, product, actor, minutes=5):
    return show_product_pin(
        show=show, product_id=product.pk, actor=actor, now=STARTED + dt.timedelta(minutes=minutes)
    )


def test_pin_event_carries_the_whole_card(show, moderator, boots, settings):
    settings.PUBLIC_BASE_URL = "https://live.example.com"
    ShowProductFactory(show=show, product=boots, show_price=Decimal("69.00"))

    pin = _pin(show, boots, moderator, minutes=12)

    assert pin.start_offset_ms == 12 * 60 * 1000
    assert pin.pinned_by == moderator
    [(kind, data)] = _events(show)
    assert kind == "product.pinned"
    links = [variant.pop("add_to_cart_url") for variant in data["product"]["variants"]]
    assert data == {
        "id": pin.pk,
        "pinned_at": "2026-11-23T18:12:00Z",
        "unpinned_at": None,
        "start_offset": 720.0,
        "end_offset": None,
        "product": {
            "id": boots.pk,
            "handle": "winter-boots",
            "title": "Winter boots",
            "description": "A product shown in live shows.",
            "image": {"url": "https://img.example.com/boots.jpg", "alt_text": "Boots"},
            "storefront": "boots-shop",
            "variants": [
                {
                    "id": boots.variants.get(sku="BOOT-40").pk,
                    "sku": "BOOT-40",
                    "title": "40 / black",
                    "options": {"size": "40", "colour": "black"},
                    "price": "89.00",
                    "compare_at_price": "119.00",
                    "show_price": "69.00",
                    "currency": "EUR",
                    "stock_state": "in_stock",
                    "left": None,
                },
                {
                    "id": boots.variants.get(sku="BOOT-41").pk,
                    "sku": "BOOT-41",
                    "title": "41 / black",
                    "options": {"size": "41", "colour": "black"},
                    "price": "89.00",
                    "compare_at_price": None,
                    "show_price": "69.00",
                    "currency": "EUR",
                    "stock_state": "low",
                    "left": 2,
                },
                {
                    "id": boots.variants.get(sku="BOOT-42").pk,
                    "sku": "BOOT-42",
                    "title": "42",
                    "options": {},
                    "price": "89.00",
                    "compare_at_price": None,
                    "show_price": "69.00",
                    "currency": "EUR",
                    "stock_state": "sold_out",
                    "left": None,
                },
            ],
        },
    }
    for link, variant in zip(links, boots.variants.order_by("position"), strict=True):
        prefix = "https://live.example.com/shop/go/"
        assert link.startswith(prefix)
        payload = signing.loads(link[len(prefix) :], salt=CART_LINK_SALT)
        assert {key: payload[key] for key in "spvq"} == {
            "s": show.pk,
            "p": pin.pk,
            "v": variant.pk,
            "q": 1,
        }


def test_a_catalog_product_joins_the_lineup_when_pinned(show, moderator, boots):
    ShowProductFactory(show=show, position=0)

    _pin(show, boots, moderator)

    item = ShowProduct.objects.get(show=show, product=boots)
    assert item.position == 1
    assert item.show_price is None


def test_a_fourth_pin_is_refused_and_changes_nothing(show, moderator):
    products = [VariantFactory().product for _ in range(4)]
    for product in products[:3]:
        _pin(show, product, moderator)
    before = _events(show)

    with pytest.raises(ConflictError) as excinfo:
        _pin(show, products[3], moderator)

    assert excinfo.value.code == "pin_limit_reached"
    assert excinfo.value.message == "At most 3 products can be pinned at once; unpin one first."
    assert ShowPin.objects.filter(show=show).count() == 3
    assert not ShowProduct.objects.filter(show=show, product=products[3]).exists()
    assert _events(show) == before


def test_the_limit_is_a_show_setting_and_unpinning_frees_a_place(moderator, show):
    show.max_pins = 1
    show.save(update_fields=["max_pins"])
    first, second = VariantFactory().product, VariantFactory().product
    pin = _pin(show, first, moderator)
    with pytest.raises(ConflictError):
        _pin(show, second, moderator)

    show_product_unpin(show=show, pin_id=pin.pk, actor=moderator)

    assert _pin(show, second, moderator).product == second


def test_pinning_the_pinned_product_again_is_refused(show, moderator, boots):
    _pin(show, boots, moderator)
    before = _events(show)

    with pytest.raises(ConflictError) as excinfo:
        _pin(show, boots, moderator)

    assert excinfo.value.code == "already_pinned"
    assert ShowPin.objects.filter(show=show).count() == 1
    assert _events(show) == before


@pytest.mark.parametrize("who", ["viewer", "other_show_moderator", "service_staff", "anonymous"])
def test_only_the_show_hosts_and_moderators_may_pin(show, boots, who):
    from django.contrib.auth.models import AnonymousUser

    if who == "viewer":
        actor = UserFactory()
    elif who == "other_show_moderator":
        actor = ShowMemberFactory(role=ShowMember.Role.MODERATOR).user
    elif who == "service_staff":
        actor = ShowMemberFactory(show=show, role=ShowMember.Role.SERVICE_STAFF).user
    else:
        actor = AnonymousUser()

    with pytest.raises(PermissionDeniedError):
        _pin(show, boots, actor)

    assert not ShowPin.objects.exists()
    assert not ShowEvent.objects.filter(show=show).exists()


@pytest.mark.parametrize("role", ["host", "merchandiser"])
def test_hosts_and_merchandisers_may_pin(show, boots, role):
    if role == "host":
        actor = ShowMemberFactory(show=show, role=ShowMember.Role.HOST).user
    else:
        actor = UserFactory(role="merchandiser")

    assert _pin(show, boots, actor).show == show


@pytest.mark.parametrize("status", [Show.Status.SCHEDULED, Show.Status.ENDED])
def test_pins_only_while_live(boots, status):
    show = ShowFactory(status=status)
    moderator = ShowMemberFactory(show=show).user

    with pytest.raises(ConflictError) as excinfo:
        show_product_pin(show=show, product_id=boots.pk, actor=moderator)

    assert excinfo.value.code == "show_not_live"
    assert not ShowPin.objects.exists()


def test_unknown_and_inactive_products_are_refused(show, moderator):
    inactive = ProductFactory(is_active=False)
    for product_id in (inactive.pk, 10**12):
        with pytest.raises(NotFoundError) as excinfo:
            show_product_pin(show=show, product_id=product_id, actor=moderator)
        assert excinfo.value.code == "product_not_found"
    assert not ShowPin.objects.exists()


def test_unpin_records_the_end_offset_and_tells_viewers(show, moderator, boots):
    pin = _pin(show, boots, moderator, minutes=5)

    show_product_unpin(
        show=show, pin_id=pin.pk, actor=moderator, now=STARTED + dt.timedelta(minutes=7, seconds=30)
    )

    pin.refresh_from_db()
    assert (pin.start_offset_ms, pin.end_offset_ms) == (300_000, 450_000)
    assert pin.unpinned_by == moderator
    assert _events(show)[-1] == (
        "product.unpinned",
        {"pin_id": pin.pk, "product_id": boots.pk, "end_offset": 450.0},
    )


def test_unpin_refusals_change_nothing(show, moderator, boots):
    pin = _pin(show, boots, moderator)
    other_show_pin = _pin(
        ShowFactory(status=Show.Status.LIVE, actual_start=STARTED),
        boots,
        UserFactory(role="merchandiser"),
    )
    viewer = UserFactory()
    before = _events(show)

    with pytest.raises(PermissionDeniedError):
        show_product_unpin(show=show, pin_id=pin.pk, actor=viewer)
    with pytest.raises(NotFoundError) as excinfo:
        show_product_unpin(show=show, pin_id=other_show_pin.pk, actor=moderator)
    assert excinfo.value.code == "pin_not_found"
    show_product_unpin(show=show, pin_id=pin.pk, actor=moderator)
    after_unpin = _events(show)
    with pytest.raises(ConflictError) as excinfo:
        show_product_unpin(show=show, pin_id=pin.pk, actor=moderator)
    assert excinfo.value.code == "not_pinned"

    assert len(after_unpin) == len(before) + 1
    assert _events(show) == after_unpin


def test_ending_the_show_closes_its_pins(moderator, show, boots):
    pin = _pin(show, boots, moderator, minutes=2)
    before = _events(show)

    show_end(show=show)

    pin.refresh_from_db()
    assert pin.unpinned_at is not None
    assert pin.end_offset_ms == int((pin.unpinned_at - STARTED).total_seconds() * 1000)
    status, message, unpinned = _events(show)[len(before) :]
    assert (status[0], status[1]["status"]) == ("show.status", "ended")
    assert (message[0], message[1]["kind"], message[1]["text"]) == (
        "message.created",
        "system",
        "The show has ended. Thanks for watching!",
    )
    assert unpinned == (
        "product.unpinned",
        {"pin_id": pin.pk, "end_offset": pin.end_offset_ms / 1000, "product_id": boots.pk},
    )


def test_a_new_show_price_while_pinned_updates_the_card(show, moderator, boots):
    pin = _pin(show, boots, moderator)

    show_lineup_add(show=show, product=boots, show_price=Decimal("59.00"))

    kind, data = _events(show)[-1]
    assert kind == "product.updated"
    assert data["id"] == pin.pk
    assert {variant["show_price"] for variant in data["product"]["variants"]} == {"59.00"}


# --- REST -----------------------------------------------------------------------


def test_rest_pin_and_unpin(show, moderator, boots):
    client = client_for(moderator)

    created = client.post(
        f"/api/v1/shows/{show.public_id}/pins", {"product_id": boots.pk}, format="json"
    )

    assert created.status_code == 201
    assert created.json()["product"]["title"] == "Winter boots"
    pin_id = created.json()["id"]
    deleted = client.delete(f"/api/v1/shows/{show.public_id}/pins/{pin_id}")
    assert deleted.status_code == 204
    assert ShowPin.objects.get(pk=pin_id).unpinned_at is not None


def test_rest_fourth_pin_answers_409_in_the_error_shape(show, moderator):
    client = client_for(moderator)
    products = [VariantFactory().product for _ in range(4)]
    for product in products[:3]:
        response = client.post(
            f"/api/v1/shows/{show.public_id}/pins", {"product_id": product.pk}, format="json"
        )
        assert response.status_code == 201

    response = client.post(
        f"/api/v1/shows/{show.public_id}/pins", {"product_id": products[3].pk}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": "At most 3 products can be pinned at once; unpin one first.",
        "code": "pin_limit_reached",
        "max_pins": 3,
    }


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({}, "required", "This field is required."),
        ({"product_id": "x"}, "invalid", "A valid integer is required."),
        ({"product_id": -1}, "min_value", "Ensure this value is greater than or equal to 1."),
        (
            {"product_id": 2**40},
            "max_value",
            "Ensure this value is less than or equal to 2147483647.",
        ),
        ({"product_id": None}, "null", "This field may not be null."),
    ],
)
def test_rest_pin_garbage_is_refused_and_changes_nothing(show, moderator, body, code, message):
    response = client_for(moderator).post(
        f"/api/v1/shows/{show.public_id}/pins", body, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Some fields are invalid.",
        "code": code,
        "fields": {"product_id": [message]},
    }
    assert not ShowPin.objects.exists()
    assert not ShowEvent.objects.filter(show=show).exists()


def test_rest_pin_permissions(show, boots):
    url = f"/api/v1/shows/{show.public_id}/pins"
    other_moderator = ShowMemberFactory(role=ShowMember.Role.MODERATOR).user

    assert client_for(None).post(url, {"product_id": boots.pk}, format="json").status_code == 401
    viewer_answer = client_for(UserFactory()).post(url, {"product_id": boots.pk}, format="json")
    assert viewer_answer.status_code == 403
    assert viewer_answer.json()["code"] == "permission_denied"
    assert (
        client_for(other_moderator).post(url, {"product_id": boots.pk}, format="json").status_code
        == 403
    )
    assert (
        client_for(UserFactory())
        .post("/api/v1/shows/nope/pins", {"product_id": boots.pk}, format="json")
        .status_code
        == 404
    )
    assert not ShowPin.objects.exists()


def test_rest_unpin_of_an_unknown_pin_is_404(show, moderator):
    response = client_for(moderator).delete(
        f"/api/v1/shows/{show.public_id}/pins/999999999999999999"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "pin_not_found"


def test_show_price_window_in_the_card(boots):
    show = ShowFactory(
        status=Show.Status.LIVE, actual_start=timezone.now(), show_price_while_pinned_only=True
    )
    moderator = ShowMemberFactory(show=show).user
    ShowProductFactory(show=show, product=boots, show_price=Decimal("69.00"))

    pin = show_product_pin(show=show, product_id=boots.pk, actor=moderator)

    from shows.selectors import show_pin_payload_get, show_price_applies

    card = show_pin_payload_get(show=show, pin_id=pin.pk)["product"]
    assert card["variants"][0]["show_price"] == "69.00"
    assert show_price_applies(show=show, is_pinned=True) is True
    assert show_price_applies(show=show, is_pinned=False) is False
    show_end(show=show)
    show.refresh_from_db()
    card = show_pin_payload_get(show=show, pin_id=pin.pk)["product"]
    assert card["variants"][0]["show_price"] is None
    assert card["variants"][0]["price"] == "89.00"


def _apply(pins: list[dict], event_type: str, data: dict) -> list[dict]:
    """A client applying pin events the way docs/protocol.md (3.3) tells it to."""
    if event_type == "product.pinned":
        return [*pins, data]
    if event_type == "product.updated":
        return [data if pin["id"] == data["id"] else pin for pin in pins]
    if event_type == "product.unpinned":
        return [pin for pin in pins if pin["id"] != data["pin_id"]]
    if event_type == "stock.changed":
        for pin in pins:
            for variant in pin["product"]["variants"]:
                if variant["id"] == data["variant_id"]:
                    variant.update(stock_state=data["stock_state"], left=data["left"])
    return pins


def _without_links(pins: list[dict]) -> list[dict]:
    for pin in pins:
        for variant in pin["product"]["variants"]:
            variant.pop("add_to_cart_url")
    return pins


def test_snapshot_pins_plus_events_equal_a_fresh_snapshot(show, moderator, boots):
    from catalog.services.stock import variant_stock_adjust
    from shows.selectors import show_pins_open_payload

    other = VariantFactory(stock_quantity=4, product__storefront__low_stock_threshold=2).product
    third = VariantFactory().product
    first_pin = _pin(show, third, moderator, minutes=1)
    before = show_pins_open_payload(show=show)
    seq = ShowEvent.objects.filter(show=show).latest("seq").seq

    _pin(show, boots, moderator, minutes=2)
    _pin(show, other, moderator, minutes=3)
    show_lineup_add(show=show, product=boots, show_price=Decimal("70.00"))
    variant_stock_adjust(storefront=boots.storefront, sku="BOOT-41", delta=-2)
    variant_stock_adjust(storefront=other.storefront, sku=other.variants.get().sku, delta=-2)
    show_product_unpin(show=show, pin_id=first_pin.pk, actor=moderator)

    pins = before
    for event in ShowEvent.objects.filter(show=show, seq__gt=seq).order_by("seq"):
        pins = _apply(pins, event.type, event.data)
    assert _without_links(pins) == _without_links(show_pins_open_payload(show=show))
    assert [pin["product"]["title"] for pin in pins] == ["Winter boots", other.title]
