"""Recordings become replays with ffmpeg: HLS VOD, duration, thumbnail; broken ones are reported."""

import json
import subprocess

import pytest

from chat.models import ShowEvent
from video.models import Recording
from video.services import recording_process, recording_register, stream_publish_authorize

pytestmark = [pytest.mark.postgres, pytest.mark.media]


def _flv_write(path, seconds: int = 2) -> None:
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-y", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "10",
            "-c:a", "aac", "-f", "flv", str(path),
        ],
        check=True,
    )  # fmt: skip


def _register(stream, path, django_capture_on_commit_callbacks):
    stream_publish_authorize(
        provider="nginx_rtmp", public_id=stream.show.public_id, key=stream.secret, client_id="8"
    )
    with django_capture_on_commit_callbacks(execute=True):
        return recording_register(
            provider="nginx_rtmp",
            public_id=stream.show.public_id,
            client_id="8",
            source=str(path),
        )


def _replay_events(show):
    return list(
        ShowEvent.objects.filter(show=show, type="video.replay")
        .order_by("seq")
        .values_list("type", "audience", "data")
    )


def test_a_recording_becomes_a_replay_with_duration_and_thumbnail(
    media_dir, show_stream_factory, django_capture_on_commit_callbacks
):
    stream = show_stream_factory()
    source = media_dir / "rec" / f"{stream.show.public_id}-1795354716.flv"
    _flv_write(source)
    _register(stream, source, django_capture_on_commit_callbacks)
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.READY
    assert 1.9 <= recording.duration_seconds <= 2.2
    vod = media_dir / "vod" / str(recording.pk)
    assert recording.playlist_path == str(vod / "index.m3u8")
    playlist = (vod / "index.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist
    assert "#EXT-X-ENDLIST" in playlist
    assert (vod / "thumbnail.jpg").stat().st_size > 0
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height", "-of",
         "json", str(vod / "index.m3u8")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    streams = json.loads(probe.stdout)["streams"]
    assert {"codec_type": "video", "width": 320, "height": 180} in streams
    url = f"http://media.example/vod/{recording.pk}"
    assert _replay_events(stream.show) == [
        (
            "video.replay",
            "public",
            {
                "recording_id": recording.pk,
                "hls_url": f"{url}/index.m3u8",
                "thumbnail_url": f"{url}/thumbnail.jpg",
                "duration_seconds": recording.duration_seconds,
            },
        )
    ]
    # A duplicate delivery of the task changes nothing.
    assert recording_process(recording_id=recording.pk) is None
    assert len(_replay_events(stream.show)) == 1


def test_a_broken_recording_is_reported_and_not_published(
    media_dir, show_stream_factory, django_capture_on_commit_callbacks
):
    stream = show_stream_factory()
    source = media_dir / "rec" / f"{stream.show.public_id}-1795354716.flv"
    source.write_bytes(b"FLV\x01\x05" + b"\x13" * 4000)
    _register(stream, source, django_capture_on_commit_callbacks)
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.FAILED
    assert recording.failure_reason == (
        f"ffprobe cannot read the recording: {source.name}: "
        "Invalid data found when processing input"
    )
    assert [(kind, audience) for kind, audience, _ in _replay_events(stream.show)] == []
    failed = ShowEvent.objects.get(show=stream.show, type="video.recording_failed")
    assert failed.audience == "team"
    assert failed.data == {"recording_id": recording.pk, "reason": recording.failure_reason}
    assert not (media_dir / "vod" / str(recording.pk)).exists()


def test_a_recording_of_a_show_without_replays_is_for_the_team_only(
    media_dir, show_stream_factory, django_capture_on_commit_callbacks
):
    stream = show_stream_factory(show__replay_allowed=False)
    source = media_dir / "rec" / f"{stream.show.public_id}-1795354716.flv"
    _flv_write(source, seconds=1)
    _register(stream, source, django_capture_on_commit_callbacks)
    assert [(kind, audience) for kind, audience, _ in _replay_events(stream.show)] == [
        ("video.replay", "team")
    ]
