"""A room kind is added without touching chat/: a toy kind with tables of its own gets the
log, the hub, audiences, resume, the snapshot's header and the socket class of realtime.

The toy kind is a consultation-like room: an advisor (its team) and clients; a ``poke``
frame appends an event for everyone, or, ``private``, for the poking client and the team.
Its two models live in this module and their tables only for these tests.
"""

import json

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connection, models, transaction
from django.urls import path

from realtime import hub as hub_module
from realtime import log, rooms
from realtime.auth import SocketAuthMiddleware
from realtime.consumers import RoomConsumer
from realtime.models import Audience, RoomEvent, RoomState
from realtime.rooms import RoomNotFound, RoomRef, Viewer
from realtime.tickets import realtime_ticket_create
from tests import factories
from tests.sockets import ORIGIN, batch_events, frame_receive, hub_shutdown, socket_open

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

TOY = "toy"


class ToyRoom(RoomState):
    name = models.CharField(max_length=40)

    class Meta:
        app_label = "tests"
        db_table = "tests_toyroom"


class ToyEvent(RoomEvent):
    room = models.ForeignKey(ToyRoom, on_delete=models.CASCADE, related_name="events")

    class Meta:
        app_label = "tests"
        db_table = "tests_toyevent"
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="tests_toyevent_unique_seq")
        ]


class ToyKind:
    name = TOY
    room_model = ToyRoom
    event_model = ToyEvent
    key_field = "room"
    url_kwarg = "toy_id"
    not_found_reason = "toy_not_found"
    snapshot_keys = ("toy",)

    def resolve(self, *, url_value, user):
        toy = ToyRoom.objects.filter(pk=int(url_value)).first() if url_value.isdigit() else None
        if toy is None:
            raise RoomNotFound(url_value)
        advisor = user.is_authenticated and user.username == "advisor"
        return toy.pk, Viewer(user=user, is_team=advisor, context=toy)


def toy_part(room, viewer, state):
    return {"toy": {"name": viewer.context.name, "advisor": viewer.is_team}}


async def poke(socket, frame):
    private = frame.get("private") is True

    @database_sync_to_async
    def append() -> int:
        with transaction.atomic():
            event = log.event_append(
                room=socket.room,
                type="toy.poked",
                data={"by": socket.viewer.user_id},
                audience=Audience.USER if private else Audience.PUBLIC,
                audience_user_id=socket.viewer.user_id if private else None,
            )
        return event.seq

    await socket.frame_send({"type": "ack", "seq": await append()})


application = SocketAuthMiddleware(
    URLRouter([path("ws/toys/<str:toy_id>/", RoomConsumer.as_asgi(kind=TOY))])
)


@pytest.fixture
def toy_kind(monkeypatch, transactional_db):
    """The toy kind registered (for this test only) and its tables created."""
    monkeypatch.setattr(rooms, "_kinds", dict(rooms._kinds))
    monkeypatch.setattr(rooms, "_parts", dict(rooms._parts))
    monkeypatch.setattr(rooms, "_handlers", dict(rooms._handlers))
    rooms.room_kind_register(ToyKind())
    rooms.room_part_register(TOY, "toy", toy_part)
    rooms.room_handler_register(TOY, "poke", poke)
    with connection.schema_editor() as editor:
        editor.create_model(ToyRoom)
        editor.create_model(ToyEvent)
    yield
    with connection.schema_editor() as editor:
        editor.delete_model(ToyEvent)
        editor.delete_model(ToyRoom)


