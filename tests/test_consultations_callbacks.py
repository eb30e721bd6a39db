"""A viewer who finds the desk closed leaves a callback request; the desk works its list."""

import datetime as dt

import pytest
from django.utils import timezone

from consultations.models import CallbackRequest, DeskHours
from tests import factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    desk = factories.DeskFactory(slug="style", timezone="UTC")
    for weekday in range(7):
        DeskHours.objects.create(desk=desk, weekday=weekday, opens=dt.time(9), closes=dt.time(17))
    factories.DeskTopicFactory(desk=desk, slug="sizing", label="Sizing")
    return desk


def _tomorrow(hour: int) -> str:
    day = (timezone.now() + dt.timedelta(days=1)).date()
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC).isoformat()


def _ask(user, **data):
    body = {"preferred_start": _tomorrow(10), "preferred_end": _tomorrow(12), **data}
    return client_for(user).post("/api/v1/desks/style/callbacks", body, format="json")


def _state():
    return list(CallbackRequest.objects.order_by("pk").values())


def test_a_viewer_asks_for_a_callback_and_asking_again_moves_it(desk):
    viewer = factories.UserFactory()

    first = _ask(viewer, topic="sizing", message="Please call about boots")
    again = _ask(viewer, preferred_start=_tomorrow(14), preferred_end=_tomorrow(15))

    assert first.status_code == 201, first.json()
    assert (first.json()["topic"], first.json()["message"]) == (
        {"slug": "sizing", "label": "Sizing"},
        "Please call about boots",
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    callback = CallbackRequest.objects.get()
    assert callback.preferred_start.isoformat() == _tomorrow(14)
    assert callback.topic is None


def test_the_desk_lists_open_requests_and_marks_them_done(desk):
    viewer = factories.UserFactory()
    advisor = factories.DeskAdvisorFactory(desk=desk).user
    callback_id = _ask(viewer).json()["id"]

    listed = client_for(advisor).get("/api/v1/desks/style/callbacks").json()
    done = client_for(advisor).post(f"/api/v1/callbacks/{callback_id}/done")

    assert [item["id"] for item in listed] == [callback_id]
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["handled_by"]["id"]) == ("done", advisor.pk)
    assert client_for(advisor).get("/api/v1/desks/style/callbacks").json() == []
    again = client_for(advisor).post(f"/api/v1/callbacks/{callback_id}/done")
    assert (again.status_code, again.json()["code"]) == (409, "not_open")


def test_the_viewer_withdraws_and_others_cannot_touch_it(desk):
    viewer = factories.UserFactory()
    callback_id = _ask(viewer).json()["id"]
    before = _state()

    for outsider in (factories.UserFactory(), factories.DeskAdvisorFactory().user):
        client = client_for(outsider)
        assert client.post(f"/api/v1/callbacks/{callback_id}/cancel").status_code == 404
        assert client.post(f"/api/v1/callbacks/{callback_id}/done").status_code == 404
        assert client.get("/api/v1/desks/style/callbacks").status_code == 404
    assert client_for(None).post(f"/api/v1/callbacks/{callback_id}/cancel").status_code == 401
    assert _state() == before

    cancelled = client_for(viewer).post(f"/api/v1/callbacks/{callback_id}/cancel")
    assert cancelled.json()["status"] == "cancelled"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"preferred_end": "x"}, "invalid"),
        ({"preferred_start": None}, "null"),
        (
            {"preferred_start": "2020-01-01T10:00:00Z", "preferred_end": "2020-01-01T11:00:00Z"},
            "invalid_window",
        ),
        ({"preferred_end": "__start__"}, "invalid_window"),
        (
            {"preferred_start": "2999-01-01T10:00:00Z", "preferred_end": "2999-01-01T11:00:00Z"},
            "invalid_window",
        ),
        ({"__window__": (18, 20)}, "outside_hours"),
        ({"topic": "returns"}, "unknown_topic"),
        ({"message": "a\x00b"}, "null_characters_not_allowed"),
        ({"product": "x"}, "invalid"),
    ],
)
def test_bad_callback_requests_change_nothing(desk, data, code):
    data = dict(data)
    if data.get("preferred_end") == "__start__":
        data["preferred_end"] = _tomorrow(10)
    if "__window__" in data:
        start, end = data.pop("__window__")
        data.update(preferred_start=_tomorrow(start), preferred_end=_tomorrow(end))
    before = _state()

    response = _ask(factories.UserFactory(), **data)

    assert response.status_code == 400
    assert response.json()["code"] == code, response.json()
    assert _state() == before
