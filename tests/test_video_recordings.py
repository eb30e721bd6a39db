"""Recordings become replays with ffmpeg: HLS VOD, duration, thumbnail; broken ones are reported."""

import datetime as dt
import json
import subprocess

import pytest
from django.utils import timezone

from shows.models import ShowEvent, ShowMember
from shows.services import show_end, show_go_live, show_product_pin, show_product_unpin
from tests.conftest import client_for
from tests.factories import ProductFactory
from video.models import Recording
from video.services import (
    recording_process,
    recording_register,
    stream_publish_authorize,
    stream_publish_end,
    stream_take_live,
)

pytestmark = pytest.mark.media


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
    replay = {
        "recording_id": recording.pk,
        "hls_url": f"{url}/index.m3u8",
        "thumbnail_url": f"{url}/thumbnail.jpg",
        "duration_seconds": recording.duration_seconds,
        "pins_url": f"/api/v1/shows/{stream.show.public_id}/pins",
        "pins": [],
    }
    # Ready while the show is still on: the team hears of it, viewers once it ends.
    assert _replay_events(stream.show) == [("video.replay", "team", replay)]
    # A duplicate delivery of the task changes nothing.
    assert recording_process(recording_id=recording.pk) is None
    assert len(_replay_events(stream.show)) == 1
    show_end(show=stream.show)
    assert _replay_events(stream.show) == [
        ("video.replay", "team", replay),
        ("video.replay", "public", replay),
    ]


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


def test_the_replay_holds_the_show_pins_on_the_recording_clock(
    media_dir, show_stream_factory, show_member_factory, django_capture_on_commit_callbacks
):
    # Given a stream that waited backstage 30 s before a moderator took it live
    stream = show_stream_factory(backstage=True)
    show = stream.show
    moderator = show_member_factory(show=show, role=ShowMember.Role.MODERATOR).user
    boots, hat = ProductFactory(title="Boots"), ProductFactory(title="Hat")
    publish = timezone.now() - dt.timedelta(seconds=30)
    stream_publish_authorize(
        provider="nginx_rtmp",
        public_id=show.public_id,
        key=stream.secret,
        client_id="8",
        now=publish,
    )
    stream_take_live(show=show)
    show.refresh_from_db()
    shift = show.actual_start - publish
    # When the moderator pins two products, unpins one, and the stream ends
    started = show.actual_start
    pin = show_product_pin(
        show=show, product_id=boots.pk, actor=moderator, now=started + dt.timedelta(seconds=10)
    )
    show_product_unpin(
        show=show, pin_id=pin.pk, actor=moderator, now=started + dt.timedelta(seconds=20)
    )
    open_pin = show_product_pin(
        show=show, product_id=hat.pk, actor=moderator, now=started + dt.timedelta(seconds=15)
    )
    stream_publish_end(provider="nginx_rtmp", public_id=show.public_id, client_id="8")
    open_pin.refresh_from_db()
    source = media_dir / "rec" / f"{show.public_id}-1795354716.flv"
    _flv_write(source, seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        recording_register(
            provider="nginx_rtmp", public_id=show.public_id, client_id="8", source=str(source)
        )
    # Then the replay lists both pins by start, shifted by the backstage wait
    shift_seconds = round(shift.total_seconds() * 1000) / 1000
    assert 29 < shift_seconds < 40
    [(_, _, replay)] = _replay_events(show)
    assert replay["pins_url"] == f"/api/v1/shows/{show.public_id}/pins"
    assert replay["pins"] == [
        {
            "pin_id": pin.pk,
            "product_id": boots.pk,
            "title": "Boots",
            "start_offset": (10_000 + round(shift.total_seconds() * 1000)) / 1000,
            "end_offset": (20_000 + round(shift.total_seconds() * 1000)) / 1000,
        },
        {
            "pin_id": open_pin.pk,
            "product_id": hat.pk,
            "title": "Hat",
            "start_offset": (15_000 + round(shift.total_seconds() * 1000)) / 1000,
            "end_offset": (open_pin.end_offset_ms + round(shift.total_seconds() * 1000)) / 1000,
        },
    ]
    # And the video endpoint answers the same replay object
    video = client_for(None).get(f"/api/v1/shows/{show.public_id}/video").json()
    assert video["replay"] == replay


def test_a_show_taken_live_before_its_stream_has_its_pins_on_the_recording_clock(
    media_dir, show_stream_factory, show_member_factory, django_capture_on_commit_callbacks
):
    # Given a show taken live 36 s before the host's stream connected
    stream = show_stream_factory()
    show = stream.show
    moderator = show_member_factory(show=show, role=ShowMember.Role.MODERATOR).user
    before, across, after = (ProductFactory(title=title) for title in ("Before", "Across", "After"))
    started = timezone.now() - dt.timedelta(minutes=2)
    show_go_live(show=show, now=started)
    show.refresh_from_db()
    gone = show_product_pin(
        show=show, product_id=before.pk, actor=moderator, now=started + dt.timedelta(seconds=10)
    )
    show_product_unpin(
        show=show, pin_id=gone.pk, actor=moderator, now=started + dt.timedelta(seconds=20)
    )
    spanning = show_product_pin(
        show=show, product_id=across.pk, actor=moderator, now=started + dt.timedelta(seconds=30)
    )
    stream_publish_authorize(
        provider="nginx_rtmp",
        public_id=show.public_id,
        key=stream.secret,
        client_id="9",
        now=started + dt.timedelta(seconds=36),
    )
    show_product_unpin(
        show=show, pin_id=spanning.pk, actor=moderator, now=started + dt.timedelta(seconds=50)
    )
    later = show_product_pin(
        show=show, product_id=after.pk, actor=moderator, now=started + dt.timedelta(seconds=60)
    )
    show_product_unpin(
        show=show, pin_id=later.pk, actor=moderator, now=started + dt.timedelta(seconds=70)
    )
    stream_publish_end(provider="nginx_rtmp", public_id=show.public_id, client_id="9")
    source = media_dir / "rec" / f"{show.public_id}-1795354716.flv"
    _flv_write(source, seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        recording_register(
            provider="nginx_rtmp", public_id=show.public_id, client_id="9", source=str(source)
        )
    # Then the pin that ended before the recording is not in it, the one open when it
    # began starts at 0, and the later one is 36 s earlier than on the show's clock
    [(_, _, replay)] = _replay_events(show)
    assert replay["pins"] == [
        {
            "pin_id": spanning.pk,
            "product_id": across.pk,
            "title": "Across",
            "start_offset": 0,
            "end_offset": 14.0,
        },
        {
            "pin_id": later.pk,
            "product_id": after.pk,
            "title": "After",
            "start_offset": 24.0,
            "end_offset": 34.0,
        },
    ]
