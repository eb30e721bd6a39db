"""The durable log: gap-free resume, repair of lost broadcasts, publish after commit only."""

import datetime as dt
import uuid

import orjson
import pytest
from channels.db import database_sync_to_async
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token

from chat.models import ChatMessage
from chat.selectors import message_payload
from chat.services import chat_message_create, system_message_post
from realtime import broker
from realtime.models import Audience
from realtime.rooms import RoomRef
from shows.events import show_event_append
from shows.models import Show, ShowEvent, ShowRoom
from tests import factories
from tests.sockets import batch_events, frame_receive, frames_until, hub_shutdown, socket_open


@database_sync_to_async
def _show_with_log(events: int, *, private_for=None) -> tuple[Show, str]:
    """A live show whose log holds ``events`` system messages (seq 1..events).

    With ``private_for``, seq 3 is instead an event only that user (and the team) sees.
    """
    show = factories.ShowFactory(status=Show.Status.LIVE)
    for index in range(1, events + 1):
        with transaction.atomic():
            if index == 3 and private_for is not None:
                show_event_append(
                    show_id=show.pk,
                    type="user.sanctioned",
                    data={"user_id": private_for.pk},
                    audience=Audience.USER,
                    audience_user_id=private_for.pk,
                )
            else:
                system_message_post(show_id=show.pk, text=f"system {index}")
    return show, str(ShowRoom.objects.get(show=show).epoch)


async def _resume(public_id: str, *, epoch: str, seq: int, token: str | None = None) -> list[dict]:
    socket = await socket_open(public_id, query=f"epoch={epoch}&seq={seq}", token=token)
    frames = await frames_until(socket, lambda frame: frame["type"] in {"resumed"})
    if not frames[-1]["recovered"]:
        frames.append(await frame_receive(socket))
    await socket.disconnect()
    return frames


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("position", "expected_seqs", "recovered", "reason"),
    [
        ("from-2", [3, 4, 5], True, None),
        ("current", [], True, None),
        ("too-old", [], False, "too_old"),
        ("future", [], False, "future_seq"),
        ("wrong-epoch", [], False, "epoch_mismatch"),
        ("over-cap", [], False, "too_many"),
    ],
)
async def test_resume_matrix(settings, position, expected_seqs, recovered, reason):
    show, epoch = await _show_with_log(5)
    seq = {"from-2": 2, "current": 5, "too-old": 2, "future": 9, "over-cap": 1}.get(position, 2)
    if position == "wrong-epoch":
        epoch = str(uuid.uuid4())
    if position == "over-cap":
        settings.LIVESHOP_RESUME_MAX_EVENTS = 3
    if position == "too-old":
        await database_sync_to_async(ShowEvent.objects.filter(show=show, seq=3).update)(
            created_at=timezone.now() - dt.timedelta(seconds=settings.LIVESHOP_RESUME_MAX_AGE + 1)
        )
    try:
        frames = await _resume(show.public_id, epoch=epoch, seq=seq)
    finally:
        await hub_shutdown()
    assert [event["seq"] for event in batch_events(frames)] == expected_seqs
    resumed = next(frame for frame in frames if frame["type"] == "resumed")
    assert resumed["recovered"] is recovered
    if recovered:
        assert resumed["seq"] == 5
        assert frames[-1]["type"] == "resumed"
    else:
        assert resumed["reason"] == reason
        assert frames[-1]["type"] == "snapshot"
        assert frames[-1]["seq"] == 5
        assert [message["seq"] for message in frames[-1]["messages"]] == [1, 2, 3, 4, 5]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_resume_replays_only_what_this_user_may_see():
    target = await database_sync_to_async(factories.UserFactory)()
    other = await database_sync_to_async(factories.UserFactory)()
    other_token = await database_sync_to_async(Token.objects.create)(user=other)
    target_token = await database_sync_to_async(Token.objects.create)(user=target)
    show, epoch = await _show_with_log(5, private_for=target)
    try:
        others_frames = await _resume(show.public_id, epoch=epoch, seq=1, token=other_token.key)
        targets_frames = await _resume(show.public_id, epoch=epoch, seq=1, token=target_token.key)
    finally:
        await hub_shutdown()
    assert [event["seq"] for event in batch_events(others_frames)] == [2, 4, 5]
    assert [event["seq"] for event in batch_events(targets_frames)] == [2, 3, 4, 5]
    # The frame-level seq tells every client where the log stands, seen or not.
    assert others_frames[-1] == {"type": "resumed", "recovered": True, "epoch": epoch, "seq": 5}


