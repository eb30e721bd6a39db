"""What each role sees over the show socket when the chat is moderated."""

import uuid

import pytest
from channels.db import database_sync_to_async
from rest_framework.authtoken.models import Token

from chat.models import ChatMessage, ShowRoom
from chat.services import (
    chat_message_create,
    chat_settings_update,
    message_approve,
    message_hide,
    question_answer,
    user_sanction_create,
)
from shows.events import show_room_ensure
from shows.models import Show, ShowMember
from tests.factories import BlockedTermFactory, ShowFactory, ShowMemberFactory, UserFactory
from tests.sockets import (
    batch_events,
    frame_receive,
    frames_until,
    hub_shutdown,
    send_frame,
    socket_open,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def cast() -> dict:
    show = ShowFactory(status=Show.Status.LIVE)
    show_room_ensure(show_id=show.pk)
    return {
        "show": show,
        "moderator": ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user,
        "staff": ShowMemberFactory(show=show, role=ShowMember.Role.SERVICE_STAFF).user,
        "author": UserFactory(),
        "viewer": UserFactory(),
    }


@database_sync_to_async
def say(show, user, text, **fields) -> ChatMessage:
    return chat_message_create(
        show_id=show.pk, user=user, text=text, client_msg_id=uuid.uuid4(), **fields
    ).message


async def connect(show, user):
    token = await database_sync_to_async(Token.objects.get_or_create)(user=user)
    communicator = await socket_open(show.public_id, token=token[0].key)
    snapshot = await frame_receive(communicator)
    assert snapshot["type"] == "snapshot"
    return communicator, snapshot


async def connect_all(show, *users) -> list:
    return [(await connect(show, user))[0] for user in users]


def event_seen(kind: str, message_id: int):
    def predicate(frame: dict) -> bool:
        return frame["type"] == "batch" and any(
            event["type"] == kind and event["data"].get("id") == message_id
            for event in frame["events"]
        )

    return predicate


async def events_until(communicator, kind: str, message_id: int) -> list[dict]:
    return batch_events(await frames_until(communicator, event_seen(kind, message_id)))


def ids_of(events: list[dict], kind: str = "message.created") -> list[int]:
    return [event["data"]["id"] for event in events if event["type"] == kind]


async def send_and_collect(communicator, frame: dict) -> tuple[dict, list[dict]]:
    """The ack of ``frame`` and the events up to its own ``message.created``.

    The event can arrive before the ack (it is published on commit), so both are
    waited for.
    """
    await communicator.send_json_to(frame)
    frames = await frames_until(communicator, lambda f: f["type"] == "ack")
    ack = frames[-1]
    events = batch_events(frames)
    if ack["message"]["id"] not in ids_of(events):
        events += await events_until(communicator, "message.created", ack["message"]["id"])
    return ack, events


async def close_all(*communicators) -> None:
    for communicator in communicators:
        await communicator.disconnect()
    await hub_shutdown()


async def test_a_hidden_message_disappears_for_viewers_and_moderators():
    cast_ = await cast()
    show = cast_["show"]
    message = await say(show, cast_["author"], "rude words")
    viewer, viewer_snapshot = await connect(show, cast_["viewer"])
    moderator, _ = await connect(show, cast_["moderator"])
    try:
        assert [item["id"] for item in viewer_snapshot["messages"]] == [message.pk]

        await database_sync_to_async(message_hide)(
            actor=cast_["moderator"], show=show, message_id=message.pk
        )

        for communicator in (viewer, moderator):
            removed = [
                event
                for event in await events_until(communicator, "message.removed", message.pk)
                if event["type"] == "message.removed"
            ]
            assert [event["data"] for event in removed] == [{"id": message.pk, "reason": "hidden"}]
        fresh, fresh_snapshot = await connect(show, cast_["viewer"])
        await fresh.disconnect()
        assert fresh_snapshot["messages"] == []
    finally:
        await close_all(viewer, moderator)


async def test_a_shadow_hidden_users_message_reaches_only_the_author_and_the_team():
    cast_ = await cast()
    show = cast_["show"]
    await database_sync_to_async(user_sanction_create)(
        actor=cast_["moderator"], show=show, user_id=cast_["author"].pk, kind="shadow"
    )
    author, moderator, viewer = await connect_all(
        show, cast_["author"], cast_["moderator"], cast_["viewer"]
    )
    try:
        ack, own = await send_and_collect(author, send_frame("only I think this is public"))
        shadow_id = ack["message"]["id"]
        assert (ack["status"], ack["message"]["visibility"]) == ("published", "shadow")

        team = await events_until(moderator, "message.created", shadow_id)
        marker = await say(show, cast_["moderator"], "marker")
        seen_by_viewer = await events_until(viewer, "message.created", marker.pk)

        assert shadow_id in ids_of(own)
        assert shadow_id in ids_of(team)
        assert ids_of(seen_by_viewer) == [marker.pk]
        assert "user.sanctioned" not in [event["type"] for event in own]
    finally:
        await close_all(author, moderator, viewer)


async def test_a_private_answer_reaches_the_asker_and_the_team_only():
    cast_ = await cast()
    show = cast_["show"]
    asker, staff, viewer = await connect_all(show, cast_["author"], cast_["staff"], cast_["viewer"])
    try:
        await asker.send_json_to(send_frame("Do they run small?", question=True))
        ack = (await frames_until(asker, lambda frame: frame["type"] == "ack"))[-1]
        question_id = ack["message"]["id"]

        answer = await database_sync_to_async(question_answer)(
            actor=cast_["staff"],
            show=show,
            question_id=question_id,
            text="Take one size up",
            private=True,
        )
        marker = await say(show, cast_["staff"], "marker")

        for communicator in (asker, staff):
            seen = await events_until(communicator, "message.created", marker.pk)
            assert answer.pk in ids_of(seen)
            assert [event["data"] for event in seen if event["type"] == "question.updated"] == [
                {"id": question_id, "question_status": "answered"}
            ]
        seen_by_viewer = await events_until(viewer, "message.created", marker.pk)
        assert answer.pk not in ids_of(seen_by_viewer)
        assert question_id in ids_of(seen_by_viewer)
        assert [e["type"] for e in seen_by_viewer if e["type"] == "question.updated"] == [
            "question.updated"
        ]
    finally:
        await close_all(asker, staff, viewer)


async def test_a_held_message_reaches_author_and_moderators_then_everyone_after_approval():
    cast_ = await cast()
    show = cast_["show"]
    author, moderator, viewer = await connect_all(
        show, cast_["author"], cast_["moderator"], cast_["viewer"]
    )
    try:
        await author.send_json_to(send_frame("great deals at www.example.com"))
        ack = (await frames_until(author, lambda frame: frame["type"] == "ack"))[-1]
        held_id = ack["message"]["id"]
        assert ack["status"] == "held"
        team = await events_until(moderator, "message.created", held_id)
        assert [e["data"]["visibility"] for e in team if e["type"] == "message.created"] == ["held"]
        marker = await say(show, cast_["moderator"], "marker")
        assert ids_of(await events_until(viewer, "message.created", marker.pk)) == [marker.pk]

        await database_sync_to_async(message_approve)(
            actor=cast_["moderator"], show=show, message_id=held_id
        )

        approved = [
            event
            for event in await events_until(viewer, "message.created", held_id)
            if event["type"] == "message.created"
        ]
        assert [(e["data"]["id"], e["data"]["visibility"]) for e in approved] == [
            (held_id, "public")
        ]
        assert approved[0]["seq"] > ack["message"]["seq"]
    finally:
        await close_all(author, moderator, viewer)


async def test_refused_sends_get_an_error_frame_saying_why_and_until_when():
    cast_ = await cast()
    show = cast_["show"]
    banned_user = await database_sync_to_async(UserFactory)()
    slow_user = await database_sync_to_async(UserFactory)()
    await database_sync_to_async(BlockedTermFactory)(channel=show.channel, term="scam")
    timeout = await database_sync_to_async(user_sanction_create)(
        actor=cast_["moderator"],
        show=show,
        user_id=cast_["author"].pk,
        kind="timeout",
        duration_seconds=300,
        reason="spam",
    )
    await database_sync_to_async(user_sanction_create)(
        actor=cast_["moderator"],
        show=show,
        user_id=banned_user.pk,
        kind="ban",
        duration_seconds=3600,
    )
    await database_sync_to_async(chat_settings_update)(
        actor=cast_["moderator"], show=show, slow_mode_seconds=60
    )
    timed_out, timed_out_snapshot = await connect(show, cast_["author"])
    banned, _ = await connect(show, banned_user)
    slow, _ = await connect(show, slow_user)
    try:
        assert (timed_out_snapshot["me"]["can_post"], timed_out_snapshot["me"]["mute_reason"]) == (
            False,
            "timeout",
        )
        for communicator, code in ((timed_out, "timed_out"), (banned, "banned")):
            frame = send_frame("hello?")
            await communicator.send_json_to(frame)
            error = (await frames_until(communicator, lambda f: f["type"] == "error"))[-1]
            assert (error["code"], error["client_msg_id"]) == (code, frame["client_msg_id"])
            assert error["until"].endswith("Z")
        assert (
            "until 0" in error["detail"]
            or "until 1" in error["detail"]
            or "until 2" in (error["detail"])
        )
        assert timed_out_snapshot["me"]["muted_until"] == (
            timeout.expires_at.isoformat().replace("+00:00", "Z")
        )

        await slow.send_json_to(send_frame("what a scam"))
        error = (await frames_until(slow, lambda f: f["type"] == "error"))[-1]
        assert (error["code"], "until" in error) == ("blocked_term", False)
        await slow.send_json_to(send_frame("first"))
        await frames_until(slow, lambda f: f["type"] == "ack")
        await slow.send_json_to(send_frame("second"))
        error = (await frames_until(slow, lambda f: f["type"] == "error"))[-1]
        assert error["code"] == "slow_mode"
        assert error["until"].endswith("Z")
    finally:
        await close_all(timed_out, banned, slow)


async def test_a_timeout_is_announced_to_the_user_and_the_team_only():
    cast_ = await cast()
    show = cast_["show"]
    target, moderator, viewer = await connect_all(
        show, cast_["author"], cast_["moderator"], cast_["viewer"]
    )
    try:
        await database_sync_to_async(user_sanction_create)(
            actor=cast_["moderator"],
            show=show,
            user_id=cast_["author"].pk,
            kind="timeout",
            duration_seconds=60,
        )
        marker = await say(show, cast_["moderator"], "marker")

        for communicator, expected in ((target, 1), (moderator, 1), (viewer, 0)):
            seen = await events_until(communicator, "message.created", marker.pk)
            sanctioned = [e for e in seen if e["type"] == "user.sanctioned"]
            assert len(sanctioned) == expected
    finally:
        await close_all(target, moderator, viewer)


async def test_links_are_clickable_only_in_team_messages():
    cast_ = await cast()
    show = cast_["show"]
    await database_sync_to_async(
        lambda: ShowRoom.objects.filter(show=show).update(hold_links=False)
    )()
    viewer, _ = await connect(show, cast_["viewer"])
    moderator, _ = await connect(show, cast_["moderator"])
    try:
        await viewer.send_json_to(send_frame("see https://example.com"))
        await moderator.send_json_to(send_frame("see https://example.com"))
        viewer_ack = (await frames_until(viewer, lambda f: f["type"] == "ack"))[-1]
        team_ack = (await frames_until(moderator, lambda f: f["type"] == "ack"))[-1]

        assert viewer_ack["message"]["links_clickable"] is False
        assert team_ack["message"]["links_clickable"] is True
    finally:
        await close_all(viewer, moderator)


async def test_a_viewers_snapshot_leaves_out_what_they_may_not_see():
    cast_ = await cast()
    show = cast_["show"]
    moderator_user, author_user = cast_["moderator"], cast_["author"]
    public = await say(show, author_user, "public")
    hidden = await say(show, author_user, "to be hidden")
    await database_sync_to_async(message_hide)(
        actor=moderator_user, show=show, message_id=hidden.pk
    )
    held = await say(show, author_user, "www.example.com")
    question = await say(show, author_user, "size?", is_question=True)
    private = await database_sync_to_async(question_answer)(
        actor=cast_["staff"], show=show, question_id=question.pk, text="M", private=True
    )
    shadowed_user = await database_sync_to_async(UserFactory)()
    await database_sync_to_async(user_sanction_create)(
        actor=moderator_user, show=show, user_id=shadowed_user.pk, kind="shadow"
    )
    shadow = await say(show, shadowed_user, "nobody hears me")

    viewer, viewer_snapshot = await connect(show, cast_["viewer"])
    author, author_snapshot = await connect(show, author_user)
    moderator, moderator_snapshot = await connect(show, moderator_user)
    try:
        assert [item["id"] for item in viewer_snapshot["messages"]] == [public.pk, question.pk]
        assert [item["id"] for item in author_snapshot["messages"]] == [
            public.pk,
            held.pk,
            question.pk,
            private.pk,
        ]
        assert [item["id"] for item in moderator_snapshot["messages"]] == [
            public.pk,
            held.pk,
            question.pk,
            private.pk,
            shadow.pk,
        ]
    finally:
        await close_all(viewer, author, moderator)
