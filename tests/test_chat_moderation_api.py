"""Moderation and question-queue REST adapters: shapes, permissions, garbage input."""

import uuid

import pytest

from chat.models import BlockedTerm, ChatMessage, ChatSanction, ModerationAction, ShowEvent
from chat.services import chat_message_create, message_hide, user_sanction_create
from shows.events import show_room_ensure
from shows.models import Show, ShowMember
from tests.conftest import client_for
from tests.factories import (
    BlockedTermFactory,
    ShowFactory,
    ShowMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def show():
    show = ShowFactory(status=Show.Status.LIVE)
    show_room_ensure(show_id=show.pk)
    return show


@pytest.fixture
def moderator(show):
    return ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user


def post(show, user=None, text="hello", **fields) -> ChatMessage:
    return chat_message_create(
        show_id=show.pk,
        user=user or UserFactory(),
        text=text,
        client_msg_id=uuid.uuid4(),
        **fields,
    ).message


def unchanged() -> tuple:
    return (
        list(ChatMessage.objects.order_by("pk").values_list("pk", "state", "visibility")),
        ShowEvent.objects.count(),
        list(ChatSanction.objects.values_list("pk", "revoked_at")),
        list(BlockedTerm.objects.values_list("pk", flat=True)),
        ModerationAction.objects.count(),
    )


def test_hide_answers_the_message_as_the_team_sees_it(show, moderator):
    message = post(show, text="spam spam")

    response = client_for(moderator).post(
        f"/api/v1/shows/{show.public_id}/messages/{message.pk}/hide",
        {"reason": "spam"},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["state"], body["text"], body["visibility"]) == (
        message.pk,
        "hidden",
        "spam spam",
        "public",
    )
    assert ModerationAction.objects.get().reason == "spam"


@pytest.mark.parametrize(
    ("who", "other_status", "expected"),
    [
        ("anonymous", Show.Status.LIVE, 401),
        ("viewer", Show.Status.LIVE, 403),
        ("moderator_of_a", Show.Status.LIVE, 403),
        ("moderator_of_a", Show.Status.DRAFT, 404),
    ],
)
def test_a_moderator_of_one_show_has_no_power_over_another(who, other_status, expected):
    show_a = ShowFactory(status=Show.Status.LIVE)
    show_b = ShowFactory(status=other_status)
    message = ChatMessage.objects.create(show=show_b, author=UserFactory(), text="hi")
    user = {
        "anonymous": None,
        "viewer": UserFactory(),
        "moderator_of_a": ShowMemberFactory(show=show_a, role="moderator").user,
    }[who]
    client = client_for(user)
    before = unchanged()
    base = f"/api/v1/shows/{show_b.public_id}"

    responses = [
        client.post(f"{base}/messages/{message.pk}/hide", {}, format="json"),
        client.post(f"{base}/messages/{message.pk}/pin", {}, format="json"),
        client.delete(f"{base}/pinned-message"),
        client.get(f"{base}/held"),
        client.get(f"{base}/moderation-log"),
        client.post(
            f"{base}/sanctions",
            {"user_id": message.author_id, "kind": "ban"},
            format="json",
        ),
        client.put(f"{base}/chat-settings", {"slow_mode_seconds": 30}, format="json"),
        client.get(f"{base}/questions"),
    ]

    assert [response.status_code for response in responses] == [expected] * len(responses)
    assert all(set(response.json()) >= {"detail", "code"} for response in responses)
    assert unchanged() == before


def test_a_message_of_another_show_through_this_shows_url_is_404(show, moderator):
    elsewhere = post(ShowFactory(status=Show.Status.LIVE))
    before = unchanged()

    response = client_for(moderator).post(
        f"/api/v1/shows/{show.public_id}/messages/{elsewhere.pk}/hide", format="json"
    )

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert unchanged() == before


def test_delete_approve_deny_pin_and_unpin(show, moderator):
    client = client_for(moderator)
    base = f"/api/v1/shows/{show.public_id}"
    plain, held, other_held = post(show), post(show, text="www.x.com"), post(show, text="www.y.com")

    assert client.post(f"{base}/messages/{held.pk}/approve").json()["visibility"] == "public"
    assert client.post(f"{base}/messages/{other_held.pk}/deny").json()["state"] == "denied"
    assert client.post(f"{base}/messages/{plain.pk}/pin").status_code == 200
    assert client.delete(f"{base}/pinned-message").status_code == 204
    deleted = client.post(f"{base}/messages/{plain.pk}/delete").json()
    assert (deleted["state"], deleted["text"]) == ("deleted", "")
    conflict = client.post(f"{base}/messages/{plain.pk}/hide")
    assert (conflict.status_code, conflict.json()["code"]) == (409, "already_removed")


def test_sanction_create_list_and_revoke(show, moderator):
    client = client_for(moderator)
    target = UserFactory()
    base = f"/api/v1/shows/{show.public_id}"

    created = client.post(
        f"{base}/sanctions",
        {"user_id": target.pk, "kind": "timeout", "duration_seconds": 60, "reason": "spam"},
        format="json",
    )
    listed = client.get(f"{base}/sanctions")
    revoked = client.delete(f"{base}/sanctions/{created.json()['id']}")
    again = client.delete(f"{base}/sanctions/{created.json()['id']}")

    assert created.status_code == 201
    body = created.json()
    assert (body["kind"], body["scope"], body["user"], body["reason"]) == (
        "timeout",
        "show",
        {"id": target.pk, "name": target.username},
        "spam",
    )
    assert [item["id"] for item in listed.json()["results"]] == [body["id"]]
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert (again.status_code, again.json()["code"]) == (409, "not_active")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({}, "required"),
        ({"user_id": "abc", "kind": "ban"}, "invalid"),
        ({"user_id": 10**30, "kind": "ban"}, "max_value"),
        ({"user_id": -1, "kind": "ban"}, "min_value"),
        ({"user_id": 1, "kind": "mute"}, "invalid_choice"),
        ({"user_id": 1, "kind": "timeout", "duration_seconds": -5}, "min_value"),
        ({"user_id": 1, "kind": "timeout", "duration_seconds": 10**20}, "max_value"),
        ({"user_id": 1, "kind": "timeout", "duration_seconds": "soon"}, "invalid"),
        ({"user_id": 1, "kind": "ban", "reason": "x" * 301}, "max_length"),
        ([1, 2], "invalid"),
        ("kind=ban", "invalid"),
    ],
)
def test_garbage_sanction_input_is_400_and_changes_nothing(show, moderator, payload, code):
    before = unchanged()

    response = client_for(moderator).post(
        f"/api/v1/shows/{show.public_id}/sanctions", payload, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert unchanged() == before


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"user_id": 1, "kind": "timeout", "duration_seconds": 86401}, 400, "invalid_duration"),
        ({"user_id": 1, "kind": "timeout"}, 400, "invalid_duration"),
        ({"user_id": 999999999, "kind": "ban"}, 404, "not_found"),
    ],
)
def test_sanction_rules_of_the_service_answer_in_the_error_shape(
    show, moderator, payload, status, code
):
    target = UserFactory()
    if payload["user_id"] == 1:
        payload = {**payload, "user_id": target.pk}
    before = unchanged()

    response = client_for(moderator).post(
        f"/api/v1/shows/{show.public_id}/sanctions", payload, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert unchanged() == before


def test_chat_settings_update(show, moderator):
    response = client_for(moderator).put(
        f"/api/v1/shows/{show.public_id}/chat-settings",
        {"slow_mode_seconds": 15, "hold_links": False},
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == {"slow_mode_seconds": 15, "hold_links": False}


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"slow_mode_seconds": -1},
        {"slow_mode_seconds": 3601},
        {"slow_mode_seconds": "fast"},
        {"slow_mode_seconds": 10**40},
        {"hold_links": "perhaps"},
    ],
)
def test_garbage_chat_settings_are_400_and_change_nothing(show, moderator, payload):
    before = unchanged()

    response = client_for(moderator).put(
        f"/api/v1/shows/{show.public_id}/chat-settings", payload, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) >= {"detail", "code"}
    assert unchanged() == before


