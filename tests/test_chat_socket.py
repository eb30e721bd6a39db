"""The show socket through the real ASGI stack: connect, auth, frames, limits."""

import json
import uuid

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from rest_framework.authtoken.models import Token

from chat.models import ChatMessage, ShowEvent
from realtime.tickets import realtime_ticket_create
from shows.models import Show
from tests import factories
from tests.sockets import (
    batch_events,
    close_code,
    frame_receive,
    frames_until,
    hub_shutdown,
    send_frame,
    socket_open,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def _live_show(**fields) -> Show:
    return factories.ShowFactory(status=Show.Status.LIVE, **fields)


@database_sync_to_async
def _user_with_token(**fields) -> tuple:
    user = factories.UserFactory(**fields)
    return user, Token.objects.create(user=user).key


@database_sync_to_async
def _message_count(show: Show) -> int:
    return ChatMessage.objects.filter(show=show).count()


@database_sync_to_async
def _event_count(show: Show) -> int:
    return ShowEvent.objects.filter(show=show).count()


async def test_anonymous_viewer_gets_a_snapshot_and_live_messages():
    show = await _live_show(title="Boots")
    _, token = await _user_with_token(username="anna")
    try:
        viewer = await socket_open(show.public_id)
        snapshot = await frame_receive(viewer)
        assert snapshot["type"] == "snapshot"
        assert snapshot["seq"] == 0
        assert snapshot["show"]["status"] == "live"
        assert snapshot["show"]["title"] == "Boots"
        assert snapshot["me"]["user_id"] is None
        assert snapshot["me"]["can_post"] is False
        assert snapshot["messages"] == []
        assert snapshot["pinned_message"] is None
        assert snapshot["pins"] == []

        poster = await socket_open(show.public_id, token=token)
        assert (await frame_receive(poster))["me"]["username"] == "anna"
        client_msg_id = str(uuid.uuid4())
        await poster.send_json_to(send_frame("<script>x</script>", client_msg_id))

        frames = await frames_until(viewer, lambda frame: frame["type"] == "batch")
        [event] = batch_events(frames)
        assert event["seq"] == 1
        assert event["type"] == "message.created"
        assert event["data"]["text"] == "<script>x</script>"
        assert event["data"]["author"]["name"] == "anna"
        assert event["data"]["links_clickable"] is False
        poster_frames = await frames_until(poster, lambda frame: frame["type"] == "ack")
        ack = poster_frames[-1]
        assert ack["client_msg_id"] == client_msg_id
        assert ack["status"] == "published"
        assert ack["message"]["id"] == event["data"]["id"]
        await viewer.disconnect()
        await poster.disconnect()
    finally:
        await hub_shutdown()


async def test_bearer_subprotocol_is_answered_with_the_plain_protocol_name():
    show = await _live_show()
    user, token = await _user_with_token()
    try:
        socket = await socket_open(show.public_id, token=token)
        snapshot = await frame_receive(socket)
        assert snapshot["me"]["user_id"] == user.pk
        await socket.disconnect()
    finally:
        await hub_shutdown()


async def test_same_client_msg_id_twice_creates_one_message():
    show = await _live_show()
    _, token = await _user_with_token()
    try:
        socket = await socket_open(show.public_id, token=token)
        await frame_receive(socket)
        client_msg_id = str(uuid.uuid4())
        await socket.send_json_to(send_frame("once", client_msg_id))
        first = (await frames_until(socket, lambda frame: frame["type"] == "ack"))[-1]
        await socket.send_json_to(send_frame("once", client_msg_id))
        second = (await frames_until(socket, lambda frame: frame["type"] == "ack"))[-1]
        assert first["status"] == "published"
        assert second["status"] == "duplicate"
        assert second["message"]["id"] == first["message"]["id"]
        assert await _message_count(show) == 1
        assert await _event_count(show) == 1
        await socket.disconnect()
    finally:
        await hub_shutdown()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("bad-token", 4001), ("used-ticket", 4001), ("foreign-origin", 4003)],
)
async def test_refused_credentials_close_with_a_documented_code(kind, expected):
    show = await _live_show()
    user, token = await _user_with_token()
    try:
        if kind == "bad-token":
            socket = await socket_open(show.public_id, token="not-a-token")
        elif kind == "used-ticket":
            ticket = await database_sync_to_async(realtime_ticket_create)(user=user)
            first = await socket_open(show.public_id, query=f"ticket={ticket}")
            assert (await frame_receive(first))["me"]["user_id"] == user.pk
            await first.disconnect()
            socket = await socket_open(show.public_id, query=f"ticket={ticket}")
        else:
            socket = await socket_open(show.public_id, token=token, origin="https://evil.example")
        assert await close_code(socket) == expected
    finally:
        await hub_shutdown()


@database_sync_to_async
def _session_cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


