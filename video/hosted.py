"""Adapters for hosted providers' webhooks (Mux, AWS IVS): verify, then map to one event shape.

Hosted providers authorize stream keys themselves, so liveshop only hears what
happened: a stream started, became playable, ended, or its recording is ready.
Both deliver at least once and IVS out of order; ``video.services.video_event_apply``
is idempotent and order-tolerant, as for nginx-rtmp (docs/video.md).

Show mapping: a Mux live stream carries the show's public id as its ``passthrough``
(and as ``new_asset_settings.passthrough``, so its recording does too); an IVS
channel is named after the show's public id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac

from django.conf import settings

from liveshop.common.webhooks import WebhookSignatureError, webhook_timestamp_parse


class VideoEventKind:
    STARTED = "started"
    PLAYABLE = "playable"
    ENDED = "ended"
    RECORDING_READY = "recording_ready"


@dataclasses.dataclass(frozen=True)
class VideoEvent:
    kind: str
    public_id: str
    session_id: str
    playback_url: str = ""
    thumbnail_url: str = ""
    duration_seconds: float | None = None
    recording_ref: str = ""


# --- Mux --------------------------------------------------------------------------


def mux_signature_verify(
    *, secret: str, header: str, body: bytes, tolerance_seconds: int, now: float | None = None
) -> None:
    """Check a ``Mux-Signature: t=<unix>,v1=<hex>`` header; raise ``WebhookSignatureError``.

    Mux signs ``f"{t}.{body}"`` with HMAC-SHA256 and the endpoint's signing secret;
    a timestamp further than ``tolerance_seconds`` from now is refused (replay).
    """
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item and item.strip())
    timestamp, signature = parts.get("t", ""), parts.get("v1", "")
    if not timestamp or not signature:
        raise WebhookSignatureError("Missing Mux-Signature header.", code="missing_signature")
    webhook_timestamp_parse(
        timestamp=timestamp, tolerance_seconds=tolerance_seconds, now=now, label="Mux-Signature t="
    )
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), signature):
        raise WebhookSignatureError("The Mux signature does not match.")


def _mux_playback(data: dict) -> str:
    for playback in data.get("playback_ids") or []:
        if playback.get("policy") == "public":
            return playback["id"]
    return ""


def mux_events_parse(payload: dict) -> list[VideoEvent]:
    """The events in one Mux webhook body; unknown types map to none."""
    kind = payload.get("type", "")
    data = payload.get("data") or {}
    public_id = data.get("passthrough") or ""
    if not public_id:
        return []
    playback_id = _mux_playback(data)
    playback_url = f"https://stream.mux.com/{playback_id}.m3u8" if playback_id else ""
    if kind == "video.live_stream.connected":
        return [VideoEvent(VideoEventKind.STARTED, public_id, data["id"], playback_url)]
    if kind == "video.live_stream.active":
        # Active can overtake connected: starting again is a no-op.
        return [
            VideoEvent(VideoEventKind.STARTED, public_id, data["id"], playback_url),
            VideoEvent(VideoEventKind.PLAYABLE, public_id, data["id"], playback_url),
        ]
    if kind == "video.live_stream.idle":
        # "disconnected" may be followed by a reconnect; idle means the window passed.
        return [VideoEvent(VideoEventKind.ENDED, public_id, data["id"])]
    if kind == "video.asset.ready" and data.get("live_stream_id") and playback_id:
        return [
            VideoEvent(
                VideoEventKind.RECORDING_READY,
                public_id,
                data["live_stream_id"],
                playback_url,
                thumbnail_url=f"https://image.mux.com/{playback_id}/thumbnail.jpg",
                duration_seconds=data.get("duration"),
                recording_ref=data["id"],
            )
        ]
    return []


# --- AWS IVS (EventBridge) ----------------------------------------------------------


def ivs_secret_verify(*, secret: str, header: str) -> None:
    """EventBridge API destinations send a fixed header configured on their connection."""
    if not header:
        raise WebhookSignatureError("Missing the webhook secret header.", code="missing_signature")
    if not hmac.compare_digest(secret.encode(), header.encode()):
        raise WebhookSignatureError("The webhook secret does not match.")


def _ivs_channel_playback(arn: str) -> str:
    # arn:aws:ivs:<region>:<account>:channel/<id> -> the channel's playback URL
    try:
        _, _, _, region, account, resource = arn.split(":", 5)
        channel_id = resource.split("/", 1)[1]
    except (ValueError, IndexError):
        return ""
    host = settings.LIVESHOP_VIDEO_IVS_PLAYBACK_HOST
    if not host:
        return ""
    return f"https://{host}/api/video/v1/{region}.{account}.channel.{channel_id}.m3u8"


def ivs_events_parse(payload: dict) -> list[VideoEvent]:
    """The events in one EventBridge delivery from ``aws.ivs``; others map to none."""
    if payload.get("source") != "aws.ivs":
        return []
    detail = payload.get("detail") or {}
    public_id = detail.get("channel_name") or ""
    stream_id = detail.get("stream_id") or ""
    if not public_id or not stream_id:
        return []
    detail_type = payload.get("detail-type")
    resources = payload.get("resources") or [""]
    if detail_type == "IVS Stream State Change":
        name = detail.get("event_name")
        if name == "Stream Start":
            # IVS has no separate "playable": Stream Start means viewers get video.
            playback_url = _ivs_channel_playback(resources[0])
            return [
                VideoEvent(VideoEventKind.STARTED, public_id, stream_id, playback_url),
                VideoEvent(VideoEventKind.PLAYABLE, public_id, stream_id, playback_url),
            ]
        if name == "Stream End":
            return [VideoEvent(VideoEventKind.ENDED, public_id, stream_id)]
        return []
    if detail_type == "IVS Recording State Change":
        if detail.get("recording_status") != "Recording End":
            return []
        bucket = detail.get("recording_s3_bucket_name", "")
        prefix = detail.get("recording_s3_key_prefix", "").strip("/")
        base = settings.LIVESHOP_VIDEO_IVS_VOD_BASE_URL or f"https://{bucket}.s3.amazonaws.com"
        duration_ms = detail.get("recording_duration_ms")
        return [
            VideoEvent(
                VideoEventKind.RECORDING_READY,
                public_id,
                stream_id,
                f"{base.rstrip('/')}/{prefix}/media/hls/master.m3u8",
                thumbnail_url=f"{base.rstrip('/')}/{prefix}/media/thumbnails/thumb0.jpg",
                duration_seconds=None if duration_ms is None else duration_ms / 1000,
                recording_ref=detail.get("recording_session_id") or prefix,
            )
        ]
    return []
