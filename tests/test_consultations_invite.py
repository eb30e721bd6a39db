"""Escalation from the show: staff invite a question's asker to a private consultation."""

import uuid

import pytest
from channels.db import database_sync_to_async
from rest_framework.authtoken.models import Token

from chat.models import ChatMessage
from chat.services import chat_message_create
from consultations.models import Consultation
from shows.events import show_room_ensure
from shows.models import Show, ShowEvent, ShowMember
from tests import factories
from tests.conftest import client_for
from tests.sockets import batch_events, frame_receive, frames_until, hub_shutdown, socket_open


def _cast() -> dict:
    show = factories.ShowFactory(status=Show.Status.LIVE)
    show_room_ensure(show_id=show.pk)
    desk = factories.DeskFactory(channel=show.channel, storefront=None, slug="style")
    staff = factories.ShowMemberFactory(show=show, role=ShowMember.Role.SERVICE_STAFF).user
    factories.DeskAdvisorFactory(desk=desk, user=staff, capacity=1)
    asker = factories.UserFactory()
    question = chat_message_create(
        show_id=show.pk,
        user=asker,
        text="Do they run small?",
        client_msg_id=uuid.uuid4(),
        is_question=True,
    ).message
    return {"show": show, "desk": desk, "staff": staff, "asker": asker, "question": question}


def _invite(user, show, question_id, desk="style"):
    return client_for(user).post(
        f"/api/v1/shows/{show.public_id}/questions/{question_id}/invite",
        {"desk": desk},
        format="json",
    )


def _state():
    return {
        "consultations": list(Consultation.objects.order_by("pk").values()),
        "events": list(ShowEvent.objects.order_by("pk").values()),
        "messages": list(ChatMessage.objects.order_by("pk").values()),
    }


@pytest.mark.django_db
def test_staff_invite_the_asker_and_the_consultation_starts_with_the_question():
    cast = _cast()

    response = _invite(cast["staff"], cast["show"], cast["question"].pk)

    assert response.status_code == 201, response.json()
    body = response.json()
    consultation = Consultation.objects.get()
    assert (body["status"], body["source"], body["show"], body["question_id"]) == (
        "active",
        "question",
        cast["show"].public_id,
        cast["question"].pk,
    )
    assert body["first_message"] == "Do they run small?"
    assert body["advisor"]["id"] == cast["staff"].pk
    assert consultation.viewer_id == cast["asker"].pk
    event = ShowEvent.objects.filter(type="consultation.invited").get()
    assert (event.audience, event.audience_user_id) == ("user", cast["asker"].pk)
    assert event.data == {
        "consultation": body["public_id"],
        "desk": {"slug": "style", "name": cast["desk"].name},
        "advisor": {"id": cast["staff"].pk, "name": str(cast["staff"])},
        "question_id": cast["question"].pk,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("not_on_the_team", 403, "permission_denied"),
        ("not_an_advisor", 403, "not_an_advisor"),
        ("desk_not_for_show", 409, "desk_not_for_show"),
        ("own_question", 409, "own_question"),
        ("already_in_consultation", 409, "already_in_consultation"),
        ("at_capacity", 409, "at_capacity"),
        ("no_such_question", 404, "not_found"),
        ("hidden_question", 404, "not_found"),
        ("no_such_desk", 404, "not_found"),
    ],
)
def test_refused_invitations_change_nothing_and_send_nothing(case, status, code):
    cast = _cast()
    actor, question_id, desk = cast["staff"], cast["question"].pk, "style"
    if case == "not_on_the_team":
        actor = factories.DeskAdvisorFactory(desk=cast["desk"]).user
    elif case == "not_an_advisor":
        actor = factories.ShowMemberFactory(
            show=cast["show"], role=ShowMember.Role.SERVICE_STAFF
        ).user
    elif case == "desk_not_for_show":
        other = factories.DeskFactory(slug="elsewhere")
        factories.DeskAdvisorFactory(desk=other, user=actor)
        desk = "elsewhere"
    elif case == "own_question":
        question_id = chat_message_create(
            show_id=cast["show"].pk,
            user=actor,
            text="Note to self?",
            client_msg_id=uuid.uuid4(),
            is_question=True,
        ).message.pk
    elif case == "already_in_consultation":
        _invite(cast["staff"], cast["show"], question_id)
        actor = factories.ShowMemberFactory(
            show=cast["show"], role=ShowMember.Role.SERVICE_STAFF
        ).user
        factories.DeskAdvisorFactory(desk=cast["desk"], user=actor)
    elif case == "at_capacity":
        other_asker = factories.UserFactory()
        other = chat_message_create(
            show_id=cast["show"].pk,
            user=other_asker,
            text="And in blue?",
            client_msg_id=uuid.uuid4(),
            is_question=True,
        ).message
        _invite(actor, cast["show"], other.pk)
    elif case == "no_such_question":
        question_id = 10**12
    elif case == "hidden_question":
        ChatMessage.objects.filter(pk=question_id).update(state=ChatMessage.State.HIDDEN)
    elif case == "no_such_desk":
        desk = "nope"
    before = _state()

    response = _invite(actor, cast["show"], question_id, desk=desk)

    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert _state() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("desk", "status"),
    # A number reads as the slug "7" (DRF's string fields take numbers): no such desk.
    [("", 400), ("a\x00b", 400), ("x" * 61, 400), (7, 404), (None, 400), (["style"], 400)],
)
def test_a_garbage_desk_is_refused_in_one_shape(desk, status):
    cast = _cast()
    before = _state()

    response = client_for(cast["staff"]).post(
        f"/api/v1/shows/{cast['show'].public_id}/questions/{cast['question'].pk}/invite",
        {"desk": desk},
        format="json",
    )

    assert response.status_code == status
    assert set(response.json()) >= {"detail", "code"}
    assert _state() == before