@pytest.mark.parametrize(
    ("origin", "authenticated"),
    [("http://localhost", True), (None, False)],
)
async def test_session_cookie_counts_only_with_an_allowed_origin(origin, authenticated):
    show = await _live_show()
    user, _ = await _user_with_token()
    cookie = await _session_cookie_for(user)
    try:
        socket = await socket_open(show.public_id, origin=origin, cookie=cookie)
        snapshot = await frame_receive(socket)
        assert snapshot["me"]["user_id"] == (user.pk if authenticated else None)
        await socket.disconnect()
    finally:
        await hub_shutdown()


@pytest.mark.parametrize(
    ("status", "is_test", "public_id", "expected"),
    [
        (Show.Status.DRAFT, False, None, 4004),
        (Show.Status.LIVE, True, None, 4004),
        (Show.Status.LIVE, False, "no-such-show", 4004),
    ],
)
async def test_invisible_or_unknown_shows_close_4004(status, is_test, public_id, expected):
    show = await database_sync_to_async(factories.ShowFactory)(status=status, is_test=is_test)
    try:
        socket = await socket_open(public_id or show.public_id)
        assert await close_code(socket) == expected
    finally:
        await hub_shutdown()


@pytest.mark.parametrize("query", ["seq=3", "epoch=x", "epoch=x&seq=-1", "epoch=x&seq=abc"])
async def test_malformed_resume_closes_4400(query):
    show = await _live_show()
    try:
        socket = await socket_open(show.public_id, query=query)
        assert await close_code(socket) == 4400
    finally:
        await hub_shutdown()


async def test_bad_frames_get_error_frames_and_the_socket_stays_open():
    show = await _live_show()
    _, token = await _user_with_token()
    try:
        socket = await socket_open(show.public_id, token=token)
        await frame_receive(socket)
        cases = [
            ("{not json", "invalid_json"),
            ("[1, 2]", "invalid_json"),
            ('{"type": "dance"}', "unknown_type"),
            ('{"type": "message.send", "text": "x"}', "invalid"),
            ('{"type": "message.send", "client_msg_id": "nope", "text": "x"}', "invalid"),
            (
                json.dumps({"type": "message.send", "client_msg_id": str(uuid.uuid4()), "text": 5}),
                "invalid",
            ),
            ('{"type": "reaction", "kind": "poop"}', "invalid"),
        ]
        for text, code in cases:
            await socket.send_to(text_data=text)
            frame = await frame_receive(socket)
            assert (frame["type"], frame["code"]) == ("error", code), text
        too_long = send_frame("x" * 501)
        await socket.send_json_to(too_long)
        frame = await frame_receive(socket)
        assert frame["code"] == "text_too_long"
        assert frame["client_msg_id"] == too_long["client_msg_id"]
        await socket.send_json_to({"type": "ping"})
        assert await frame_receive(socket) == {"type": "pong"}
        assert await _message_count(show) == 0
        assert await _event_count(show) == 0
        await socket.disconnect()
    finally:
        await hub_shutdown()


async def test_anonymous_send_is_refused():
    show = await _live_show()
    try:
        socket = await socket_open(show.public_id)
        await frame_receive(socket)
        frame = send_frame("hi")
        await socket.send_json_to(frame)
        error = await frame_receive(socket)
        assert error["code"] == "not_authenticated"
        assert error["client_msg_id"] == frame["client_msg_id"]
        assert await _message_count(show) == 0
        await socket.disconnect()
    finally:
        await hub_shutdown()


async def test_repeated_abuse_closes_4008(settings):
    settings.LIVESHOP_WS_MAX_ERRORS_PER_MINUTE = 3
    show = await _live_show()
    try:
        socket = await socket_open(show.public_id)
        await frame_receive(socket)
        for _ in range(3):
            await socket.send_to(text_data="garbage")
            assert (await frame_receive(socket))["code"] == "invalid_json"
        await socket.send_to(text_data="garbage")
        assert (await frame_receive(socket))["code"] == "invalid_json"
        assert await close_code(socket) == 4008
    finally:
        await hub_shutdown()


async def test_frames_over_64_kib_close_1009():
    show = await _live_show()
    try:
        socket = await socket_open(show.public_id)
        await frame_receive(socket)
        await socket.send_to(text_data="x" * (64 * 1024 + 1))
        assert await close_code(socket) == 1009
    finally:
        await hub_shutdown()


async def test_rate_limit_counts_across_a_users_connections(settings):
    settings.LIVESHOP_CHAT_RATE = "3/60"
    show = await _live_show()
    _, token = await _user_with_token()
    try:
        first = await socket_open(show.public_id, token=token)
        second = await socket_open(show.public_id, token=token)
        await frame_receive(first)
        await frame_receive(second)
        for index in range(3):
            socket = first if index % 2 == 0 else second
            await socket.send_json_to(send_frame(f"message {index}"))
            frames = await frames_until(socket, lambda frame: frame["type"] in {"ack", "error"})
            assert frames[-1]["type"] == "ack"
        events_before = await _event_count(show)
        await second.send_json_to(send_frame("one too many"))
        error = (await frames_until(second, lambda frame: frame["type"] == "error"))[-1]
        assert error["code"] == "rate_limited"
        assert error["until"].endswith("Z")
        assert await _message_count(show) == 3
        assert await _event_count(show) == events_before
        await first.disconnect()
        await second.disconnect()
    finally:
        await hub_shutdown()


