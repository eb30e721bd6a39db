"""A premiere's video reaches viewers when it airs, never before (snapshot, REST, channel)."""

import datetime as dt

import orjson
import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from shows.models import Show, ShowEvent, ShowMember
from tests import factories
from tests.conftest import client_for
from tests.sockets import show_snapshot
from video.models import Recording
from video.services import channel_rotation_set, premiere_tick

pytestmark = pytest.mark.django_db


@pytest.fixture
def premiere(media_dir, channel):
    """A recorded show an hour ahead whose uploaded video has processed."""
    start = timezone.now().replace(microsecond=0) + dt.timedelta(hours=1)
    show = factories.ShowFactory(
        channel=channel,
        kind=Show.Kind.RECORDED,
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(hours=1),
    )
    factories.RecordingFactory(show=show, provider="upload", duration_seconds=600.0)
    return show


def _vod(show) -> str:
    return f"http://media.example/vod/{Recording.objects.get(show=show).pk}/"


def _snapshot(show, user) -> dict:
    return show_snapshot(show, user)


def _seen_by_viewers(show, channel, viewer) -> list[bytes]:
    """Everything a viewer reads about the show and its channel, as raw JSON."""
    client = client_for(viewer)
    return [
        orjson.dumps(_snapshot(show, viewer)),
        orjson.dumps(_snapshot(show, AnonymousUser())),
        client.get(f"/api/v1/shows/{show.public_id}").content,
        client.get(f"/api/v1/shows/{show.public_id}/video").content,
        client.get(f"/api/v1/channels/{channel.slug}/now-playing").content,
    ]


def _public_events(show) -> list[tuple[str, dict]]:
    return list(
        ShowEvent.objects.filter(show=show, audience="public")
        .order_by("seq")
        .values_list("type", "data")
    )


def test_no_viewer_gets_a_premieres_video_before_it_airs(premiere, channel, viewer):
    # Even a premiere put in the channel's rotation does not play there early.
    channel_rotation_set(channel=channel, shows=[premiere])
    host = factories.ShowMemberFactory(show=premiere, role=ShowMember.Role.HOST).user

    seen = _seen_by_viewers(premiere, channel, viewer)

    assert [_vod(premiere).encode() in body for body in seen] == [False] * 5
    assert _snapshot(premiere, viewer)["show"]["playback"] == {
        "hls_url": None,
        "playable": False,
        "state": None,
        "replay": None,
    }
    now_playing = client_for(viewer).get(f"/api/v1/channels/{channel.slug}/now-playing").json()
    assert now_playing["kind"] == "off_air"
    assert _public_events(premiere) == []
    # The team still sees the video it uploaded.
    assert _snapshot(premiere, host)["show"]["playback"]["replay"]["hls_url"] == (
        f"{_vod(premiere)}index.m3u8"
    )


def test_viewers_get_the_premieres_video_when_it_airs_and_its_replay_when_it_ends(
    premiere, channel, viewer
):
    url = f"{_vod(premiere)}index.m3u8"

    assert premiere_tick(now=premiere.scheduled_start)["started"] == 1

    premiere.refresh_from_db()
    assert [url.encode() in body for body in _seen_by_viewers(premiere, channel, viewer)] == [
        True,
        True,
        False,  # the detail has no playback; the video endpoint and the snapshot do
        True,
        True,
    ]
    playable = [data for kind, data in _public_events(premiere) if kind == "video.playable"]
    assert [(data["hls_url"], data["state"]) for data in playable] == [(url, "premiere")]
    assert _snapshot(premiere, viewer)["show"]["playback"]["replay"] is None

    ended = premiere_tick(now=premiere.scheduled_start + dt.timedelta(seconds=600))

    assert ended["ended"] == 1
    premiere.refresh_from_db()
    kinds = [kind for kind, _ in _public_events(premiere)]
    assert kinds[kinds.index("video.playable") + 1 :] == [
        "show.status",
        "message.created",
        "video.replay",
    ]
    replay = _public_events(premiere)[-1][1]
    assert replay["hls_url"] == url
    assert _snapshot(premiere, viewer)["show"]["playback"]["replay"] == replay
