"""Premieres: a recorded show's video is processed like a recording and airs on schedule."""

import datetime as dt
import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from liveshop.common.exceptions import ConflictError
from shows.models import Show, ShowEvent
from tests.conftest import client_for
from video.models import Recording
from video.selectors import show_playback_get
from video.services import premiere_tick, premiere_video_set

pytestmark = pytest.mark.media


def _video_bytes(tmp_path, seconds: int) -> bytes:
    path = tmp_path / "premiere.mp4"
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-y", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "10",
            "-c:a", "aac", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


def _events(show) -> list[str]:
    return list(ShowEvent.objects.filter(show=show).order_by("seq").values_list("type", flat=True))


@pytest.fixture
def premiere(media_dir, show_factory, merchandiser, django_capture_on_commit_callbacks):
    start = timezone.now().replace(microsecond=0) + dt.timedelta(hours=1)
    show = show_factory(
        kind=Show.Kind.RECORDED, scheduled_start=start, scheduled_end=start + dt.timedelta(hours=1)
    )
    upload = SimpleUploadedFile("premiere.mp4", _video_bytes(media_dir, seconds=3))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(merchandiser).put(
            f"/api/v1/shows/{show.public_id}/video/premiere", {"file": upload}, format="multipart"
        )
    assert response.status_code == 202
    return show


def test_an_uploaded_premiere_is_processed_like_a_recording(premiere):
    recording = Recording.objects.get(show=premiere)
    assert (recording.provider, recording.status) == ("upload", Recording.Status.READY)
    assert 2.9 <= recording.duration_seconds <= 3.2
    assert _events(premiere) == ["video.replay"]
    # Only the team hears of it: viewers get the video when it airs.
    assert ShowEvent.objects.get(show=premiere).audience == "team"


def test_a_premiere_goes_live_and_ends_on_schedule(premiere):
    start = premiere.scheduled_start
    assert premiere_tick(now=start - dt.timedelta(seconds=1)) == {
        "started": 0,
        "ended": 0,
        "pins": 0,
    }
    premiere.refresh_from_db()
    assert premiere.status == Show.Status.SCHEDULED

    assert premiere_tick(now=start) == {"started": 1, "ended": 0, "pins": 0}
    premiere.refresh_from_db()
    assert (premiere.status, premiere.actual_start) == (Show.Status.LIVE, start)
    assert _events(premiere)[1:] == ["show.status", "message.created", "video.playable"]
    playable = ShowEvent.objects.get(show=premiere, type="video.playable").data
    recording = Recording.objects.get(show=premiere)
    assert playable["state"] == "premiere"
    assert playable["hls_url"] == f"http://media.example/vod/{recording.pk}/index.m3u8"
    assert show_playback_get(show=premiere, is_team=False)["hls_url"] == playable["hls_url"]

    # Overlapping ticks and ticks before the video has played through change nothing.
    assert premiere_tick(now=start + dt.timedelta(seconds=1)) == {
        "started": 0,
        "ended": 0,
        "pins": 0,
    }
    assert len(_events(premiere)) == 4

    played = start + dt.timedelta(seconds=recording.duration_seconds)
    assert premiere_tick(now=played) == {"started": 0, "ended": 1, "pins": 0}
    premiere.refresh_from_db()
    assert (premiere.status, premiere.actual_end) == (Show.Status.ENDED, played)
    assert _events(premiere)[4:] == ["show.status", "message.created", "video.replay"]
    replay = ShowEvent.objects.filter(show=premiere, type="video.replay").last()
    assert (replay.audience, replay.data["hls_url"]) == ("public", playable["hls_url"])
    assert premiere_tick(now=played + dt.timedelta(seconds=5)) == {
        "started": 0,
        "ended": 0,
        "pins": 0,
    }


def test_a_premiere_without_a_ready_video_does_not_air(media_dir, show_factory):
    start = timezone.now() + dt.timedelta(hours=1)
    show = show_factory(kind=Show.Kind.RECORDED, scheduled_start=start)
    assert premiere_tick(now=start) == {"started": 0, "ended": 0, "pins": 0}
    show.refresh_from_db()
    assert show.status == Show.Status.SCHEDULED
    assert _events(show) == []


def test_only_merchandisers_set_a_premiere_video_and_only_for_recorded_shows(
    media_dir, show_factory, merchandiser, show_member_factory
):
    live_show = show_factory()
    host = show_member_factory(role="host").user
    url = f"/api/v1/shows/{live_show.public_id}/video/premiere"
    body = {"url": "https://vod.example/show.m3u8"}
    refused = client_for(merchandiser).put(url, body, format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_recorded_show"
    recorded = show_factory(kind=Show.Kind.RECORDED)
    recorded_url = f"/api/v1/shows/{recorded.public_id}/video/premiere"
    assert client_for(host).put(recorded_url, body, format="json").status_code == 403
    both = client_for(merchandiser).put(recorded_url, {}, format="json")
    assert both.status_code == 400
    assert Recording.objects.count() == 0


def test_a_premiere_video_cannot_change_after_it_aired(media_dir, show_factory):
    show = show_factory(kind=Show.Kind.RECORDED, status=Show.Status.ENDED)
    with pytest.raises(ConflictError, match="already aired"):
        premiere_video_set(show=show, url="https://vod.example/show.m3u8")
    assert Recording.objects.count() == 0