async def test_ended_show_chat_is_closed():
    show = await database_sync_to_async(factories.ShowFactory)(status=Show.Status.ENDED)
    _, token = await _user_with_token()
    try:
        socket = await socket_open(show.public_id, token=token)
        await frame_receive(socket)
        await socket.send_json_to(send_frame("late"))
        refusal = await frame_receive(socket)
        assert (refusal["code"], refusal["detail"]) == (
            "chat_closed",
            "The chat is closed: this show has ended.",
        )
        assert await _message_count(show) == 0
        await socket.disconnect()
    finally:
        await hub_shutdown()


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "hello\x00world"},
        {"text": "\x00"},
        {"text": "a question?\x00", "question": True},
    ],
)
async def test_a_nul_byte_in_a_message_is_an_error_frame_on_every_engine(fields):
    show = await _live_show()
    _, token = await _user_with_token()
    try:
        socket = await socket_open(show.public_id, token=token)
        await frame_receive(socket)
        frame = send_frame(**fields)
        await socket.send_json_to(frame)
        refusal = await frame_receive(socket)
        # The rule and the words every REST text field answers with.
        assert refusal == {
            "type": "error",
            "code": "null_characters_not_allowed",
            "detail": "Null characters are not allowed.",
            "client_msg_id": frame["client_msg_id"],
        }
        await socket.send_json_to({"type": "ping"})
        assert await frame_receive(socket) == {"type": "pong"}
        assert await _message_count(show) == 0
        assert await _event_count(show) == 0
        await socket.disconnect()
    finally:
        await hub_shutdown()


async def test_a_nul_byte_in_a_client_msg_id_is_invalid():
    show = await _live_show()
    _, token = await _user_with_token()
    try:
        socket = await socket_open(show.public_id, token=token)
        await frame_receive(socket)
        await socket.send_json_to(send_frame("hi", client_msg_id=f"{uuid.uuid4()}\x00"))
        refusal = await frame_receive(socket)
        assert (refusal["type"], refusal["code"]) == ("error", "invalid")
        assert await _message_count(show) == 0
        await socket.disconnect()
    finally:
        await hub_shutdown()


@pytest.mark.parametrize("credential", ["bearer", "session"])
async def test_a_nul_byte_in_credentials_is_refused_not_a_crash(credential):
    show = await _live_show()
    try:
        if credential == "bearer":
            socket = await socket_open(show.public_id, token="abc\x00def")
            assert await close_code(socket) == 4001
        else:
            socket = await socket_open(show.public_id, cookie="sessionid=abcdefgh\x00ijkl")
            assert (await frame_receive(socket))["me"]["user_id"] is None
            await socket.disconnect()
    finally:
        await hub_shutdown()


def _token_revoke_over_rest(token: str) -> int:
    return (
        Client()
        .delete("/api/v1/auth/token/revoke", HTTP_AUTHORIZATION=f"Token {token}")
        .status_code
    )


@pytest.mark.parametrize(
    "write",
    [
        lambda: send_frame("after sign-out"),
        lambda: {"type": "reaction", "kind": "heart"},
    ],
    ids=["message", "reaction"],
)
async def test_a_socket_opened_with_a_revoked_token_may_not_write(write):
    show = await _live_show()
    _, token = await _user_with_token()
    try:
        socket = await socket_open(show.public_id, token=token)
        other = await socket_open(show.public_id, token=token)
        await frame_receive(socket)
        await frame_receive(other)
        await socket.send_json_to(send_frame("before sign-out"))
        frames = await frames_until(socket, lambda frame: frame["type"] in {"ack", "error"})
        assert frames[-1]["type"] == "ack"
        assert await database_sync_to_async(_token_revoke_over_rest)(token) == 204
        messages_before, events_before = await _message_count(show), await _event_count(show)

        for websocket in (socket, other):
            frame = write()
            await websocket.send_json_to(frame)
            refusal = await frames_until(websocket, lambda frame: frame["type"] == "error")
            assert refusal[-1]["code"] == "not_authenticated"
            assert refusal[-1].get("client_msg_id") == frame.get("client_msg_id")
            output = await websocket.receive_output(timeout=5)
            assert (output["type"], output["code"], output["reason"]) == (
                "websocket.close",
                4001,
                "unauthenticated",
            )
        assert await _message_count(show) == messages_before
        assert await _event_count(show) == events_before
    finally:
        await hub_shutdown()
