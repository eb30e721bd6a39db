"""GET /api/v1/shows/<public_id> and the calendar files."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from icalendar import Calendar

from catalog.selectors import cart_lines_priced
from shows.models import Show, ShowMember
from shows.services import show_product_pin, show_product_unpin
from tests.conftest import client_for
from tests.factories import (
    ChannelFactory,
    ProductFactory,
    ProductImageFactory,
    ShowFactory,
    ShowMemberFactory,
    ShowProductFactory,
    ShowReminderFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def _product(title: str, prices: list[str], images: list[tuple[int, str]] | None = None):
    product = ProductFactory(title=title)
    for price in prices:
        VariantFactory(product=product, price=Decimal(price))
    for position, url in images or []:
        ProductImageFactory(product=product, position=position, url=url)
    return product


def test_detail_has_channel_lineup_in_order_team_and_reminder():
    channel = ChannelFactory(slug="main", name="Main", timezone="Europe/Berlin")
    show = ShowFactory(channel=channel, title="Spring", description="New shoes")
    boots = _product(
        "Boots",
        ["59.00", "79.50"],
        [(2, "https://img.example.com/b2.jpg"), (1, "https://img.example.com/b1.jpg")],
    )
    socks = _product("Socks", ["4.99"])
    ShowProductFactory(show=show, product=socks, position=2)
    ShowProductFactory(show=show, product=boots, position=1, show_price=Decimal("49.00"))
    host = UserFactory(display_name="Ada Host", email="ada@example.com")
    ShowMemberFactory(show=show, user=host, role=ShowMember.Role.HOST)
    ShowMemberFactory(
        show=show, user=UserFactory(display_name="", email="mo@example.com"), role="moderator"
    )
    viewer = UserFactory()
    ShowReminderFactory(show=show, user=viewer)

    response = client_for(viewer).get(f"/api/v1/shows/{show.public_id}")

    assert response.status_code == 200
    body = response.json()
    assert body["public_id"] == show.public_id
    assert body["title"] == "Spring"
    assert body["is_reminded"] is True
    assert body["status"] == "scheduled"
    assert body["channel"] == {
        "slug": "main",
        "name": "Main",
        "timezone": "Europe/Berlin",
        "description": "",
    }
    assert body["lineup"] == [
        {
            "product_id": boots.pk,
            "position": 1,
            "title": "Boots",
            "image_url": "https://img.example.com/b1.jpg",
            "currency": "EUR",
            "price_min": "59.00",
            "price_max": "79.50",
            "show_price": "49.00",
            "show_price_applies": False,
        },
        {
            "product_id": socks.pk,
            "position": 2,
            "title": "Socks",
            "image_url": None,
            "currency": "EUR",
            "price_min": "4.99",
            "price_max": "4.99",
            "show_price": None,
            "show_price_applies": False,
        },
    ]
    assert body["team"] == [
        {"display_name": "Ada Host", "role": "host"},
        {"display_name": "Moderator", "role": "moderator"},
    ]
    assert "example.com" not in response.content.decode().replace("img.example.com", "")


def test_detail_show_price_applies_only_while_live(api_client):
    show = ShowFactory(status=Show.Status.LIVE, actual_start=timezone.now())
    ShowProductFactory(show=show, show_price=Decimal("1.00"))
    ShowProductFactory(show=show, show_price=None)

    body = api_client.get(f"/api/v1/shows/{show.public_id}").json()

    assert [item["show_price_applies"] for item in body["lineup"]] == [True, False]
    assert body["is_reminded"] is False


@pytest.mark.parametrize("while_pinned_only", [True, False])
def test_detail_show_price_applies_as_the_cart_charges_it(api_client, while_pinned_only):
    show = ShowFactory(
        status=Show.Status.LIVE,
        actual_start=timezone.now(),
        show_price_while_pinned_only=while_pinned_only,
    )
    moderator = ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user
    pinned, unpinned, was_pinned = (_product(title, ["20.00"]) for title in ("A", "B", "C"))
    for product in (pinned, unpinned, was_pinned):
        ShowProductFactory(show=show, product=product, show_price=Decimal("15.00"))
    show_product_pin(show=show, product_id=pinned.pk, actor=moderator)
    old_pin = show_product_pin(show=show, product_id=was_pinned.pk, actor=moderator)
    show_product_unpin(show=show, pin_id=old_pin.pk, actor=moderator)

    body = api_client.get(f"/api/v1/shows/{show.public_id}").json()
    charged = cart_lines_priced(
        lines=[
            {"variant_id": product.variants.get().pk, "quantity": 1, "show_id": show.pk}
            for product in (pinned, unpinned, was_pinned)
        ]
    )

    applies = [item["show_price_applies"] for item in body["lineup"]]
    expected = [True, not while_pinned_only, not while_pinned_only]
    assert applies == expected
    assert [line.unit_price for line in charged] == [
        Decimal("15.00") if applied else Decimal("20.00") for applied in expected
    ]


@pytest.mark.parametrize("lineup_size", [1, 10])
def test_detail_query_count_is_constant(django_assert_num_queries, lineup_size):
    show = ShowFactory()
    for n in range(lineup_size):
        product = _product(f"P{n}", ["1.00", "2.00"], [(0, f"https://img.example.com/{n}.jpg")])
        ShowProductFactory(show=show, product=product)
        ShowMemberFactory(show=show)
    client = client_for(UserFactory())

    with django_assert_num_queries(3):
        body = client.get(f"/api/v1/shows/{show.public_id}").json()

    assert len(body["lineup"]) == lineup_size
    assert len(body["team"]) == lineup_size


@pytest.mark.parametrize("public_id", ["nope", "x" * 500, "%00", "..", "' OR 1=1 --"])
def test_detail_of_unknown_show_is_not_found(api_client, public_id):
    response = api_client.get(f"/api/v1/shows/{public_id}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def _events(content: bytes) -> list:
    return list(Calendar.from_ical(content).walk("VEVENT"))


def test_show_calendar_has_one_utc_event_with_stable_uid(api_client, settings):
    settings.PUBLIC_BASE_URL = "https://live.example.com"
    start = dt.datetime(2031, 5, 4, 18, 30, tzinfo=dt.UTC)
    show = ShowFactory(
        title="Spring, live",
        description="Boots; socks",
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(hours=1),
    )

    response = api_client.get(f"/api/v1/shows/{show.public_id}/calendar.ics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{show.slug}.ics"'
    (event,) = _events(response.content)
    assert str(event["UID"]) == f"{show.public_id}@liveshop"
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + dt.timedelta(hours=1)
    assert b"DTSTART:20310504T183000Z" in response.content
    assert str(event["SUMMARY"]) == "Spring, live"
    assert str(event["DESCRIPTION"]) == "Boots; socks"
    assert str(event["URL"]) == f"https://live.example.com/shows/{show.public_id}/"
    assert str(event["STATUS"]) == "CONFIRMED"


def test_show_calendar_is_served_to_calendar_clients(api_client):
    show = ShowFactory()

    response = api_client.get(
        f"/api/v1/shows/{show.public_id}/calendar.ics", HTTP_ACCEPT="text/calendar"
    )

    assert response.status_code == 200
    assert len(_events(response.content)) == 1


def test_show_calendar_of_unknown_show_is_not_found_in_error_shape(api_client):
    response = api_client.get("/api/v1/shows/nope/calendar.ics")

    assert response.status_code == 404
    assert response.json() == {"detail": "No show with this id.", "code": "not_found"}


def test_channel_calendar_lists_public_shows_and_marks_cancelled_ones(api_client):
    channel = ChannelFactory(slug="main", name="Main")
    public = ShowFactory(channel=channel)
    cancelled = ShowFactory(channel=channel, status=Show.Status.CANCELLED)
    live = ShowFactory(
        channel=channel,
        status=Show.Status.LIVE,
        scheduled_start=timezone.now() - dt.timedelta(minutes=10),
        scheduled_end=timezone.now() + dt.timedelta(minutes=50),
    )
    ShowFactory(channel=channel, is_private=True)
    ShowFactory(channel=channel, is_test=True)
    ShowFactory(channel=channel, status=Show.Status.DRAFT)
    ShowFactory()

    response = api_client.get("/api/v1/channels/main/schedule.ics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["X-WR-CALNAME"]) == "Main"
    events = {str(event["UID"]): str(event["STATUS"]) for event in calendar.walk("VEVENT")}
    assert events == {
        f"{live.public_id}@liveshop": "CONFIRMED",
        f"{public.public_id}@liveshop": "CONFIRMED",
        f"{cancelled.public_id}@liveshop": "CANCELLED",
    }


@pytest.mark.parametrize("shows", [1, 10])
def test_channel_calendar_query_count_is_constant(api_client, django_assert_num_queries, shows):
    channel = ChannelFactory(slug="main")
    ShowFactory.create_batch(shows, channel=channel)

    with django_assert_num_queries(2):
        response = api_client.get("/api/v1/channels/main/schedule.ics")

    assert len(_events(response.content)) == shows


def test_channel_calendar_of_unknown_channel_is_not_found(api_client):
    response = api_client.get("/api/v1/channels/nope/schedule.ics")

    assert response.status_code == 404
    assert response.json() == {"detail": "No channel with this slug.", "code": "not_found"}