async def _connect(show, user):
    token, _ = await database_sync_to_async(Token.objects.get_or_create)(user=user)
    communicator = await socket_open(show.public_id, token=token.key)
    assert (await frame_receive(communicator))["type"] == "snapshot"
    return communicator


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_only_the_asker_and_the_team_hear_the_invitation():
    cast = await database_sync_to_async(_cast)()
    moderator = await database_sync_to_async(
        lambda: factories.ShowMemberFactory(show=cast["show"], role=ShowMember.Role.MODERATOR).user
    )()
    bystander = await database_sync_to_async(factories.UserFactory)()
    sockets = {
        name: await _connect(cast["show"], user)
        for name, user in (
            ("asker", cast["asker"]),
            ("moderator", moderator),
            ("bystander", bystander),
        )
    }
    try:
        response = await database_sync_to_async(_invite)(
            cast["staff"], cast["show"], cast["question"].pk
        )
        assert response.status_code == 201
        # A public message after the invitation: once it arrives, the invitation would have too.
        await database_sync_to_async(chat_message_create)(
            show_id=cast["show"].pk, user=bystander, text="after", client_msg_id=uuid.uuid4()
        )

        def after_arrived(frame):
            return frame["type"] == "batch" and any(
                event["type"] == "message.created" and event["data"]["text"] == "after"
                for event in frame["events"]
            )

        seen = {
            name: [
                event["type"]
                for event in batch_events(await frames_until(communicator, after_arrived))
            ]
            for name, communicator in sockets.items()
        }
        assert "consultation.invited" in seen["asker"]
        assert "consultation.invited" in seen["moderator"]
        assert "consultation.invited" not in seen["bystander"]
    finally:
        for communicator in sockets.values():
            await communicator.disconnect()
        await hub_shutdown()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_invitation_and_a_take_by_an_advisor_with_room_for_one_give_one_consultation():
    from consultations.models import DeskHours
    from consultations.services.invitations import consultation_invite_from_question
    from consultations.services.queue import consultation_request, consultation_take
    from liveshop.common.exceptions import ConflictError
    from tests.threads import threads_run_interleaved

    cast = _cast()
    for weekday in range(7):
        DeskHours.objects.create(desk=cast["desk"], weekday=weekday, opens="00:00", closes="00:00")
    consultation_request(desk=cast["desk"], viewer=factories.UserFactory(), source="desk")

    def invite() -> str:
        try:
            consultation_invite_from_question(
                actor=cast["staff"],
                show=cast["show"],
                question_id=cast["question"].pk,
                desk=cast["desk"],
            )
        except ConflictError as error:
            return error.code
        return "invited"

    def take() -> str:
        try:
            consultation_take(advisor=cast["staff"], desk=cast["desk"])
        except ConflictError as error:
            return error.code
        return "taken"

    outcomes = threads_run_interleaved([invite, take])

    assert sorted(outcomes) in (["at_capacity", "invited"], ["at_capacity", "taken"])
    assert Consultation.objects.filter(advisor=cast["staff"], status="active").count() == 1
    invited = ShowEvent.objects.filter(type="consultation.invited").count()
    assert invited == (1 if "invited" in outcomes else 0)
