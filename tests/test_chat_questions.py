"""The question queue: claim, answer publicly or privately, resolve, response time."""

import uuid

import pytest

from chat.models import ChatMessage, ShowEvent, ShowRoom
from chat.selectors import question_queue_list
from chat.services import (
    ChatRefusal,
    chat_message_create,
    message_hide,
    question_answer,
    question_claim,
    question_resolve,
)
from liveshop.common.exceptions import ConflictError, NotFoundError, PermissionDeniedError
from shows.events import show_room_ensure
from shows.models import Show, ShowMember
from tests.factories import ShowFactory, ShowMemberFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def show():
    return ShowFactory(status=Show.Status.LIVE)


@pytest.fixture
def staff(show):
    return ShowMemberFactory(show=show, role=ShowMember.Role.SERVICE_STAFF).user


@pytest.fixture
def asker():
    return UserFactory()


def ask(show, user, text="Do they run small?") -> ChatMessage:
    return chat_message_create(
        show_id=show.pk, user=user, text=text, client_msg_id=uuid.uuid4(), is_question=True
    ).message


def events_after(show, seq) -> list[tuple[str, dict, str, int | None]]:
    return [
        (event.type, event.data, event.audience, event.audience_user_id)
        for event in ShowEvent.objects.filter(show=show, seq__gt=seq).order_by("seq")
    ]


def state_of(show) -> tuple:
    show_room_ensure(show_id=show.pk)
    return (
        list(
            ChatMessage.objects.filter(show=show)
            .order_by("pk")
            .values_list("pk", "question_status", "claimed_by", "first_response_at", "answered_at")
        ),
        ShowRoom.objects.get(show=show).last_seq,
        ShowEvent.objects.filter(show=show).count(),
    )


def test_queue_lists_open_questions_oldest_first_without_held_removed_or_plain(show, staff, asker):
    moderator = ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user
    first = ask(show, asker, "first?")
    second = ask(show, UserFactory(), "second?")
    ask(show, UserFactory(), "held? www.example.com")
    removed = ask(show, UserFactory(), "removed?")
    message_hide(actor=moderator, show=show, message_id=removed.pk)
    chat_message_create(show_id=show.pk, user=asker, text="plain", client_msg_id=uuid.uuid4())
    claimed = ask(show, UserFactory(), "claimed?")
    question_claim(actor=staff, show=show, question_id=claimed.pk)
    ask(ShowFactory(status=Show.Status.LIVE), asker, "another show?")

    assert list(question_queue_list(actor=staff, show=show)) == [first, second]
    assert list(question_queue_list(actor=staff, show=show, status="claimed")) == [claimed]
    assert list(question_queue_list(actor=staff, show=show, status="answered")) == []


@pytest.mark.parametrize("who", ["viewer", "asker", "other_show_staff"])
def test_queue_is_for_the_show_team_only(show, asker, who):
    actor = {
        "viewer": UserFactory,
        "asker": lambda: asker,
        "other_show_staff": lambda: ShowMemberFactory(role="service_staff").user,
    }[who]()

    with pytest.raises(PermissionDeniedError):
        question_queue_list(actor=actor, show=show)


def test_claim_marks_the_question_for_one_staff_member(show, staff, asker):
    question = ask(show, asker)
    seq = question.seq

    question_claim(actor=staff, show=show, question_id=question.pk)

    question.refresh_from_db()
    assert (question.question_status, question.claimed_by_id) == ("claimed", staff.pk)
    assert question.claimed_at is not None
    assert question.first_response_at is None
    assert events_after(show, seq) == [
        ("question.updated", {"id": question.pk, "question_status": "claimed"}, "public", None)
    ]


def test_claiming_ones_own_claim_again_changes_nothing(show, staff, asker):
    question = ask(show, asker)
    question_claim(actor=staff, show=show, question_id=question.pk)
    before = state_of(show)

    question_claim(actor=staff, show=show, question_id=question.pk)

    assert state_of(show) == before


def test_a_question_claimed_by_another_is_a_conflict_for_every_action(
    show, staff, asker, django_capture_on_commit_callbacks
):
    question = ask(show, asker)
    question_claim(actor=staff, show=show, question_id=question.pk)
    colleague = ShowMemberFactory(show=show, role=ShowMember.Role.HOST).user
    before = state_of(show)

    with django_capture_on_commit_callbacks() as callbacks:
        for attempt in (
            lambda: question_claim(actor=colleague, show=show, question_id=question.pk),
            lambda: question_answer(actor=colleague, show=show, question_id=question.pk, text="Hi"),
            lambda: question_resolve(actor=colleague, show=show, question_id=question.pk),
        ):
            with pytest.raises(ConflictError) as refused:
                attempt()
            assert (refused.value.code, refused.value.extra) == (
                "claimed",
                {"claimed_by": staff.pk},
            )

    assert callbacks == []
    assert state_of(show) == before


