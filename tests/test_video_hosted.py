"""Mux and AWS IVS webhooks: signatures really verified, payloads mapped to the same events.

The payloads in tests/fixtures/video follow the providers' documented webhook and
EventBridge formats; ``SHOW_PUBLIC_ID`` stands for the show's public id (Mux
``passthrough``, IVS channel name).
"""

import hashlib
import hmac
import time
from pathlib import Path

import pytest

from shows.models import Show, ShowEvent
from video.models import IngestSession, Recording

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "video"
MUX_SECRET = "mux-signing-secret-for-tests"
IVS_SECRET = "ivs-api-destination-secret"


def _payload(name: str, show: Show) -> bytes:
    return (FIXTURES / name).read_text().replace("SHOW_PUBLIC_ID", show.public_id).encode()


def _mux_signature(body: bytes, *, secret: str = MUX_SECRET, at: int | None = None) -> str:
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


@pytest.fixture
def hosted(settings, client):
    settings.LIVESHOP_VIDEO_MUX_WEBHOOK_SECRET = MUX_SECRET
    settings.LIVESHOP_VIDEO_IVS_WEBHOOK_SECRET = IVS_SECRET
    settings.LIVESHOP_VIDEO_IVS_PLAYBACK_HOST = "0123abcd.us-west-2.playback.live-video.net"
    settings.LIVESHOP_VIDEO_IVS_VOD_BASE_URL = "https://vod.example"
    return client


def _mux(client, name: str, show: Show, **headers):
    body = _payload(name, show)
    headers.setdefault("HTTP_MUX_SIGNATURE", _mux_signature(body))
    return client.post("/hooks/mux", data=body, content_type="application/json", **headers)


def _ivs(client, name: str, show: Show, secret: str = IVS_SECRET):
    return client.post(
        "/hooks/ivs",
        data=_payload(name, show),
        content_type="application/json",
        HTTP_X_LIVESHOP_WEBHOOK_SECRET=secret,
    )


def _events(show) -> list[tuple[str, str]]:
    return list(ShowEvent.objects.filter(show=show).order_by("seq").values_list("type", "audience"))


def _untouched(show) -> None:
    show.refresh_from_db()
    assert show.status == Show.Status.SCHEDULED
    assert IngestSession.objects.count() == 0
    assert _events(show) == []


def test_a_mux_stream_goes_live_becomes_playable_ends_and_becomes_a_replay(
    hosted, show_stream_factory
):
    show = show_stream_factory().show
    connected = _mux(hosted, "mux_live_stream_connected.json", show)
    assert connected.json() == {"detail": "Processed.", "outcomes": ["started:live"]}
    # Mux delivers at least once.
    assert _mux(hosted, "mux_live_stream_connected.json", show).json()["outcomes"] == [
        "started:live"
    ]
    active = _mux(hosted, "mux_live_stream_active.json", show)
    assert active.json()["outcomes"] == ["started:live", "playable"]
    assert _mux(hosted, "mux_live_stream_disconnected.json", show).json()["outcomes"] == []
    show.refresh_from_db()
    assert show.status == Show.Status.LIVE
    playable = ShowEvent.objects.get(show=show, type="video.playable")
    assert playable.data == {
        "hls_url": "https://stream.mux.com/Kq01Ub02Vc03Wd04Xe05Yf06Zg07.m3u8",
        "playable": True,
        "state": "live",
    }
    assert _mux(hosted, "mux_live_stream_idle.json", show).json()["outcomes"] == ["ended"]
    show.refresh_from_db()
    assert show.status == Show.Status.ENDED
    assert _mux(hosted, "mux_asset_ready.json", show).json()["outcomes"] == ["recording_ready"]
    assert _mux(hosted, "mux_asset_ready.json", show).json()["outcomes"] == ["recording_ready"]
    recording = Recording.objects.get(show=show)
    assert (recording.provider, recording.source, recording.status) == (
        "mux",
        "Pz8Oy7Nx6Mw5Lv4Ku3Jt2Is1",
        "ready",
    )
    replay = ShowEvent.objects.get(show=show, type="video.replay")
    assert replay.data == {
        "recording_id": recording.pk,
        "hls_url": "https://stream.mux.com/Rr11Ss22Tt33Uu44Vv55Ww66.m3u8",
        "thumbnail_url": "https://image.mux.com/Rr11Ss22Tt33Uu44Vv55Ww66/thumbnail.jpg",
        "duration_seconds": 1834.2,
        "pins_url": f"/api/v1/shows/{show.public_id}/pins",
        "pins": [],
    }
    assert [kind for kind, _ in _events(show)] == [
        "show.status",
        "message.created",
        "video.playable",
        "show.status",
        "message.created",
        "video.replay",
    ]


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"HTTP_MUX_SIGNATURE": ""}, "missing_signature"),
        ({"HTTP_MUX_SIGNATURE": "t=1795464000,v1=00"}, "stale_timestamp"),
        ({"secret": "another-endpoint-secret"}, "invalid_signature"),
        ({"tamper": True}, "invalid_signature"),
    ],
)
def test_a_mux_delivery_without_a_valid_signature_changes_nothing(
    hosted, show_stream_factory, headers, code
):
    show = show_stream_factory().show
    body = _payload("mux_live_stream_connected.json", show)
    if "secret" in headers:
        headers = {"HTTP_MUX_SIGNATURE": _mux_signature(body, secret=headers["secret"])}
    elif "tamper" in headers:
        headers = {"HTTP_MUX_SIGNATURE": _mux_signature(body)}
        body = body.replace(b'"idle"', b'"active"', 1)
    response = hosted.post("/hooks/mux", data=body, content_type="application/json", **headers)
    assert response.status_code == 401
    assert response.json()["code"] == code
    _untouched(show)


