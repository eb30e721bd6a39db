"""Desks in the admin, as a merchandiser uses them: one page for advisors, topics and hours."""

import datetime as dt

import pytest

from consultations.models import Desk, DeskAdvisor, DeskHours, DeskHoursException, DeskTopic
from tests import factories
from tests.htmlforms import form_values

pytestmark = pytest.mark.django_db


def _database() -> dict[str, list]:
    return {
        "desks": list(Desk.objects.order_by("pk").values()),
        "advisors": list(DeskAdvisor.objects.order_by("pk").values()),
        "topics": list(DeskTopic.objects.order_by("pk").values()),
        "hours": list(DeskHours.objects.order_by("pk").values()),
        "exceptions": list(DeskHoursException.objects.order_by("pk").values()),
    }


@pytest.fixture
def desk():
    desk = factories.DeskFactory(name="Style advice", timezone="Europe/Berlin")
    factories.DeskAdvisorFactory(desk=desk, capacity=3, is_supervisor=True)
    factories.DeskTopicFactory(desk=desk, slug="sizing", label="Sizing", position=1)
    factories.DeskHoursFactory(desk=desk, weekday=0, opens=dt.time(9), closes=dt.time(12))
    factories.DeskHoursFactory(desk=desk, weekday=0, opens=dt.time(13), closes=dt.time(0))
    DeskHoursException.objects.create(
        desk=desk,
        date=dt.date(2027, 12, 24),
        is_closed=False,
        opens=dt.time(9),
        closes=dt.time(13),
        note="Christmas Eve",
    )
    DeskHoursException.objects.create(desk=desk, date=dt.date(2027, 12, 25), is_closed=True)
    return desk


def _change_form(client, desk):
    url = f"/admin/consultations/desk/{desk.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    return url, form_values(page.content.decode(), form_id="desk_form")


def test_a_desk_change_form_saved_unchanged_changes_nothing(merchandiser_client, desk):
    url, data = _change_form(merchandiser_client, desk)
    before = _database()

    for _ in range(2):
        response = merchandiser_client.post(url, {**data, "_continue": "Save"})
        assert response.status_code == 302, response.content.decode()[:3000]
        url, data = _change_form(merchandiser_client, desk)

    assert _database() == before


def _with_hours_row(data, index, weekday, opens, closes):
    data = dict(data)
    data["hours-TOTAL_FORMS"] = [str(int(data["hours-TOTAL_FORMS"][0]) + 1)]
    data[f"hours-{index}-weekday"] = [str(weekday)]
    data[f"hours-{index}-opens"] = [opens]
    data[f"hours-{index}-closes"] = [closes]
    data[f"hours-{index}-desk"] = [str(data.get("hours-0-desk", [""])[0])]
    return data


@pytest.mark.parametrize(
    ("opens", "closes", "error"),
    [
        ("11:00", "14:00", "Two opening intervals on Monday overlap."),
        ("18:00", "17:00", "A desk must open before it closes on the same day"),
    ],
    ids=["overlap", "closes-before-opening"],
)
def test_wrong_hours_are_refused_and_change_nothing(
    merchandiser_client, desk, opens, closes, error
):
    url, data = _change_form(merchandiser_client, desk)
    before = _database()

    response = merchandiser_client.post(url, _with_hours_row(data, 2, 0, opens, closes))

    assert response.status_code == 200
    assert error in response.content.decode()
    assert _database() == before


def test_an_account_without_the_service_staff_role_cannot_be_an_advisor(merchandiser_client, desk):
    viewer = factories.UserFactory(role="viewer", username="vera")
    url, data = _change_form(merchandiser_client, desk)
    before = _database()
    data = dict(data)
    data["advisors-TOTAL_FORMS"] = ["2"]
    data["advisors-1-user"] = [str(viewer.pk)]
    data["advisors-1-capacity"] = ["2"]
    data["advisors-1-is_active"] = ["on"]
    data["advisors-1-desk"] = [str(desk.pk)]

    response = merchandiser_client.post(url, data)

    assert response.status_code == 200
    assert "Vera cannot advise: give the account the service staff role first." in (
        response.content.decode()
    )
    assert _database() == before


def test_a_desk_serves_a_storefront_or_a_channel(merchandiser_client):
    response = merchandiser_client.post(
        "/admin/consultations/desk/add/",
        {
            "name": "Nobody's desk",
            "slug": "nobody",
            "timezone": "Europe/Berlin",
            "max_waiting": "200",
            "default_handling_seconds": "300",
            **{
                f"{prefix}-{key}": value
                for prefix in ("advisors", "topics", "hours", "hours_exceptions")
                for key, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))
            },
        },
    )

    assert response.status_code == 200
    assert "A desk serves a storefront, a channel or both." in response.content.decode()
    assert Desk.objects.count() == 0