@pytest.mark.parametrize(
    "path",
    [
        "messages/99999999999999999999999/hide",
        "messages/-1/hide",
        "messages/abc/hide",
        "messages/9223372036854775807/hide",
        "sanctions/123456789012345678",
        "questions/999999999999999999/claim",
    ],
)
def test_ids_in_urls_that_do_not_exist_are_404(show, moderator, path):
    client = client_for(moderator)
    url = f"/api/v1/shows/{show.public_id}/{path}"

    response = client.delete(url) if path.startswith("sanctions") else client.post(url)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_blocked_terms_add_list_remove(show, moderator):
    client = client_for(moderator)
    base = f"/api/v1/channels/{show.channel.slug}/blocked-terms"

    added = client.post(base, {"term": "scam", "action": "hold"}, format="json")
    duplicate = client.post(base, {"term": "SCAM"}, format="json")
    listed = client.get(base)
    removed = client.delete(f"{base}/{added.json()['id']}")

    assert added.status_code == 201
    assert (added.json()["term"], added.json()["action"]) == ("scam", "hold")
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "term_exists")
    assert [item["term"] for item in listed.json()["results"]] == ["scam"]
    assert removed.status_code == 204
    assert not BlockedTerm.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [{}, {"term": ""}, {"term": "x" * 101}, {"term": "ok", "action": "shout"}, {"term": 5}],
)
def test_garbage_blocked_terms_are_400(show, moderator, payload):
    response = client_for(moderator).post(
        f"/api/v1/channels/{show.channel.slug}/blocked-terms", payload, format="json"
    )

    if payload == {"term": 5}:
        # DRF turns numbers into strings for CharField; "5" is a valid term.
        assert response.status_code == 201
        return
    assert response.status_code == 400
    assert not BlockedTerm.objects.exists()


