"""Reads for video: what a show plays, its open ingest session, its replay."""

from __future__ import annotations

from typing import Literal, TypedDict

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from liveshop.accounts.types import Viewer
from shows.access import member_q
from shows.models import Show, ShowMember, ShowPin
from video.models import IngestSession, PlannedPin, Recording
from video.providers import video_provider_get


def show_session_open_get(*, show_id: int) -> IngestSession | None:
    return IngestSession.objects.filter(show_id=show_id).exclude(state="ended").first()


def recording_media_url(*, recording: Recording, name: str) -> str:
    return f"{settings.LIVESHOP_VIDEO_HTTP_URL}/vod/{recording.pk}/{name}"


def recording_replay_payload(*, recording: Recording) -> dict:
    return {
        "recording_id": recording.pk,
        "hls_url": recording.playback_url
        or recording_media_url(recording=recording, name="index.m3u8"),
        "thumbnail_url": recording.thumbnail_url
        or recording_media_url(recording=recording, name="thumbnail.jpg"),
        "duration_seconds": recording.duration_seconds,
    }


def replay_pins_list(*, recording: Recording) -> list[dict]:
    """The pins of the recording's show on the replay's own clock, by start.

    Pins count from the show's actual start; a recording starts with its
    ingest session: earlier when the stream waited backstage (offsets move
    later), later when the show was taken live before the stream connected
    (offsets move earlier; a pin that ended before the recording began is not
    in it, one that was open then starts at 0). Premiere videos start with the
    show: no shift. The cards themselves (with fresh add-to-cart links) are
    the show's timeline, ``GET /api/v1/shows/<public_id>/pins``. Two queries.
    """
    show = recording.show
    shift_ms = 0
    session = recording.session
    if session is not None and show.actual_start is not None:
        shift_ms = round((show.actual_start - session.started_at).total_seconds() * 1000)
    pins = (
        ShowPin.objects.filter(show_id=recording.show_id)
        .select_related("product")
        .order_by("start_offset_ms", "pk")
    )
    timeline = []
    for pin in pins:
        end_ms = None if pin.end_offset_ms is None else pin.end_offset_ms + shift_ms
        if end_ms is not None and end_ms <= 0:
            continue
        timeline.append(
            {
                "pin_id": pin.pk,
                "product_id": pin.product_id,
                "title": pin.product.title,
                "start_offset": max(0, pin.start_offset_ms + shift_ms) / 1000,
                "end_offset": None if end_ms is None else end_ms / 1000,
            }
        )
    return timeline


def show_replay_payload(*, recording: Recording) -> dict:
    """The replay object of ``video.replay`` and of ``playback.replay``: the VOD with
    its product timeline (``pins``) and where the full cards are (``pins_url``)."""
    return {
        **recording_replay_payload(recording=recording),
        "pins_url": f"/api/v1/shows/{recording.show.public_id}/pins",
        "pins": replay_pins_list(recording=recording),
    }


def replay_recording_list() -> QuerySet[Recording]:
    """Recordings that can be a replay: processed cleanly, so a player can open them."""
    return Recording.objects.filter(status=Recording.Status.READY)


def show_replay_visible(*, show: Show, is_team: bool) -> bool:
    """Whether ``show``'s replay, if it has one, is for this audience to see.

    Viewers see it once the show has ended and only if the show allows
    replays: before that a recording is a premiere's video that has not aired
    or a backstage rehearsal. The team sees it whenever there is one.
    """
    return is_team or (show.status == Show.Status.ENDED and show.replay_allowed)


def show_has_visible_replay_q() -> Q:
    """Shows with a replay viewers may open: ``show_replay_visible`` as a filter on Show."""
    return Q(status=Show.Status.ENDED, replay_allowed=True) & Q(
        Exists(replay_recording_list().filter(show=OuterRef("pk")))
    )


def show_replay_get(*, show_id: int) -> Recording | None:
    """The show's replay: its latest recording that processed cleanly.

    For the team; ``show_replay_visible`` says whether viewers may see it.
    """
    return (
        replay_recording_list()
        .filter(show_id=show_id)
        .select_related("show", "session")
        .order_by("-ready_at", "-pk")
        .first()
    )


