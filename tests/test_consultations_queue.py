"""The desk's queue as viewers and advisors use it over REST: ask, wait, take, leave, end."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from consultations.models import Consultation, Desk, DeskHours, DeskHoursException
from consultations.selectors.queue import (
    consultation_queue_place,
    desk_handling_seconds,
    queue_wait_estimate,
)
from consultations.services.queue import (
    consultation_leave,
    consultation_request,
    consultation_take,
    consultations_abandoned_mark,
)
from liveshop.common.exceptions import ConflictError
from tests import factories
from tests.conftest import client_for
from tests.threads import threads_run

pytestmark = pytest.mark.django_db


def _always_open(desk: Desk) -> Desk:
    for weekday in range(7):
        DeskHours.objects.create(desk=desk, weekday=weekday, opens=dt.time(0), closes=dt.time(0))
    return desk


@pytest.fixture
def desk():
    desk = _always_open(factories.DeskFactory(slug="style", name="Style advice"))
    factories.DeskTopicFactory(desk=desk, slug="sizing", label="Sizing")
    return desk


@pytest.fixture
def advisor(desk):
    return factories.DeskAdvisorFactory(desk=desk, capacity=2).user


def _ask(user, slug="style", **data):
    return client_for(user).post(
        f"/api/v1/desks/{slug}/consultations", {"source": "desk", **data}, format="json"
    )


def _state():
    return {
        "consultations": list(Consultation.objects.order_by("pk").values()),
        "desks": list(Desk.objects.order_by("pk").values()),
    }


def test_a_viewer_asks_and_sees_their_place_and_the_estimated_wait(desk, advisor):
    viewer = factories.UserFactory()
    product = factories.ProductFactory(storefront=desk.storefront)

    response = _ask(
        viewer, topic="sizing", product=product.pk, mode="video", first_message="  Fits a 43? "
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    consultation = Consultation.objects.get()
    assert body["public_id"] == str(consultation.public_id)
    assert (body["ticket"], body["status"], body["mode"], body["source"]) == (
        1,
        "waiting",
        "video",
        "desk",
    )
    assert body["topic"] == {"slug": "sizing", "label": "Sizing"}
    assert body["product_id"] == product.pk
    assert body["first_message"] == "Fits a 43?"
    assert body["advisor"] is None
    # One advisor with two free slots: the first request is taken at once.
    assert body["queue"] == {"position": 1, "estimated_wait_seconds": 0}


def test_asking_again_returns_the_open_request_and_queues_nothing(desk):
    viewer = factories.UserFactory()
    first = _ask(viewer).json()
    before = _state()

    again = _ask(viewer, first_message="hello?")

    assert again.status_code == 200
    assert again.json()["public_id"] == first["public_id"]
    assert _state() == before


def test_places_move_up_when_someone_ahead_leaves(desk):
    viewers = [factories.UserFactory() for _ in range(3)]
    ids = [_ask(viewer).json()["public_id"] for viewer in viewers]

    left = client_for(viewers[1]).post(f"/api/v1/consultations/{ids[1]}/leave")

    assert left.status_code == 200
    assert left.json()["status"] == "left"
    third = client_for(viewers[2]).get(f"/api/v1/consultations/{ids[2]}").json()
    assert third["queue"]["position"] == 2
    assert client_for(viewers[1]).get(f"/api/v1/consultations/{ids[1]}").json()["queue"] is None


def test_the_estimate_counts_free_slots_then_handling_times_per_slot():
    assert queue_wait_estimate(position=1, slots=2, busy=0, handling_seconds=300) == 0
    assert queue_wait_estimate(position=2, slots=2, busy=0, handling_seconds=300) == 0
    assert queue_wait_estimate(position=3, slots=2, busy=0, handling_seconds=300) == 300
    assert queue_wait_estimate(position=1, slots=2, busy=2, handling_seconds=300) == 300
    assert queue_wait_estimate(position=3, slots=2, busy=2, handling_seconds=300) == 600
    assert queue_wait_estimate(position=1, slots=0, busy=0, handling_seconds=300) == 0
    assert queue_wait_estimate(position=2, slots=0, busy=0, handling_seconds=300) == 300


def test_the_handling_time_is_the_median_of_recent_consultations(desk, advisor):
    now = timezone.now()
    assert desk_handling_seconds(desk=desk) == 300  # the desk's default without history
    for minutes in (2, 4, 6, 8, 30):
        Consultation.objects.create(
            public_id=uuid.uuid4(),
            desk=desk,
            ticket=1000 + minutes,
            viewer=factories.UserFactory(),
            source="desk",
            status="ended",
            advisor=advisor,
            requested_at=now - dt.timedelta(hours=1),
            taken_at=now - dt.timedelta(minutes=minutes),
            ended_at=now,
            viewer_seen_at=now,
        )
    assert desk_handling_seconds(desk=desk) == 360

    # Three waiting, one advisor with two slots: the third waits one median handling time.
    waiting = [
        consultation_request(desk=desk, viewer=factories.UserFactory(), source="desk")[0]
        for _ in range(3)
    ]
    assert consultation_queue_place(consultation=waiting[2]).estimated_wait_seconds == 360


def test_a_closed_desk_refuses_and_says_when_it_opens():
    desk = factories.DeskFactory(slug="closed", timezone="Europe/Berlin")
    now = timezone.now()
    tomorrow = (now + dt.timedelta(days=1)).astimezone(dt.UTC)
    DeskHoursException.objects.create(desk=desk, date=now.astimezone(dt.UTC).date(), is_closed=True)
    DeskHoursException.objects.create(
        desk=desk,
        date=(now - dt.timedelta(days=1)).astimezone(dt.UTC).date(),
        is_closed=True,
    )
    DeskHoursException.objects.create(
        desk=desk,
        date=tomorrow.date() + dt.timedelta(days=1),
        is_closed=False,
        opens=dt.time(10),
        closes=dt.time(12),
    )
    viewer = factories.UserFactory()
    before = _state()

    response = _ask(viewer, slug="closed")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "desk_closed"
    assert body["detail"].startswith(f"{desk.name} is closed now.")
    assert _state() == before


def test_a_full_queue_refuses_the_next_request(desk):
    Desk.objects.filter(pk=desk.pk).update(max_waiting=2)
    _ask(factories.UserFactory())
    _ask(factories.UserFactory())
    before = _state()

    response = _ask(factories.UserFactory())

    assert response.status_code == 409
    assert response.json()["code"] == "queue_full"
    assert _state() == before


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"topic": "returns"}, "unknown_topic"),
        ({"first_message": "a\x00b"}, "null_characters_not_allowed"),
        ({"first_message": "x" * 501}, "text_too_long"),
        ({"first_message": "x" * 2001}, "max_length"),
        ({"source": "question"}, "invalid_choice"),
        ({"source": 7}, "invalid_choice"),
        ({"mode": "hologram"}, "invalid_choice"),
        ({"product": "seven"}, "invalid"),
        ({"product": -1}, "min_value"),
        ({"product": 2**70}, "max_value"),
        ({"product": 999999}, "unknown_product"),
        ({"show": "no\x00show"}, "null_characters_not_allowed"),
        ({"show": "nosuchshow"}, "not_found"),
        ({"topic": ["sizing"]}, "invalid"),
    ],
)
def test_bad_requests_are_refused_in_one_shape_and_change_nothing(desk, data, code):
    viewer = factories.UserFactory()
    before = _state()

    response = _ask(viewer, **data)

    assert response.status_code in (400, 404)
    body = response.json()
    assert set(body) >= {"detail", "code"}
    assert body["code"] == code, body
    assert _state() == before


def test_a_product_of_another_shop_is_unknown_to_the_desk(desk):
    other = factories.ProductFactory()
    before = _state()

    response = _ask(factories.UserFactory(), product=other.pk)

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_product"
    assert _state() == before


def test_anonymous_viewers_are_asked_to_sign_in(desk):
    before = _state()
    response = _ask(None)
    assert response.status_code == 401
    assert _state() == before


def test_advisors_take_the_next_in_ticket_order_or_a_chosen_one(desk, advisor):
    waiting = [_ask(factories.UserFactory()).json()["public_id"] for _ in range(3)]
    client = client_for(advisor)

    first = client.post("/api/v1/desks/style/take", {}, format="json")
    chosen = client.post("/api/v1/desks/style/take", {"consultation": waiting[2]}, format="json")

    assert first.status_code == 200, first.json()
    assert first.json()["public_id"] == waiting[0]
    assert first.json()["advisor"] == {"id": advisor.pk, "name": str(advisor)}
    assert chosen.json()["public_id"] == waiting[2]
    queue = client.get("/api/v1/desks/style/queue").json()
    assert [item["public_id"] for item in queue] == [waiting[1]]


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        ("taken", 409, "already_taken"),
        ("left", 409, "not_waiting"),
        ("at_capacity", 409, "at_capacity"),
        ("empty", 409, "queue_empty"),
        ("other_desk", 403, "not_an_advisor"),
        ("inactive", 403, "not_an_advisor"),
    ],
)
def test_refused_takes_change_nothing(desk, advisor, setup, status, code):
    viewer = factories.UserFactory()
    public_id = _ask(viewer).json()["public_id"]
    taker = advisor
    body: dict = {"consultation": public_id}
    if setup == "taken":
        client_for(factories.DeskAdvisorFactory(desk=desk).user).post(
            "/api/v1/desks/style/take", {}, format="json"
        )
    elif setup == "left":
        client_for(viewer).post(f"/api/v1/consultations/{public_id}/leave")
    elif setup == "at_capacity":
        taker = factories.DeskAdvisorFactory(desk=desk, capacity=1).user
        client_for(taker).post("/api/v1/desks/style/take", {}, format="json")
        body = {}
        _ask(factories.UserFactory())
    elif setup == "empty":
        client_for(advisor).post("/api/v1/desks/style/take", {}, format="json")
        body = {}
        taker = factories.DeskAdvisorFactory(desk=desk).user
    elif setup == "other_desk":
        taker = factories.DeskAdvisorFactory().user
    elif setup == "inactive":
        taker = factories.DeskAdvisorFactory(desk=desk, is_active=False).user
    before = _state()

    response = client_for(taker).post("/api/v1/desks/style/take", body, format="json")

    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert _state() == before


def test_outsiders_do_not_see_a_consultation(desk, advisor):
    viewer = factories.UserFactory()
    public_id = _ask(viewer).json()["public_id"]
    other_desk_advisor = factories.DeskAdvisorFactory().user

    for outsider in (factories.UserFactory(), other_desk_advisor):
        client = client_for(outsider)
        assert client.get(f"/api/v1/consultations/{public_id}").status_code == 404
        assert client.post(f"/api/v1/consultations/{public_id}/leave").status_code == 404
        assert client.get("/api/v1/desks/style/queue").status_code == 404
    assert client_for(None).get(f"/api/v1/consultations/{public_id}").status_code == 401
    assert client_for(advisor).get(f"/api/v1/consultations/{public_id}").status_code == 200
    assert client_for(viewer).get("/api/v1/consultations/not-a-uuid").status_code == 404


def test_the_advisor_or_a_supervisor_ends_a_consultation_with_its_outcome(desk, advisor):
    viewer = factories.UserFactory()
    public_id = _ask(viewer).json()["public_id"]
    client_for(advisor).post("/api/v1/desks/style/take", {}, format="json")
    colleague = factories.DeskAdvisorFactory(desk=desk).user
    supervisor = factories.DeskAdvisorFactory(desk=desk, is_supervisor=True).user
    before = _state()

    refused = [
        client_for(user).post(
            f"/api/v1/consultations/{public_id}/end", {"outcome": "sale"}, format="json"
        )
        for user in (viewer, colleague)
    ]
    assert [(r.status_code, r.json()["code"]) for r in refused] == [
        (403, "not_your_consultation"),
        (403, "not_your_consultation"),
    ]
    bad = client_for(advisor).post(
        f"/api/v1/consultations/{public_id}/end", {"outcome": "won"}, format="json"
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_choice")
    assert _state() == before

    ended = client_for(supervisor).post(
        f"/api/v1/consultations/{public_id}/end",
        {"outcome": "sale", "note": "Bought the 43."},
        format="json",
    )

    assert ended.status_code == 200
    assert (ended.json()["status"], ended.json()["outcome"]) == ("ended", "sale")
    again = client_for(advisor).post(
        f"/api/v1/consultations/{public_id}/end", {"outcome": "sale"}, format="json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "not_active")


def test_a_request_whose_viewer_is_gone_is_abandoned_and_a_present_one_stays(desk, settings):
    settings.LIVESHOP_CONSULT_AWAY_SECONDS = 60
    gone_viewer, present_viewer = factories.UserFactory(), factories.UserFactory()
    gone = _ask(gone_viewer).json()["public_id"]
    present = _ask(present_viewer).json()["public_id"]
    later = timezone.now() + dt.timedelta(seconds=45)
    Consultation.objects.update(viewer_seen_at=timezone.now() - dt.timedelta(seconds=30))
    # The present viewer's page polls; the other's does not.
    assert client_for(present_viewer).get(f"/api/v1/consultations/{present}").status_code == 200

    assert consultations_abandoned_mark(now=later) == 1
    assert consultations_abandoned_mark(now=later) == 0

    statuses = dict(Consultation.objects.values_list("public_id", "status"))
    assert statuses == {uuid.UUID(gone): "abandoned", uuid.UUID(present): "waiting"}


def test_the_desk_page_says_whether_it_is_open_and_how_many_wait(desk):
    _ask(factories.UserFactory())

    body = client_for(None).get("/api/v1/desks/style").json()

    assert body["is_open"] is True
    assert body["next_opening"] is None
    assert body["waiting"] == 1
    assert body["topics"] == [{"slug": "sizing", "label": "Sizing"}]
    assert client_for(None).get("/api/v1/desks/nope").status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_advisors_taking_one_request_at_once_one_gets_it():
    desk = _always_open(factories.DeskFactory())
    advisors = [factories.DeskAdvisorFactory(desk=desk).user for _ in range(4)]
    consultation, _ = consultation_request(desk=desk, viewer=factories.UserFactory(), source="desk")

    def take(number: int) -> str:
        try:
            taken = consultation_take(
                advisor=advisors[number], desk=desk, public_id=str(consultation.public_id)
            )
        except ConflictError as error:
            return error.code
        return f"taken by {taken.advisor_id}"

    outcomes = threads_run(take, len(advisors))

    consultation.refresh_from_db()
    assert sorted(outcomes) == sorted(
        [f"taken by {consultation.advisor_id}"] + ["already_taken"] * 3
    )
    assert consultation.status == "active"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_advisors_taking_the_next_at_once_get_different_requests():
    desk = _always_open(factories.DeskFactory())
    advisors = [factories.DeskAdvisorFactory(desk=desk).user for _ in range(3)]
    waiting = [
        consultation_request(desk=desk, viewer=factories.UserFactory(), source="desk")[0]
        for _ in range(2)
    ]

    def take(number: int) -> str:
        try:
            return str(consultation_take(advisor=advisors[number], desk=desk).public_id)
        except ConflictError as error:
            return error.code

    outcomes = threads_run(take, len(advisors))

    assert sorted(outcomes) == sorted([str(c.public_id) for c in waiting] + ["queue_empty"])
    assert Consultation.objects.filter(status="active").count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_advisor_with_room_for_one_taking_twice_at_once_gets_one():
    desk = _always_open(factories.DeskFactory())
    advisor = factories.DeskAdvisorFactory(desk=desk, capacity=1).user
    for _ in range(2):
        consultation_request(desk=desk, viewer=factories.UserFactory(), source="desk")

    def take(number: int) -> str:
        try:
            consultation_take(advisor=advisor, desk=desk)
        except ConflictError as error:
            return error.code
        return "taken"

    assert sorted(threads_run(take, 2)) == ["at_capacity", "taken"]
    assert Consultation.objects.filter(status="active", advisor=advisor).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_take_and_the_viewer_leaving_at_once_end_in_one_consistent_state():
    desk = _always_open(factories.DeskFactory())
    advisor = factories.DeskAdvisorFactory(desk=desk).user
    viewer = factories.UserFactory()
    consultation, _ = consultation_request(desk=desk, viewer=viewer, source="desk")

    def act(number: int) -> str:
        try:
            if number == 0:
                consultation_take(advisor=advisor, desk=desk, public_id=str(consultation.public_id))
                return "taken"
            consultation_leave(consultation=consultation, viewer=viewer)
            return "left"
        except ConflictError as error:
            return error.code

    outcomes = sorted(threads_run(act, 2))

    consultation.refresh_from_db()
    assert consultation.status == "left"
    if outcomes == ["left", "taken"]:
        # Taken first, then left: the advisor sees why it ended.
        assert consultation.outcome == "viewer_left"
    else:
        assert outcomes == ["left", "not_waiting"]
        assert consultation.advisor_id is None
