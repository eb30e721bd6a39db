"""The channel socket: a now_playing snapshot, then one frame per change of what plays."""

import asyncio
import datetime as dt
import json

import orjson
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework.test import APIClient

from liveshop.asgi import application
from realtime import broker
from realtime.topics import topic_feeds_get
from shows.models import Show
from shows.services import show_go_live
from tests import factories
from tests.sockets import ORIGIN, close_code, frame_receive, hub_shutdown
from tests.threads import threads_run
from video.channels import channel_now_playing_get
from video.models import ChannelAir, IngestSession
from video.services import (
    channel_now_playing_sync,
    channel_now_playing_tick,
    channel_rotation_set,
    stream_playable_mark,
    stream_publish_authorize,
)
from video.wire import now_playing_json

pytestmark = pytest.mark.django_db(transaction=True)


async def channel_socket_open(slug: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application,
        f"/ws/channels/{slug}/",
        headers=[(b"origin", ORIGIN.encode())],
        subprotocols=["liveshop.v1"],
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


def _rotation(channel, seconds: tuple[float, ...]) -> list[Show]:
    shows = []
    for length in seconds:
        show = factories.ShowFactory(channel=channel, status=Show.Status.ENDED)
        factories.RecordingFactory(show=show, duration_seconds=length)
        shows.append(show)
    channel_rotation_set(channel=channel, shows=shows)
    return shows


def _now_playing(channel, now: dt.datetime) -> dict:
    playing = channel_now_playing_get(channel=channel, user=AnonymousUser(), now=now)
    return now_playing_json(playing=playing)


def _now_playing_end(channel, now: dt.datetime) -> dt.datetime:
    return channel_now_playing_get(channel=channel, user=AnonymousUser(), now=now)["ends_at"]


def _without_offset(wire: dict) -> dict:
    return {key: value for key, value in wire.items() if key != "offset_seconds"}


def _rest_now_playing(slug: str) -> dict:
    return APIClient().get(f"/api/v1/channels/{slug}/now-playing").json()


@pytest.fixture
def rotation_channel(media_dir):
    channel = factories.ChannelFactory(slug="shoes-24-7")
    # One slot of a whole day: what plays stays put however long the test takes.
    shows = _rotation(channel, (86400.0, 86400.0))
    return channel, shows


@pytest.mark.asyncio
async def test_a_socket_starts_with_the_rest_object_as_anyone_sees_it(rotation_channel):
    channel, shows = rotation_channel
    try:
        socket = await channel_socket_open(channel.slug)
        frame = await frame_receive(socket)
        assert sorted(frame) == ["now_playing", "type", "version"]
        assert frame["type"] == "now_playing"
        # Setting the rotation announced the first replay.
        assert frame["version"] == 1
        assert frame["now_playing"]["kind"] == "replay"
        assert frame["now_playing"]["show"]["public_id"] in {show.public_id for show in shows}
        rest = await database_sync_to_async(_rest_now_playing)(channel.slug)
        assert _without_offset(frame["now_playing"]) == _without_offset(rest)
        assert 0 <= rest["offset_seconds"] - frame["now_playing"]["offset_seconds"] < 5
        assert await socket.receive_nothing(timeout=0.3)
    finally:
        await hub_shutdown()


@pytest.mark.asyncio
async def test_a_show_going_live_is_pushed_and_the_rest_endpoint_agrees(rotation_channel):
    channel, _ = rotation_channel
    other = await database_sync_to_async(factories.ChannelFactory)(slug="hats")
    show = await database_sync_to_async(factories.ShowFactory)(channel=channel, title="Boots live")
    try:
        socket = await channel_socket_open(channel.slug)
        bystander = await channel_socket_open(other.slug)
        assert (await frame_receive(socket))["now_playing"]["kind"] == "replay"
        assert (await frame_receive(bystander))["now_playing"]["kind"] == "off_air"

        await database_sync_to_async(show_go_live)(show=show)

        frame = await frame_receive(socket)
        assert frame["type"] == "now_playing"
        assert frame["version"] == 2
        playing = frame["now_playing"]
        assert playing["kind"] == "live"
        assert playing["show"] == {
            "public_id": show.public_id,
            "title": "Boots live",
            "status": "live",
        }
        rest = await database_sync_to_async(_rest_now_playing)(channel.slug)
        assert _without_offset(rest) == _without_offset(playing)
        # Exactly one frame here, none on the other channel.
        assert await socket.receive_nothing(timeout=0.5)
        assert await bystander.receive_nothing(timeout=0.1)
    finally:
        await hub_shutdown()


def _live_session(show: Show) -> IngestSession:
    show_go_live(show=show)
    return IngestSession.objects.create(
        show=show, provider="nginx_rtmp", client_id="7", state="live", started_at=timezone.now()
    )


@pytest.mark.asyncio
async def test_a_live_stream_becoming_playable_is_pushed(media_dir):
    channel = await database_sync_to_async(factories.ChannelFactory)(slug="studio")
    show = await database_sync_to_async(factories.ShowFactory)(channel=channel)
    session = await database_sync_to_async(_live_session)(show)
    try:
        socket = await channel_socket_open(channel.slug)
        before = await frame_receive(socket)
        assert before["now_playing"]["playback"]["playable"] is False

        assert await database_sync_to_async(stream_playable_mark)(session_id=session.pk)

        frame = await frame_receive(socket)
        assert frame["version"] == before["version"] + 1
        assert frame["now_playing"]["kind"] == "live"
        assert frame["now_playing"]["playback"]["playable"] is True
        assert frame["now_playing"]["playback"]["hls_url"] == (
            f"http://media.example/hls/{show.public_id}.m3u8"
        )
        assert await socket.receive_nothing(timeout=0.3)
    finally:
        await hub_shutdown()


@pytest.mark.asyncio
async def test_a_rotation_slot_ending_pushes_the_next_replay_once(media_dir):
    channel = await database_sync_to_async(factories.ChannelFactory)(slug="loop")
    shows = await database_sync_to_async(_rotation)(channel, (600.0, 1200.0))
    try:
        socket = await channel_socket_open(channel.slug)
        first = await frame_receive(socket)
        assert first["version"] == 1
        ends_at = dt.datetime.fromisoformat(first["now_playing"]["ends_at"])
        later = ends_at + dt.timedelta(seconds=2)

        ticks = [await database_sync_to_async(channel_now_playing_tick)(now=later) for _ in "ab"]

        assert ticks == [1, 0]
        frame = await frame_receive(socket)
        assert frame == {
            "type": "now_playing",
            "version": 2,
            "now_playing": await database_sync_to_async(_now_playing)(channel, later),
        }
        playing_before = first["now_playing"]["show"]["public_id"]
        assert frame["now_playing"]["show"]["public_id"] == next(
            show.public_id for show in shows if show.public_id != playing_before
        )
        assert frame["now_playing"]["offset_seconds"] == 2.0
        assert await socket.receive_nothing(timeout=0.5)
    finally:
        await hub_shutdown()


def test_stream_publish_sends_one_now_playing(media_dir, settings, monkeypatch):
    # A publish takes the show live and opens its session in one transaction: what the
    # channel plays changes once, so its sockets get one frame, with the final state.
    settings.LIVESHOP_VIDEO_PLAYABLE_TIMEOUT_SECONDS = 0
    stream = factories.ShowStreamFactory()
    show = stream.show
    channel_now_playing_sync(channel_id=show.channel_id)
    before = ChannelAir.objects.get(channel_id=show.channel_id).version
    published = []
    monkeypatch.setattr(broker, "broker_topic_publish", lambda **kwargs: published.append(kwargs))

    stream_publish_authorize(
        provider="nginx_rtmp", public_id=show.public_id, key=stream.secret, client_id="7"
    )

    assert [kwargs["topic"] for kwargs in published] == [broker.channel_topic(show.channel_id)]
    frame = orjson.loads(published[0]["payload"])
    assert (frame["type"], frame["version"]) == ("now_playing", before + 1)
    assert frame["now_playing"]["kind"] == "live"
    assert frame["now_playing"]["show"]["status"] == "live"
    # The final state: the session is open (state live), not the show alone.
    assert frame["now_playing"]["playback"] == {
        "hls_url": None,
        "playable": False,
        "state": "live",
        "replay": None,
    }
    rest = _rest_now_playing(show.channel.slug)
    assert _without_offset(frame["now_playing"]) == _without_offset(rest)
    assert ChannelAir.objects.get(channel_id=show.channel_id).version == before + 1


# Threads racing on select_for_update: SQLite has no row locks to race on.
@pytest.mark.postgres
def test_concurrent_ticks_at_a_slot_end_announce_it_once(media_dir):
    channel = factories.ChannelFactory(slug="loop")
    _rotation(channel, (600.0, 1200.0))
    now = timezone.now()
    ends_at = _now_playing_end(channel, now)
    later = ends_at + dt.timedelta(seconds=1)

    outcomes = threads_run(lambda number: str(channel_now_playing_tick(now=later)), 4)

    assert sorted(outcomes) == ["0", "0", "0", "1"]
    air = ChannelAir.objects.get(channel=channel)
    assert air.version == 2
    assert air.changes_at == _now_playing_end(channel, later)
    # Until that slot ends, a tick does not even look at the channel.
    assert channel_now_playing_tick(now=later + dt.timedelta(seconds=30)) == 0


@pytest.mark.asyncio
async def test_an_unknown_channel_is_refused_with_4004():
    try:
        socket = await channel_socket_open("nope")
        assert await close_code(socket) == 4004
    finally:
        await hub_shutdown()


@pytest.mark.asyncio
async def test_bad_frames_get_an_error_frame_and_ping_a_pong(rotation_channel):
    channel, _ = rotation_channel
    try:
        socket = await channel_socket_open(channel.slug)
        await frame_receive(socket)
        await socket.send_to(text_data="not json")
        assert await frame_receive(socket) == {
            "type": "error",
            "code": "invalid_json",
            "detail": "Frames must be JSON objects.",
        }
        await socket.send_to(text_data=json.dumps({"type": "message.send", "text": "hi"}))
        assert await frame_receive(socket) == {
            "type": "error",
            "code": "unknown_type",
            "detail": "Unknown frame type; the channel socket takes ping.",
        }
        await socket.send_json_to({"type": "ping"})
        assert await frame_receive(socket) == {"type": "pong"}
    finally:
        await hub_shutdown()


@pytest.mark.asyncio
async def test_sockets_of_a_channel_in_one_process_share_one_subscription(rotation_channel):
    channel, _ = rotation_channel
    try:
        sockets = [await channel_socket_open(channel.slug) for _ in range(3)]
        for socket in sockets:
            await frame_receive(socket)
        feeds = topic_feeds_get()
        topic = broker.channel_topic(channel.pk)
        assert list(feeds.feeds) == [topic]
        assert len(feeds.feeds[topic].connections) == 3
        for socket in sockets:
            await socket.disconnect()
        await asyncio.sleep(0)
        assert feeds.feeds == {}
    finally:
        await hub_shutdown()