PREMIERE_PROVIDERS = ("upload", "url")


def premiere_video_get(*, show_id: int) -> Recording | None:
    """The video a recorded show airs: the latest uploaded or linked one that processed."""
    return (
        Recording.objects.filter(
            show_id=show_id, provider__in=PREMIERE_PROVIDERS, status=Recording.Status.READY
        )
        .order_by("-ready_at", "-pk")
        .first()
    )


# What plays: an open ingest session's state, or a premiere's video airing.
PlaybackState = IngestSession.State | Literal["premiere"]


class SessionPlayback(TypedDict):
    """``video.playable``'s data for a session whose playlist exists."""

    hls_url: str
    playable: bool
    state: PlaybackState


class Playback(TypedDict):
    """The ``playback`` object (docs/protocol.md): what a player opens, if anything."""

    hls_url: str | None
    playable: bool
    state: PlaybackState | None
    replay: dict | None


def session_playback_payload(*, session: IngestSession, public_id: str) -> SessionPlayback:
    return {
        "hls_url": session.playback_url
        or video_provider_get(session.provider).hls_url(public_id=public_id),
        "playable": True,
        "state": IngestSession.State(session.state),
    }


def show_playback_get(*, show: Show, is_team: bool) -> Playback:
    """The ``playback`` object of the show snapshot and ``GET /shows/<id>/video``.

    ``hls_url`` is set only once the live playlist exists: for everyone while the
    stream is live, for the team while it is backstage; while a premiere airs it is
    the premiere's VOD (``state`` ``premiere``), and never before it airs. ``replay`` is
    the processed recording: for the team, and for everyone once the show has ended
    if it allows replays (``show_replay_visible``).
    """
    playback: Playback = {"hls_url": None, "playable": False, "state": None, "replay": None}
    if show.kind == Show.Kind.RECORDED and show.status == Show.Status.LIVE:
        video = premiere_video_get(show_id=show.pk)
        if video is not None:
            # Players seek to (now - started_at): everyone watches the same moment.
            vod = recording_replay_payload(recording=video)
            playback["hls_url"], playback["playable"] = vod["hls_url"], True
            playback["state"] = "premiere"
    session = show_session_open_get(show_id=show.pk)
    if session is not None:
        playback["state"] = IngestSession.State(session.state)
        visible = session.state == IngestSession.State.LIVE or is_team
        if session.playable_at is not None and visible:
            live = session_playback_payload(session=session, public_id=show.public_id)
            playback["hls_url"], playback["playable"] = live["hls_url"], live["playable"]
            playback["state"] = live["state"]
    if show_replay_visible(show=show, is_team=is_team):
        replay = show_replay_get(show_id=show.pk)
        if replay is not None:
            playback["replay"] = show_replay_payload(recording=replay)
    return playback


def show_user_is_host(*, show: Show, user: Viewer) -> bool:
    """Whether ``user`` may see and change the show's ingest: its hosts and merchandisers."""
    if not user.is_authenticated:
        return False
    if user.is_merchandiser:
        return True
    return ShowMember.objects.filter(
        member_q(user=user, roles=(ShowMember.Role.HOST,)), show=show
    ).exists()


def planned_pin_list(*, show: Show) -> QuerySet[PlannedPin]:
    """A premiere's planned pins by offset, with their products (for the team)."""
    return (
        PlannedPin.objects.filter(show=show).select_related("product").order_by("offset_ms", "pk")
    )


def planned_pin_payload(*, planned: PlannedPin) -> dict:
    return {
        "id": planned.pk,
        "product_id": planned.product_id,
        "title": planned.product.title,
        "offset_seconds": planned.offset_ms / 1000,
        "duration_seconds": None if planned.duration_ms is None else planned.duration_ms / 1000,
        "status": planned.status,
        "skip_reason": planned.skip_reason,
        "pin_id": planned.pin_id,
        "fired_at": planned.fired_at,
    }
