"""Video end to end: nginx-rtmp from the generated config, a liveshop server, a Celery
worker and ffmpeg publishing a test pattern, all real processes.

Publish takes a scheduled show live and a connected viewer hears it, then hears
"playable" once the HLS playlist answers; a wrong key and a second publisher are
refused without touching the show; stopping ffmpeg ends it; the recording becomes a
replay whose VOD playlist ffprobe reads through nginx and whose timeline holds the
product a moderator pinned over REST during the show. Rotating the key cuts the
publisher off through nginx's control endpoint.
"""

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import connect

from liveshop.servers import asgi_server_command
from shows.models import ShowMember, ShowPin
from tests import factories
from tests.servers import port_wait
from video.mediaserver import (
    MediaServer,
    MediaServerConfig,
    pattern_stream_command,
    port_free_pick,
)
from video.models import IngestSession, Recording
from video.services import stream_key_rotate

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.media]


def _wait_for_line(path: Path, text: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{path.name}: exited with {process.returncode}")
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{path.name}: no {text!r} after {timeout} s")


def _process_reap(process: subprocess.Popen) -> None:
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def stack(transactional_db, settings):
    """nginx-rtmp, a daphne server and a Celery worker sharing this test's database."""
    # Not pytest's tmp_path: nginx's workers run as nobody and must reach the folder.
    media_dir = Path(tempfile.mkdtemp(prefix="liveshop-video-"))
    media_dir.chmod(0o755)
    server_port = port_free_pick()
    config = MediaServerConfig(
        media_dir=media_dir,
        hook_url=f"http://127.0.0.1:{server_port}/hooks/rtmp",
        hook_secret=secrets.token_urlsafe(16),
        rtmp_port=port_free_pick(),
        http_port=port_free_pick(),
        hls_fragment="1s",
        log_level="info",
    )
    for name, value in config.environment().items():
        setattr(settings, name, media_dir if name == "LIVESHOP_VIDEO_DIR" else value)
    url = urllib.parse.urlsplit(settings.DATABASE_URL)
    environment = dict(
        os.environ,
        **config.environment(),
        DATABASE_URL=url._replace(path="/" + connection.settings_dict["NAME"]).geturl(),
        REDIS_URL=settings.REDIS_URL,
        DJANGO_SETTINGS_MODULE="liveshop.settings.base",
        CELERY_TASK_ALWAYS_EAGER="false",
        LIVESHOP_LOG_LEVEL="INFO",
    )
    media = MediaServer(config)
    processes = []
    try:
        media.start()
        logs = config.run_dir
        commands = {
            "server": asgi_server_command(server="daphne", host="127.0.0.1", port=server_port),
            "worker": [
                sys.executable, "-m", "celery", "-A", "liveshop", "worker", "--loglevel", "INFO",
                "--concurrency", "2", "--without-heartbeat", "--without-mingle", "--without-gossip",
            ],
        }  # fmt: skip
        for name, command in commands.items():
            with (logs / f"{name}.log").open("w") as log:
                processes.append(
                    subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
                )
        port_wait(server_port, processes[0])
        _wait_for_line(logs / "worker.log", "Celery worker starting", processes[1])
        yield config, server_port
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            _process_reap(process)
        media.stop()
        shutil.rmtree(media_dir, ignore_errors=True)


async def _events_until(websocket, predicate, seen: list, timeout: float = 30) -> float:
    """Read batches into ``seen`` until one holds an event ``predicate`` accepts.

    Returns when that batch arrived; the rest of the batch is kept in ``seen`` too.
    """
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await websocket.recv())
            if frame["type"] != "batch":
                continue
            seen.extend(frame["events"])
            if any(predicate(event) for event in frame["events"]):
                return time.monotonic()


def _diagnosis(config: MediaServerConfig, show) -> str:
    """What the recordings and the processes' logs say, for a failure message."""
    lines = [f"recordings: {list(Recording.objects.filter(show=show).values())}"]
    for name in ("error.log", "server.log", "worker.log"):
        path = config.run_dir / name
        text = path.read_text() if path.exists() else "(none)"
        lines.append(f"--- {name}\n{text[-3000:]}")
    return "\n".join(lines)


def _status(event, status: str) -> bool:
    return event["type"] == "show.status" and event["data"]["status"] == status