@database_sync_to_async
def _post(show: Show, user, text: str) -> None:
    chat_message_create(show_id=show.pk, user=user, text=text, client_msg_id=uuid.uuid4())


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_disconnected_viewer_resumes_without_gaps_or_duplicates():
    show = await database_sync_to_async(factories.ShowFactory)(status=Show.Status.LIVE)
    poster = await database_sync_to_async(factories.UserFactory)()
    try:
        viewer = await socket_open(show.public_id)
        snapshot = await frame_receive(viewer)
        await _post(show, poster, "one")
        frames = await frames_until(viewer, lambda frame: frame["type"] == "batch")
        last_seq = frames[-1]["seq"]
        await viewer.disconnect()  # the phone sleeps
        for text in ("two", "three", "four"):
            await _post(show, poster, text)
        resumed = await socket_open(
            show.public_id, query=f"epoch={snapshot['epoch']}&seq={last_seq}"
        )
        frames = await frames_until(resumed, lambda frame: frame["type"] == "resumed")
        await _post(show, poster, "five")
        frames += await frames_until(resumed, lambda frame: frame["type"] == "batch")
        await resumed.disconnect()
    finally:
        await hub_shutdown()
    texts = [event["data"]["text"] for event in batch_events(frames)]
    assert texts == ["two", "three", "four", "five"]
    assert [event["seq"] for event in batch_events(frames)] == [2, 3, 4, 5]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_hub_fetches_an_event_the_broker_lost(monkeypatch):
    show = await database_sync_to_async(factories.ShowFactory)(status=Show.Status.LIVE)
    poster = await database_sync_to_async(factories.UserFactory)()
    real_publish = broker.broker_publish
    dropped = []

    def lossy_publish(*, room: RoomRef, payload: bytes) -> None:
        if b'"text":"lost"' in payload:
            dropped.append(payload)
            return
        real_publish(room=room, payload=payload)

    monkeypatch.setattr(broker, "broker_publish", lossy_publish)
    try:
        viewer = await socket_open(show.public_id)
        await frame_receive(viewer)
        for text in ("before", "lost", "after"):
            await _post(show, poster, text)
        frames = await frames_until(
            viewer,
            lambda frame: any(
                event["data"].get("text") == "after" for event in frame.get("events", [])
            ),
        )
        await viewer.disconnect()
    finally:
        await hub_shutdown()
    assert len(dropped) == 1
    events = batch_events(frames)
    assert [event["data"]["text"] for event in events] == ["before", "lost", "after"]
    assert [event["seq"] for event in events] == [1, 2, 3]


@pytest.mark.django_db(transaction=True)
def test_no_publish_on_rollback_and_exactly_one_after_commit(monkeypatch):
    show = factories.ShowFactory(status=Show.Status.LIVE)
    published = []
    monkeypatch.setattr(
        broker, "broker_publish", lambda *, room, payload: published.append((room, payload))
    )

    def write_then_fail() -> None:
        with transaction.atomic():
            system_message_post(show_id=show.pk, text="never")
            raise RuntimeError("the write fails after the event was appended")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert published == []
    assert ShowEvent.objects.filter(show=show).count() == 0
    assert not ShowRoom.objects.filter(show=show, last_seq__gt=0).exists()

    with transaction.atomic():
        system_message_post(show_id=show.pk, text="once")
        assert published == []
    assert len(published) == 1
    assert published[0][0] == RoomRef("show", show.pk)
    assert b'"seq":1' in published[0][1]


@pytest.mark.postgres
@pytest.mark.django_db
def test_chat_send_query_count_inside_a_transaction():
    show = factories.ShowFactory(status=Show.Status.LIVE)
    user = factories.UserFactory()
    chat_message_create(show_id=show.pk, user=user, text="warm up", client_msg_id=uuid.uuid4())
    with CaptureQueriesContext(connection) as queries:
        chat_message_create(show_id=show.pk, user=user, text="hello", client_msg_id=uuid.uuid4())
    # Settings, roles, sanctions and blocked terms in one query; the seq, the message
    # and its event in one statement, in a savepoint because the test holds a
    # transaction open. The duplicate check is the unique constraint.
    assert len(queries) == 4, [query["sql"] for query in queries]
    assert queries[1]["sql"].startswith("SAVEPOINT")
    assert queries[3]["sql"].startswith("RELEASE SAVEPOINT")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_chat_send_is_two_statements_in_autocommit_and_publishes_after_each(monkeypatch):
    show = factories.ShowFactory(status=Show.Status.LIVE)
    user = factories.UserFactory()
    published = []
    monkeypatch.setattr(
        broker, "broker_publish", lambda *, room, payload: published.append(payload)
    )
    chat_message_create(show_id=show.pk, user=user, text="warm up", client_msg_id=uuid.uuid4())
    with CaptureQueriesContext(connection) as queries:
        result = chat_message_create(
            show_id=show.pk, user=user, text="hello", client_msg_id=uuid.uuid4()
        )

    assert len(queries) == 2, [query["sql"] for query in queries]
    assert [orjson.loads(payload)["seq"] for payload in published] == [1, 2]
    event = ShowEvent.objects.get(show=show, seq=2)
    stored = ChatMessage.objects.select_related("author").get(pk=result.message.pk)
    assert (stored.seq, event.subject_id, event.type) == (2, stored.pk, "message.created")
    # The one-statement insert stores what the ORM path stored: the payload of the
    # message as read back, in the event row, in the published event and in the ack.
    assert event.data == message_payload(stored)
    assert orjson.loads(published[1]) == {
        "seq": 2,
        "type": "message.created",
        "data": message_payload(stored),
        "aud": Audience.PUBLIC,
        "uid": None,
    }
    assert result.payload == message_payload(stored)


@pytest.mark.django_db(transaction=True)
def test_a_repeated_client_msg_id_allocates_no_seq_and_publishes_nothing(monkeypatch):
    show = factories.ShowFactory(status=Show.Status.LIVE)
    user = factories.UserFactory()
    client_msg_id = uuid.uuid4()
    first = chat_message_create(show_id=show.pk, user=user, text="hi", client_msg_id=client_msg_id)
    published = []
    monkeypatch.setattr(
        broker, "broker_publish", lambda *, room, payload: published.append(payload)
    )

    again = chat_message_create(show_id=show.pk, user=user, text="hi", client_msg_id=client_msg_id)

    assert (again.status, again.message.pk) == ("duplicate", first.message.pk)
    assert published == []
    assert ShowRoom.objects.get(show=show).last_seq == 1
    assert ShowEvent.objects.filter(show=show).count() == 1
    assert ChatMessage.objects.filter(show=show).count() == 1