def test_mux_idle_that_overtakes_connected_leaves_the_show_alone(hosted, show_stream_factory):
    show = show_stream_factory().show
    assert _mux(hosted, "mux_live_stream_idle.json", show).json()["outcomes"] == ["ended"]
    late = _mux(hosted, "mux_live_stream_connected.json", show)
    assert late.status_code == 200
    assert late.json()["outcomes"] == ["refused:session_ended"]
    show.refresh_from_db()
    assert show.status == Show.Status.SCHEDULED
    assert _events(show) == []


def test_an_ivs_stream_goes_live_ends_and_becomes_a_replay(hosted, show_stream_factory):
    show = show_stream_factory().show
    assert _ivs(hosted, "ivs_session_created.json", show).json()["outcomes"] == []
    start = _ivs(hosted, "ivs_stream_start.json", show)
    assert start.json()["outcomes"] == ["started:live", "playable"]
    playable = ShowEvent.objects.get(show=show, type="video.playable")
    assert playable.data["hls_url"] == (
        "https://0123abcd.us-west-2.playback.live-video.net/api/video/v1/"
        "us-west-2.123456789012.channel.AsXego4U6tnj.m3u8"
    )
    assert _ivs(hosted, "ivs_stream_start.json", show).json()["outcomes"] == [
        "started:live",
        "playable:unchanged",
    ]
    assert _ivs(hosted, "ivs_stream_end.json", show).json()["outcomes"] == ["ended"]
    show.refresh_from_db()
    assert show.status == Show.Status.ENDED
    assert _ivs(hosted, "ivs_recording_end.json", show).json()["outcomes"] == ["recording_ready"]
    prefix = "https://vod.example/ivs/v1/123456789012/AsXego4U6tnj/2026/11/23/20/12/j8Z9O91ndcVs"
    replay = ShowEvent.objects.get(show=show, type="video.replay").data
    assert replay["hls_url"] == f"{prefix}/media/hls/master.m3u8"
    assert replay["thumbnail_url"] == f"{prefix}/media/thumbnails/thumb0.jpg"
    assert replay["duration_seconds"] == 5225.0


def test_ivs_stream_end_before_stream_start_leaves_the_show_alone(hosted, show_stream_factory):
    show = show_stream_factory().show
    _ivs(hosted, "ivs_stream_end.json", show)
    late = _ivs(hosted, "ivs_stream_start.json", show)
    assert late.json()["outcomes"] == ["refused:session_ended", "playable:unchanged"]
    show.refresh_from_db()
    assert show.status == Show.Status.SCHEDULED
    assert _events(show) == []


@pytest.mark.parametrize("secret", ["", "wrong-secret"])
def test_an_ivs_delivery_without_the_secret_changes_nothing(hosted, show_stream_factory, secret):
    show = show_stream_factory().show
    response = _ivs(hosted, "ivs_stream_start.json", show, secret=secret)
    assert response.status_code == 401
    _untouched(show)


def test_unconfigured_providers_answer_not_found(client, show_stream_factory):
    show = show_stream_factory().show
    assert _mux(client, "mux_live_stream_connected.json", show).status_code == 404
    assert _ivs(client, "ivs_stream_start.json", show).status_code == 404
    _untouched(show)