def _show_status(server_port: int, public_id: str) -> str:
    response = httpx.get(f"http://127.0.0.1:{server_port}/api/v1/shows/{public_id}", timeout=10)
    return response.json()["status"]


def _publish_refused(url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        pattern_stream_command(url=url, seconds=2), capture_output=True, text=True, timeout=30
    )


def _pin_request(server_port: int, token: str, method: str, path: str, **kwargs) -> httpx.Response:
    """The moderator's console: the pins REST API, authenticated with an API token."""
    return httpx.request(
        method,
        f"http://127.0.0.1:{server_port}{path}",
        headers={"Authorization": f"Token {token}"},
        timeout=10,
        **kwargs,
    )


def test_a_stream_takes_the_show_live_then_ends_it_and_becomes_a_replay(stack):
    config, server_port = stack
    stream = factories.ShowStreamFactory()
    show = stream.show
    publish_url = f"{config.rtmp_url}/{show.public_id}?key={stream.secret}"
    hls_url = f"{config.http_url}/hls/{show.public_id}.m3u8"
    moderator = factories.ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user
    token = Token.objects.create(user=moderator).key
    product = factories.VariantFactory(product__title="Winter boots").product
    pins_path = f"/api/v1/shows/{show.public_id}/pins"

    async def scenario():
        socket_url = f"ws://127.0.0.1:{server_port}/ws/shows/{show.public_id}/"
        async with connect(socket_url, subprotocols=["liveshop.v1"], open_timeout=10) as viewer:
            snapshot = json.loads(await viewer.recv())
            assert snapshot["show"]["status"] == "scheduled"
            assert snapshot["show"]["playback"]["playable"] is False
            seen = []
            started = time.monotonic()
            publisher = subprocess.Popen(
                pattern_stream_command(url=publish_url, seconds=120), stderr=subprocess.PIPE
            )
            try:
                live_at = await _events_until(viewer, lambda e: _status(e, "live"), seen)
                playable_at = await _events_until(
                    viewer, lambda e: e["type"] == "video.playable", seen
                )
                playlist = await asyncio.to_thread(httpx.get, hls_url, timeout=10)
                refused = {
                    "wrong key": await asyncio.to_thread(
                        _publish_refused, publish_url.replace(stream.secret, "wrong-key")
                    ),
                    "second publisher": await asyncio.to_thread(_publish_refused, publish_url),
                }
                still = await asyncio.to_thread(_show_status, server_port, show.public_id)
                assert publisher.poll() is None, publisher.stderr.read()
                refusals_seen = list(seen)
                # The moderator pins the product while the show is live, then unpins it.
                pinned = await asyncio.to_thread(
                    _pin_request, server_port, token, "POST", pins_path,
                    json={"product_id": product.pk},
                )  # fmt: skip
                assert pinned.status_code == 201, pinned.text
                pinned_at = time.monotonic()
                await _events_until(viewer, lambda e: e["type"] == "product.pinned", seen)
                await asyncio.sleep(1.5)
                unpinned = await asyncio.to_thread(
                    _pin_request, server_port, token, "DELETE",
                    f"{pins_path}/{pinned.json()['id']}",
                )  # fmt: skip
                assert unpinned.status_code == 204, unpinned.text
                pinned_seconds = time.monotonic() - pinned_at
                await _events_until(viewer, lambda e: e["type"] == "product.unpinned", seen)
                # The stream goes on a little: the pin lies inside the recording.
                await asyncio.sleep(1)
                publisher.send_signal(signal.SIGINT)
                stopped = time.monotonic()
                await _events_until(viewer, lambda e: _status(e, "ended"), seen)
                ended_at = time.monotonic()
                try:
                    replay_at = await _events_until(
                        viewer, lambda e: e["type"] == "video.replay", seen, timeout=60
                    )
                except TimeoutError:
                    replay_at = None
            finally:
                if publisher.poll() is None:
                    publisher.kill()
                publisher.wait()
            timings = {
                "publish_to_live": live_at - started,
                "publish_to_playable": playable_at - started,
                "end_to_ended_event": ended_at - stopped,
                "end_to_replay": None if replay_at is None else replay_at - stopped,
            }
            return playlist, refused, still, refusals_seen, seen, timings, pinned_seconds

    playlist, refused, still, refusals_seen, seen, timings, pinned_seconds = asyncio.run(scenario())
    assert timings["end_to_replay"] is not None, _diagnosis(config, show)
    # The figures docs/benchmarks.md records (run with -s to see them).
    rounded = {name: round(value, 2) for name, value in timings.items()}
    print("\nvideo e2e timings (s):", json.dumps(rounded))  # noqa: T201

    assert playlist.status_code == 200
    assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert "#EXTINF" in playlist.text
    assert stream.secret not in playlist.text
    playable = next(event for event in seen if event["type"] == "video.playable")
    assert playable["data"] == {"hls_url": hls_url, "playable": True, "state": "live"}
    for name, result in refused.items():
        assert result.returncode != 0, name
    assert still == "live"
    # The refusals sent nothing to viewers.
    assert [event["type"] for event in refusals_seen] == [
        "show.status",
        "message.created",
        "video.playable",
    ]
    assert [event["type"] for event in seen[3:]] == [
        "product.pinned",
        "product.unpinned",
        "show.status",
        "message.created",
        "video.replay",
    ]
    assert _show_status(server_port, show.public_id) == "ended"
    assert list(IngestSession.objects.filter(show=show).values_list("state", flat=True)) == [
        "ended"
    ]

    recording = Recording.objects.get(show=show)
    assert recording.status == Recording.Status.READY
    replay = seen[-1]["data"]
    assert replay["hls_url"] == f"{config.http_url}/vod/{recording.pk}/index.m3u8"
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json",
         "-show_entries", "stream=codec_type,width,height:format=duration", replay["hls_url"]],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    probed = json.loads(probe.stdout)
    assert {"codec_type": "video", "width": 320, "height": 180} in probed["streams"]
    assert abs(float(probed["format"]["duration"]) - replay["duration_seconds"]) < 1.5
    assert httpx.get(replay["thumbnail_url"], timeout=10).status_code == 200

    # The replay's timeline holds exactly the pin made during the show, on the VOD's
    # clock: the recording starts with the publish, the pin's offsets with the show.
    pin = ShowPin.objects.get(show=show)
    show.refresh_from_db()
    session = IngestSession.objects.get(show=show)
    shift_ms = round((show.actual_start - session.started_at).total_seconds() * 1000)
    assert 0 <= shift_ms < 1000
    assert replay["pins_url"] == pins_path
    assert replay["pins"] == [
        {
            "pin_id": pin.pk,
            "product_id": product.pk,
            "title": "Winter boots",
            "start_offset": (pin.start_offset_ms + shift_ms) / 1000,
            "end_offset": (pin.end_offset_ms + shift_ms) / 1000,
        }
    ]
    assert pin.pinned_by == pin.unpinned_by == moderator
    assert pin.start_offset_ms > 0
    # The end offset is the unpin's moment, not the show's end.
    assert abs((pin.end_offset_ms - pin.start_offset_ms) / 1000 - pinned_seconds) < 0.5
    assert replay["pins"][0]["end_offset"] < replay["duration_seconds"]
    video = httpx.get(f"http://127.0.0.1:{server_port}/api/v1/shows/{show.public_id}/video")
    assert video.json()["replay"] == replay
    timeline = httpx.get(f"http://127.0.0.1:{server_port}{pins_path}").json()["results"]
    assert [(p["id"], p["start_offset"], p["end_offset"]) for p in timeline] == [
        (pin.pk, pin.start_offset_ms / 1000, pin.end_offset_ms / 1000)
    ]


def test_rotating_the_key_cuts_the_publisher_off_and_ends_the_show(stack):
    config, server_port = stack
    stream = factories.ShowStreamFactory()
    show = stream.show
    publish_url = f"{config.rtmp_url}/{show.public_id}?key={stream.secret}"
    publisher = subprocess.Popen(
        pattern_stream_command(url=publish_url, seconds=120),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while _show_status(server_port, show.public_id) != "live":
            assert time.monotonic() < deadline, "the show did not go live"
            time.sleep(0.2)
        stream_key_rotate(show=show)
        assert publisher.wait(timeout=15) != 0
    finally:
        if publisher.poll() is None:
            publisher.kill()
            publisher.wait()
    deadline = time.monotonic() + 15
    while _show_status(server_port, show.public_id) != "ended":
        assert time.monotonic() < deadline, "the show did not end"
        time.sleep(0.2)
    assert _publish_refused(publish_url).returncode != 0
    assert IngestSession.objects.filter(show=show).count() == 1
