"""Duplicating a show from the admin: once, or weekly for N weeks."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from shows.models import Show, ShowMember, ShowProduct
from tests import factories
from tests.timeutil import BERLIN, berlin_at, monday_in_berlin

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple[list, list, list]:
    return (
        list(Show.objects.order_by("pk").values_list("pk", "status", "scheduled_start")),
        list(ShowProduct.objects.order_by("pk").values_list("pk", "show_id")),
        list(ShowMember.objects.order_by("pk").values_list("pk", "show_id")),
    )


@pytest.fixture
def show() -> Show:
    channel = factories.ChannelFactory(name="Sneakers", slug="sneakers", timezone="Europe/Berlin")
    day = monday_in_berlin(weeks_ahead=2)
    show = factories.ShowFactory(
        channel=channel,
        title="Sneaker Sunday",
        scheduled_start=berlin_at(day, 20),
        scheduled_end=berlin_at(day, 21),
    )
    factories.ShowProductFactory(show=show, position=0, show_price=Decimal("49.00"))
    factories.ShowProductFactory(show=show, position=1, show_price=None)
    factories.ShowMemberFactory(show=show, role=ShowMember.Role.HOST)
    return show


def _url(show: Show) -> str:
    return f"/admin/shows/show/{show.pk}/duplicate/"


def test_duplicate_action_opens_the_duplicate_page_for_one_show(merchandiser_client, show):
    response = merchandiser_client.post(
        "/admin/shows/show/", {"action": "duplicate_selected", "_selected_action": [show.pk]}
    )

    assert response.status_code == 302
    assert response["Location"] == _url(show)


def test_duplicate_action_with_two_shows_asks_for_one(merchandiser_client, show):
    other = factories.ShowFactory(channel=show.channel)
    before = _snapshot()

    response = merchandiser_client.post(
        "/admin/shows/show/",
        {"action": "duplicate_selected", "_selected_action": [show.pk, other.pk]},
    )

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Select exactly one show to duplicate."
    ]
    assert _snapshot() == before


def test_duplicate_page_offers_the_same_time_next_week(merchandiser_client, show):
    response = merchandiser_client.get(_url(show))

    assert response.status_code == 200
    form = response.context["form"]
    next_week = show.scheduled_start.astimezone(BERLIN).date() + dt.timedelta(weeks=1)
    assert form.initial == {
        "repeat": "once",
        "start_date": next_week,
        "start_time": dt.time(20, 0),
        "weeks": 4,
    }
    html = response.content.decode()
    assert "Copies (times in Europe/Berlin)" in html
    assert "20:00–21:00 (Europe/Berlin)" in html
    assert "lineup (2 products)" in html
    assert "team (1 member)" in html


def test_duplicate_weekly_for_four_weeks_makes_four_drafts_with_lineup_and_team(
    merchandiser_client, show
):
    # Given a show on a Monday at 20:00 Berlin time
    first = show.scheduled_start.astimezone(BERLIN).date() + dt.timedelta(weeks=1)

    # When it is duplicated weekly for 4 weeks from the next Monday
    response = merchandiser_client.post(
        _url(show),
        {
            "repeat": "weekly",
            "start_date": first.isoformat(),
            "start_time": "20:00",
            "weeks": "4",
        },
    )

    # Then exactly four drafts exist, a week apart, each with the lineup and team
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        '4 draft copies of "Sneaker Sunday" created.'
    ]
    copies = list(Show.objects.exclude(pk=show.pk).order_by("scheduled_start"))
    assert [copy.scheduled_start for copy in copies] == [
        berlin_at(first + dt.timedelta(weeks=week), 20) for week in range(4)
    ]
    for copy in copies:
        assert copy.status == Show.Status.DRAFT
        assert copy.title == "Sneaker Sunday"
        assert copy.created_by == merchandiser_client.user
        assert list(copy.lineup.values_list("product_id", "position", "show_price")) == list(
            show.lineup.values_list("product_id", "position", "show_price")
        )
        assert list(copy.members.values_list("user_id", "role")) == list(
            show.members.values_list("user_id", "role")
        )


def test_duplicate_once_makes_one_draft(merchandiser_client, show):
    day = show.scheduled_start.astimezone(BERLIN).date() + dt.timedelta(days=3)

    response = merchandiser_client.post(
        _url(show),
        {"repeat": "once", "start_date": day.isoformat(), "start_time": "09:15", "weeks": ""},
    )

    assert response.status_code == 302
    copy = Show.objects.exclude(pk=show.pk).get()
    assert (copy.scheduled_start, copy.scheduled_end) == (
        berlin_at(day, 9, 15),
        berlin_at(day, 10, 15),
    )


def test_duplicate_with_a_clash_creates_none_and_names_the_date(merchandiser_client, show):
    # Given another show in the way in the third week
    first = show.scheduled_start.astimezone(BERLIN).date() + dt.timedelta(weeks=1)
    blocked = first + dt.timedelta(weeks=2)
    factories.ShowFactory(
        channel=show.channel,
        title="Blocker",
        scheduled_start=berlin_at(blocked, 20, 30),
        scheduled_end=berlin_at(blocked, 22),
    )
    before = _snapshot()

    # When the show is duplicated weekly for 4 weeks
    response = merchandiser_client.post(
        _url(show),
        {"repeat": "weekly", "start_date": first.isoformat(), "start_time": "20:00", "weeks": "4"},
    )

    # Then the page lists the clash and no copy was made
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        f'{blocked:%Y-%m-%d} 20:00 Europe/Berlin: This time overlaps "Blocker" '
        f"({blocked:%Y-%m-%d} 20:30–22:00 Europe/Berlin) on the same channel. "
        "Pick a time when the channel is free."
    ]
    assert "No copies were made" in response.content.decode()
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"repeat": "weekly", "start_date": "2099-01-05", "start_time": "20:00", "weeks": "53"},
            {"weeks": ["Ensure this value is less than or equal to 52."]},
        ),
        (
            {"repeat": "weekly", "start_date": "2099-01-05", "start_time": "20:00", "weeks": "0"},
            {"weeks": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {"repeat": "weekly", "start_date": "2099-01-05", "start_time": "20:00", "weeks": "x"},
            {"weeks": ["Enter a whole number."]},
        ),
        (
            {"repeat": "weekly", "start_date": "2099-01-05", "start_time": "20:00"},
            {"weeks": ["Say for how many weeks."]},
        ),
        (
            {
                "repeat": "daily",
                "start_date": "yesterday",
                "start_time": "99:99",
                "weeks": "9" * 40,
            },
            {
                "repeat": ["Select a valid choice. daily is not one of the available choices."],
                "start_date": ["Enter a valid date."],
                "start_time": ["Enter a valid time."],
                "weeks": ["Ensure this value is less than or equal to 52."],
            },
        ),
        (
            {},
            {
                "repeat": ["This field is required."],
                "start_date": ["This field is required."],
                "start_time": ["This field is required."],
            },
        ),
        (
            # Clocks in Berlin jump from 02:00 to 03:00 on 2099-03-29.
            {"repeat": "once", "start_date": "2099-03-29", "start_time": "02:30"},
            {"start_time": ["02:30 does not exist on 2099-03-29 in Europe/Berlin."]},
        ),
        (
            {"repeat": "once", "start_date": "2001-01-01", "start_time": "20:00"},
            {"__all__": ["2001-01-01 20:00 Europe/Berlin: this time has already passed."]},
        ),
    ],
)
def test_duplicate_page_refuses_garbage_and_makes_nothing(merchandiser_client, show, data, errors):
    before = _snapshot()

    response = merchandiser_client.post(_url(show), data)

    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert _snapshot() == before


def test_duplicate_page_of_an_unknown_show_is_not_found(merchandiser_client):
    assert merchandiser_client.get("/admin/shows/show/424242/duplicate/").status_code == 404
    assert merchandiser_client.get("/admin/shows/show/abc/duplicate/").status_code == 404
    assert merchandiser_client.get("/admin/shows/show/²/duplicate/").status_code == 404
    assert merchandiser_client.get(f"/admin/shows/show/{'9' * 40}/duplicate/").status_code == 404


def test_duplicate_page_needs_add_permission(show):
    client = Client()
    client.force_login(factories.UserFactory(is_staff=True))
    before = _snapshot()

    response = client.post(
        _url(show), {"repeat": "once", "start_date": "2099-01-05", "start_time": "20:00"}
    )

    assert response.status_code == 403
    assert _snapshot() == before