def test_public_answer_is_linked_to_the_question_and_records_the_response_time(show, staff, asker):
    question = ask(show, asker)
    seq = question.seq

    answer = question_answer(
        actor=staff, show=show, question_id=question.pk, text="  True to size, see www.x.com "
    )

    question.refresh_from_db()
    assert (
        answer.kind,
        answer.text,
        answer.answer_to_id,
        answer.visibility,
        answer.author_role,
        answer.links_clickable,
    ) == ("answer", "True to size, see www.x.com", question.pk, "public", "service_staff", True)
    assert question.question_status == "answered"
    assert question.first_response_at == answer.created_at == question.answered_at
    assert question.response_seconds == (answer.created_at - question.created_at).total_seconds()
    created, updated = events_after(show, seq)
    assert (created[0], created[1]["id"], created[1]["answer_to"], created[2]) == (
        "message.created",
        answer.pk,
        question.pk,
        "public",
    )
    assert updated == (
        "question.updated",
        {"id": question.pk, "question_status": "answered"},
        "public",
        None,
    )


def test_private_answer_goes_only_to_the_asker_and_the_team(show, staff, asker):
    question = ask(show, asker)
    seq = question.seq

    answer = question_answer(
        actor=staff, show=show, question_id=question.pk, text="Sent you a size chart", private=True
    )

    assert answer.visibility == "private"
    created = events_after(show, seq)[0]
    assert (created[0], created[1]["visibility"], created[2], created[3]) == (
        "message.created",
        "private",
        "user",
        asker.pk,
    )


def test_a_follow_up_answer_keeps_the_first_response_time(show, staff, asker):
    question = ask(show, asker)
    first = question_answer(actor=staff, show=show, question_id=question.pk, text="Yes")

    question_answer(actor=staff, show=show, question_id=question.pk, text="And in blue too")

    question.refresh_from_db()
    assert question.first_response_at == first.created_at
    assert question.answers.count() == 2


def test_resolve_marks_answered_without_a_chat_answer(show, staff, asker):
    question = ask(show, asker)
    seq = question.seq

    question_resolve(actor=staff, show=show, question_id=question.pk)

    question.refresh_from_db()
    assert question.question_status == "answered"
    assert question.first_response_at is not None
    assert question.answers.count() == 0
    assert events_after(show, seq) == [
        ("question.updated", {"id": question.pk, "question_status": "answered"}, "public", None)
    ]


@pytest.mark.parametrize("action", ["claim", "resolve"])
def test_answered_questions_cannot_be_claimed_or_resolved(show, staff, asker, action):
    question = ask(show, asker)
    question_resolve(actor=staff, show=show, question_id=question.pk)
    before = state_of(show)
    call = question_claim if action == "claim" else question_resolve

    with pytest.raises(ConflictError) as refused:
        call(actor=staff, show=show, question_id=question.pk)

    assert refused.value.code == "already_answered"
    assert state_of(show) == before


def test_questions_of_another_show_held_or_plain_messages_are_not_found(show, staff, asker):
    elsewhere = ask(ShowFactory(status=Show.Status.LIVE), asker)
    held = ask(show, UserFactory(), "www.example.com?")
    plain = chat_message_create(
        show_id=show.pk, user=asker, text="plain", client_msg_id=uuid.uuid4()
    ).message
    before = state_of(show)

    for question in (elsewhere, held, plain):
        with pytest.raises(NotFoundError):
            question_claim(actor=staff, show=show, question_id=question.pk)
        with pytest.raises(NotFoundError):
            question_answer(actor=staff, show=show, question_id=question.pk, text="Hi")
        with pytest.raises(NotFoundError):
            question_resolve(actor=staff, show=show, question_id=question.pk)

    assert state_of(show) == before


@pytest.mark.parametrize("who", ["viewer", "asker", "other_show_staff"])
def test_only_the_show_team_may_work_on_questions(show, asker, who):
    question = ask(show, asker)
    actor = {
        "viewer": UserFactory,
        "asker": lambda: asker,
        "other_show_staff": lambda: ShowMemberFactory(role="service_staff").user,
    }[who]()
    before = state_of(show)

    for attempt in (
        lambda: question_claim(actor=actor, show=show, question_id=question.pk),
        lambda: question_answer(actor=actor, show=show, question_id=question.pk, text="Hi"),
        lambda: question_resolve(actor=actor, show=show, question_id=question.pk),
    ):
        with pytest.raises(PermissionDeniedError):
            attempt()

    assert state_of(show) == before


@pytest.mark.parametrize("who", ["host", "moderator", "merchandiser"])
def test_hosts_moderators_and_merchandisers_may_answer(show, asker, who):
    actor = (
        UserFactory(role="merchandiser")
        if who == "merchandiser"
        else ShowMemberFactory(show=show, role=who).user
    )
    question = ask(show, asker)

    answer = question_answer(actor=actor, show=show, question_id=question.pk, text="Yes")

    assert answer.author_role == ("moderator" if who == "merchandiser" else who)


@pytest.mark.parametrize(("text", "code"), [("   ", "empty_text"), ("x" * 501, "text_too_long")])
def test_answer_text_must_be_1_to_500_characters(show, staff, asker, text, code):
    question = ask(show, asker)
    before = state_of(show)

    with pytest.raises(ChatRefusal) as refused:
        question_answer(actor=staff, show=show, question_id=question.pk, text=text)

    assert refused.value.code == code
    assert state_of(show) == before


def test_a_private_answer_needs_the_askers_account(show, staff, asker):
    question = ask(show, asker)
    ChatMessage.objects.filter(pk=question.pk).update(author=None)
    before = state_of(show)

    with pytest.raises(ConflictError) as refused:
        question_answer(actor=staff, show=show, question_id=question.pk, text="Hi", private=True)

    assert refused.value.code == "asker_gone"
    assert state_of(show) == before