async def _open(path: str, user=None) -> WebsocketCommunicator:
    query = ""
    if user is not None:
        ticket = await database_sync_to_async(realtime_ticket_create)(user=user)
        query = f"?ticket={ticket}"
    communicator = WebsocketCommunicator(
        application,
        f"{path}{query}",
        headers=[(b"origin", ORIGIN.encode())],
        subprotocols=["liveshop.v1"],
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def _send(communicator, frame: dict) -> None:
    await communicator.send_to(text_data=json.dumps(frame))


async def _until_seq(communicator, seq: int, *, acks: int = 0) -> list[dict]:
    """Frames up to the batch that reaches ``seq`` and, before or after it, ``acks`` acks."""
    frames: list[dict] = []
    while (
        not batch_events(frames)
        or batch_events(frames)[-1]["seq"] < seq
        or sum(frame["type"] == "ack" for frame in frames) < acks
    ):
        frames.append(await frame_receive(communicator))
    return frames


async def test_a_toy_room_has_the_log_the_hub_audiences_and_resume(toy_kind):
    toy = await database_sync_to_async(ToyRoom.objects.create)(name="fitting")
    advisor = await database_sync_to_async(factories.UserFactory)(username="advisor")
    client = await database_sync_to_async(factories.UserFactory)(username="client")
    path = f"/ws/toys/{toy.pk}/"
    try:
        team = await _open(path, advisor)
        asker = await _open(path, client)
        onlooker = await _open(path)
        snapshots = [await frame_receive(socket) for socket in (team, asker, onlooker)]
        assert snapshots[1] == {
            "type": "snapshot",
            "epoch": str(toy.epoch),
            "seq": 0,
            "toy": {"name": "fitting", "advisor": False},
            "viewers": {"count": 0, "peak": 0},
        }
        assert snapshots[0]["toy"]["advisor"] is True

        await _send(asker, {"type": "poke", "private": True})
        await _send(asker, {"type": "poke"})

        private = {"seq": 1, "type": "toy.poked", "data": {"by": client.pk}}
        public = {"seq": 2, "type": "toy.poked", "data": {"by": client.pk}}
        frames = await _until_seq(asker, 2, acks=2)
        assert [frame for frame in frames if frame["type"] == "ack"] == [
            {"type": "ack", "seq": 1},
            {"type": "ack", "seq": 2},
        ]
        assert batch_events(frames) == [private, public]
        assert batch_events(await _until_seq(team, 2)) == [private, public]
        assert batch_events(await _until_seq(onlooker, 2)) == [public]
        assert RoomRef(TOY, toy.pk) in hub_module.hub_get().feeds

        await _send(onlooker, {"type": "wave"})
        assert await frame_receive(onlooker) == {
            "type": "error",
            "code": "unknown_type",
            "detail": "Unknown frame type; expected poke or ping.",
        }
        await onlooker.disconnect()

        # An onlooker back from seq 0 gets what it may see of the log, then goes live.
        back = await _open(f"{path}?epoch={toy.epoch}&seq=0")
        frames = [await frame_receive(back), await frame_receive(back)]
        assert batch_events(frames) == [public]
        assert frames[1] == {
            "type": "resumed",
            "recovered": True,
            "epoch": str(toy.epoch),
            "seq": 2,
        }
        for socket in (team, asker, back):
            await socket.disconnect()
    finally:
        await hub_shutdown()

    stored = await database_sync_to_async(
        lambda: list(ToyEvent.objects.order_by("seq").values_list("room_id", "seq", "audience"))
    )()
    assert stored == [(toy.pk, 1, "user"), (toy.pk, 2, "public")]
    assert (await database_sync_to_async(ToyRoom.objects.get)(pk=toy.pk)).last_seq == 2


async def test_a_toy_room_that_is_not_there_closes_with_the_kinds_reason(toy_kind):
    try:
        socket = await _open("/ws/toys/404/")
        output = await socket.receive_output(timeout=5)
        assert (output["type"], output.get("code"), output.get("reason")) == (
            "websocket.close",
            4004,
            "toy_not_found",
        )
    finally:
        await hub_shutdown()


async def test_the_show_kind_is_untouched_by_the_toy_kind(toy_kind):
    show = await database_sync_to_async(factories.ShowFactory)(status="live")
    try:
        viewer = await socket_open(show.public_id)
        snapshot = await frame_receive(viewer)
        assert list(snapshot) == [
            "type", "epoch", "seq", "show", "me", "chat", "pinned_message", "pins", "messages",
            "viewers",
        ]  # fmt: skip
        await _send(viewer, {"type": "wave"})
        assert (await frame_receive(viewer))["detail"] == (
            "Unknown frame type; expected message.send, reaction or ping."
        )
        await viewer.disconnect()
    finally:
        await hub_shutdown()