def test_blocked_terms_of_unknown_channels_or_for_viewers(show):
    viewer = client_for(UserFactory())

    assert (
        client_for(UserFactory(role="merchandiser"))
        .get("/api/v1/channels/nope/blocked-terms")
        .status_code
        == 404
    )
    assert viewer.get(f"/api/v1/channels/{show.channel.slug}/blocked-terms").status_code == 403
    assert (
        client_for(None).get(f"/api/v1/channels/{show.channel.slug}/blocked-terms").status_code
        == 401
    )


def test_question_queue_claim_answer_resolve(show):
    staff = ShowMemberFactory(show=show, role="service_staff").user
    client = client_for(staff)
    asker = UserFactory()
    base = f"/api/v1/shows/{show.public_id}/questions"
    first = post(show, asker, "first?", is_question=True)
    second = post(show, UserFactory(), "second?", is_question=True)

    queue = client.get(base).json()["results"]
    claimed = client.post(f"{base}/{first.pk}/claim")
    answered = client.post(
        f"{base}/{first.pk}/answer", {"text": "Yes", "private": True}, format="json"
    )
    resolved = client.post(f"{base}/{second.pk}/resolve")
    done = client.get(base, {"status": "answered"}).json()["results"]

    assert [item["id"] for item in queue] == [first.pk, second.pk]
    assert queue[0]["response_seconds"] is None
    assert claimed.json()["claimed_by"] == {"id": staff.pk, "name": staff.username}
    assert answered.status_code == 201
    assert (answered.json()["visibility"], answered.json()["answer_to"]) == ("private", first.pk)
    assert resolved.json()["question_status"] == "answered"
    assert [item["id"] for item in done] == [first.pk, second.pk]
    assert all(item["response_seconds"] >= 0 for item in done)


@pytest.mark.parametrize(
    ("query", "payload"),
    [
        ({"status": "lost"}, None),
        (None, {}),
        (None, {"text": "x" * 501}),
        (None, {"text": "ok", "private": "maybe"}),
        (None, {"text": ["a"]}),
    ],
)
def test_garbage_question_input_is_400(show, query, payload):
    staff = ShowMemberFactory(show=show, role="service_staff").user
    question = post(show, text="?", is_question=True)
    client = client_for(staff)
    before = unchanged()

    if query is not None:
        response = client.get(f"/api/v1/shows/{show.public_id}/questions", query)
    else:
        response = client.post(
            f"/api/v1/shows/{show.public_id}/questions/{question.pk}/answer",
            payload,
            format="json",
        )

    assert response.status_code == 400
    assert set(response.json()) >= {"detail", "code"}
    assert unchanged() == before


def _fill(show, moderator, count: int) -> None:
    channel_term_offset = BlockedTerm.objects.count()
    for index in range(count):
        author = UserFactory()
        post(show, author, f"www.example{index}.com")
        question = post(show, author, f"question {index}?", is_question=True)
        message_hide(actor=moderator, show=show, message_id=question.pk)
        post(show, author, f"open question {index}?", is_question=True)
        user_sanction_create(
            actor=moderator, show=show, user_id=author.pk, kind="timeout", duration_seconds=60
        )
        BlockedTermFactory(channel=show.channel, term=f"term{channel_term_offset + index}")


@pytest.mark.parametrize("count", [1, 10])
def test_list_endpoints_use_a_constant_number_of_queries(
    show, moderator, count, django_assert_num_queries
):
    _fill(show, moderator, count)
    client = client_for(moderator)
    base = f"/api/v1/shows/{show.public_id}"

    for path, queries in [
        (f"{base}/held", 4),
        (f"{base}/questions", 4),
        (f"{base}/sanctions", 4),
        (f"{base}/moderation-log", 4),
        (f"/api/v1/channels/{show.channel.slug}/blocked-terms", 4),
    ]:
        with django_assert_num_queries(queries):
            response = client.get(path)
        assert response.status_code == 200
        assert response.json()["count"] >= count


def test_a_nul_byte_in_an_answer_is_refused_with_the_socket_rule(show):
    staff = ShowMemberFactory(show=show, role="service_staff").user
    question = post(show, text="?", is_question=True)
    before = unchanged()

    response = client_for(staff).post(
        f"/api/v1/shows/{show.public_id}/questions/{question.pk}/answer",
        {"text": "Yes\x00"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Some fields are invalid.",
        "code": "null_characters_not_allowed",
        "fields": {"text": ["Null characters are not allowed."]},
    }
    assert unchanged() == before
