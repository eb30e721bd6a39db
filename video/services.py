"""Writes for video: stream keys, the ingest session lifecycle, recordings to replays.

The media server's callbacks arrive here through thin adapters (video.hooks). They
are idempotent and tolerate duplicates and reordering: a session is keyed by the
media server's client id, a recording by its source file, and every step that
changes state locks its row first (docs/video.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import hmac
import logging
import os
import shutil
import time
import uuid
from pathlib import Path

import orjson
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import Product
from liveshop.accounts.models import User
from liveshop.common.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from liveshop.common.tasks import SWEEP_GRACE, task_enqueue_on_commit
from realtime import broker
from realtime.models import Audience
from shows.access import show_chat_role
from shows.events import show_event_append
from shows.lock_objects import channel_lock, show_lock
from shows.models import Channel, Show, ShowPin
from shows.services import show_end, show_go_live, show_product_pin, show_product_unpin
from video import media
from video.channels import channel_air_frame, channel_air_key, channel_now_playing_get
from video.hosted import VideoEvent, VideoEventKind
from video.lock_objects import (
    channel_air_lock,
    ingest_sessions_qs_select_for_update,
    planned_pins_qs_select_for_update,
    recordings_qs_select_for_update,
    show_stream_lock,
)
from video.models import (
    ChannelAir,
    ChannelRotationEntry,
    IngestSession,
    PlannedPin,
    Recording,
    ShowStream,
    stream_secret_generate,
)
from video.providers import PROVIDERS, video_provider_get
from video.selectors import (
    premiere_video_get,
    recording_replay_payload,
    session_playback_payload,
    show_replay_get,
    show_replay_payload,
    show_replay_visible,
)
from video.wire import now_playing_json

logger = logging.getLogger("liveshop.video")


class StreamRefusedError(ApplicationError):
    """The media server must refuse this publish (any non-2xx answer does)."""

    status_code = 403
    default_code = "publish_refused"


def show_stream_ensure(*, show: Show) -> ShowStream:
    """The show's stream settings, created with a fresh secret key on first use."""
    stream, _ = ShowStream.objects.get_or_create(show=show)
    return stream


def _publisher_drop_on_commit(*, provider: str, public_id: str) -> None:
    if provider not in PROVIDERS:
        # Hosted providers (Mux, IVS) are driven through their own APIs, which
        # liveshop does not call: their stream ends at the broadcaster or console.
        logger.info("The %s stream of %s is not dropped from liveshop", provider, public_id)
        return
    transaction.on_commit(lambda: video_provider_get(provider).publisher_drop(public_id=public_id))


@transaction.atomic
def stream_key_rotate(*, show: Show, now: dt.datetime | None = None) -> ShowStream:
    """Give the show a new secret stream key; the old one stops working at once.

    Side effect: after commit, a publisher streaming with the old key is dropped
    through the media server's control endpoint (its ``publish_done`` then ends
    the session, and the show if it was live).
    """
    show_stream_ensure(show=show)
    stream = show_stream_lock(show_id=show.pk)
    stream.secret = stream_secret_generate()
    stream.rotated_at = now or timezone.now()
    stream.save(update_fields=["secret", "rotated_at"])
    session = IngestSession.objects.filter(show=show).exclude(state="ended").first()
    if session is not None:
        _publisher_drop_on_commit(provider=session.provider, public_id=show.public_id)
    return stream


@transaction.atomic
def stream_backstage_set(*, show: Show, backstage: bool) -> ShowStream:
    """Choose whether the show's next stream goes backstage before it goes live."""
    show_stream_ensure(show=show)
    stream = show_stream_lock(show_id=show.pk)
    stream.backstage = backstage
    stream.save(update_fields=["backstage"])
    return stream


def _require_in_start_window(*, show: Show, now: dt.datetime) -> None:
    opens = show.scheduled_start - dt.timedelta(minutes=settings.LIVESHOP_VIDEO_START_EARLY_MINUTES)
    if not opens <= now < show.scheduled_end:
        raise StreamRefusedError(
            "The show can go live from "
            f"{settings.LIVESHOP_VIDEO_START_EARLY_MINUTES} minutes before its start "
            "until its scheduled end.",
            code="outside_start_window",
        )


@transaction.atomic
def stream_publish_authorize(
    *, provider: str, public_id: str, key: str, client_id: str, now: dt.datetime | None = None
) -> IngestSession:
    """Accept or refuse a publish to ``public_id``; accepted means the stream is on.

    Accepts a matching key for a scheduled show inside its start window (or a live
    show without a publisher) while no other publisher is on. Without backstage the
    show goes live (``show_go_live``: ``show.status`` event, actual start); with
    backstage the session opens for the team only (``video.backstage`` event).
    A repeated call for the same client id returns the same session.
    Raises ``StreamRefusedError`` (or ``ConflictError``) and writes nothing otherwise.
    Side effect: after commit, ``stream_playable_watch`` is queued.
    """
    now = now or timezone.now()
    show = Show.objects.filter(public_id=public_id).first()
    # A wrong key is refused before any lock, so nobody without the key makes others wait.
    stream = None if show is None else ShowStream.objects.filter(show=show).first()
    if show is None or stream is None:
        raise StreamRefusedError("Unknown stream or wrong stream key.", code="invalid_stream_key")
    if not hmac.compare_digest(stream.secret.encode(), key.encode()):
        raise StreamRefusedError("Unknown stream or wrong stream key.", code="invalid_stream_key")
    # Going live locks the channel, so the channel comes first (docs/architecture.md, "Lock order").
    channel_lock(channel_id=show.channel_id)
    show = show_lock(show_id=show.pk)
    stream = show_stream_lock(show_id=show.pk)
    if not hmac.compare_digest(stream.secret.encode(), key.encode()):
        # The key was rotated while this publish waited for the locks.
        raise StreamRefusedError("Unknown stream or wrong stream key.", code="invalid_stream_key")
    return _session_open(show=show, stream=stream, provider=provider, client_id=client_id, now=now)


def _session_open(
    *,
    show: Show,
    stream: ShowStream,
    provider: str,
    client_id: str,
    now: dt.datetime,
    playback_url: str = "",
    watch: bool = True,
) -> IngestSession:
    # The caller holds the channel's, the show's and the stream's row locks, in
    # this order (the lock order); the stream's serialises publishes of a show.
    sessions = IngestSession.objects.filter(show=show)
    existing = sessions.filter(provider=provider, client_id=client_id).first()
    if existing is not None:
        if existing.state == IngestSession.State.ENDED:
            raise StreamRefusedError("This connection has already ended.", code="session_ended")
        return existing
    if sessions.exclude(state="ended").exists():
        raise ConflictError("Another publisher is streaming this show.", code="already_publishing")
    if show.status == Show.Status.SCHEDULED:
        _require_in_start_window(show=show, now=now)
    elif show.status != Show.Status.LIVE:
        raise StreamRefusedError(
            f"The show is {show.get_status_display().lower()}; it cannot be streamed.",
            code="show_not_streamable",
        )
    state = IngestSession.State.LIVE
    if show.status == Show.Status.SCHEDULED and stream.backstage:
        state = IngestSession.State.BACKSTAGE
    elif show.status == Show.Status.SCHEDULED:
        show_go_live(show=show)
    session = IngestSession.objects.create(
        show=show,
        provider=provider,
        client_id=client_id,
        state=state,
        started_at=now,
        playback_url=playback_url,
    )
    if state == IngestSession.State.BACKSTAGE:
        show_event_append(
            show_id=show.pk,
            type="video.backstage",
            data={"state": state, "playable": False},
            audience=Audience.TEAM,
        )
    if watch:
        from video.tasks import stream_playable_watch

        task_enqueue_on_commit(stream_playable_watch, session_id=session.pk)
    channel_now_playing_mark(channel_id=show.channel_id)
    return session


@transaction.atomic
def stream_started(
    *,
    provider: str,
    public_id: str,
    client_id: str,
    playback_url: str = "",
    now: dt.datetime | None = None,
) -> IngestSession:
    """A hosted provider (Mux, IVS) reports a stream it authorized itself.

    The same rules as ``stream_publish_authorize`` without the key check: the show
    goes live (or backstage) inside its start window; a repeated report returns the
    same session. Raises the same refusals, writing nothing; the provider then
    streams to nobody. Playable comes from the provider's own event.
    """
    show = Show.objects.filter(public_id=public_id).first()
    if show is None:
        raise StreamRefusedError("Unknown stream.", code="invalid_stream_key")
    show_stream_ensure(show=show)
    channel_lock(channel_id=show.channel_id)
    show = show_lock(show_id=show.pk)
    stream = show_stream_lock(show_id=show.pk)
    return _session_open(
        show=show,
        stream=stream,
        provider=provider,
        client_id=client_id,
        now=now or timezone.now(),
        playback_url=playback_url,
        watch=False,
    )


@transaction.atomic
def stream_publish_end(
    *, provider: str, public_id: str, client_id: str, now: dt.datetime | None = None
) -> IngestSession | None:
    """The publisher ``client_id`` stopped: close its session; a live show ends.

    Only the session of that very client id is closed: the ``publish_done`` nginx
    sends for a refused second publisher finds none and changes nothing. Repeats
    are no-ops. A ``publish_done`` for an unknown client id of a known show leaves
    an ended session behind, so a late ``on_publish`` for it is refused. A backstage
    session ends without touching the show (``video.backstage_ended`` to the team).
    """
    now = now or timezone.now()
    show = Show.objects.filter(public_id=public_id).first()
    if show is None:
        return None
    # The show before its session (the lock order): ending the show locks the show.
    show = show_lock(show_id=show.pk)
    session = (
        ingest_sessions_qs_select_for_update()
        .filter(show=show, provider=provider, client_id=client_id)
        .first()
    )
    if session is None:
        session, _ = IngestSession.objects.get_or_create(
            show=show,
            provider=provider,
            client_id=client_id,
            defaults={
                "state": IngestSession.State.ENDED,
                "accepted": False,
                "started_at": now,
                "ended_at": now,
            },
        )
        return session
    if session.state == IngestSession.State.ENDED:
        return session
    was = session.state
    session.state = IngestSession.State.ENDED
    session.ended_at = now
    session.save(update_fields=["state", "ended_at"])
    if was == IngestSession.State.BACKSTAGE:
        show_event_append(
            show_id=show.pk,
            type="video.backstage_ended",
            data={"state": IngestSession.State.ENDED},
            audience=Audience.TEAM,
        )
    elif show.status == Show.Status.LIVE:
        show_end(show=show)
    channel_now_playing_mark(channel_id=show.channel_id)
    return session


@transaction.atomic
def stream_playable_mark(*, session_id: int, now: dt.datetime | None = None) -> bool:
    """Record that the session's live playlist exists; returns whether this call did.

    Appends ``video.playable`` with the HLS URL: to everyone for a live session, to
    the team for a backstage one. A second call, or one for an ended session, is a
    no-op.
    """
    sessions = ingest_sessions_qs_select_for_update().select_related("show")
    session = sessions.filter(pk=session_id).first()
    if session is None or session.playable_at is not None:
        return False
    if session.state == IngestSession.State.ENDED:
        return False
    session.playable_at = now or timezone.now()
    session.save(update_fields=["playable_at"])
    audience = Audience.PUBLIC if session.state == IngestSession.State.LIVE else Audience.TEAM
    show_event_append(
        show_id=session.show_id,
        type="video.playable",
        data=dict(session_playback_payload(session=session, public_id=session.show.public_id)),
        audience=audience,
    )
    channel_now_playing_mark(channel_id=session.show.channel_id)
    return True


def stream_playable_watch(
    *, session_id: int, timeout: float | None = None, interval: float = 0.2
) -> bool:
    """Poll the provider until the session's playlist exists, then mark it playable.

    Gives up when the session ends or after ``timeout`` seconds
    (``LIVESHOP_VIDEO_PLAYABLE_TIMEOUT_SECONDS``; 0 checks once). Safe to run twice:
    marking is idempotent. Returns whether the session is playable.
    """
    timeout = settings.LIVESHOP_VIDEO_PLAYABLE_TIMEOUT_SECONDS if timeout is None else timeout
    deadline = time.monotonic() + timeout
    while True:
        session = IngestSession.objects.select_related("show").filter(pk=session_id).first()
        if session is None or session.state == IngestSession.State.ENDED:
            return False
        if session.playable_at is not None:
            return True
        provider = video_provider_get(session.provider)
        if provider.playlist_ready(public_id=session.show.public_id):
            stream_playable_mark(session_id=session_id)
            return True
        if time.monotonic() >= deadline:
            logger.warning("No playlist for session %s after %s s", session_id, timeout)
            return False
        time.sleep(interval)


@transaction.atomic
def stream_take_live(*, show: Show) -> IngestSession:
    """Take the show's backstage stream live: the show goes live for everyone.

    Raises ``ConflictError`` (``no_backstage_stream``) when nothing is backstage.
    If the stream is already playable, viewers get ``video.playable`` at once.
    """
    # Going live locks the channel and the show; both come before the session.
    channel_lock(channel_id=show.channel_id)
    show_lock(show_id=show.pk)
    session = (
        ingest_sessions_qs_select_for_update()
        .filter(show=show, state=IngestSession.State.BACKSTAGE)
        .first()
    )
    if session is None:
        raise ConflictError("No stream is waiting backstage.", code="no_backstage_stream")
    show_go_live(show=show)
    session.state = IngestSession.State.LIVE
    session.save(update_fields=["state"])
    if session.playable_at is not None:
        show_event_append(
            show_id=show.pk,
            type="video.playable",
            data=dict(session_playback_payload(session=session, public_id=show.public_id)),
        )
    channel_now_playing_mark(channel_id=show.channel_id)
    return session


@transaction.atomic
def stream_show_end(*, show: Show) -> Show:
    """End the live show from liveshop and cut its stream.

    Side effect: after commit the publisher is dropped through the media server's
    control endpoint; the ``publish_done`` that follows closes the session.
    """
    ended = show_end(show=show)
    session = IngestSession.objects.filter(show=show).exclude(state="ended").first()
    if session is not None:
        _publisher_drop_on_commit(provider=session.provider, public_id=show.public_id)
    return ended


# --- Recordings -----------------------------------------------------------------


def _recording_failure_report(*, recording: Recording, reason: str) -> None:
    recording.status = Recording.Status.FAILED
    recording.failure_reason = reason[:300]
    recording.save(update_fields=["status", "failure_reason"])
    logger.warning("Recording %s of show %s failed: %s", recording.pk, recording.show_id, reason)
    show_event_append(
        show_id=recording.show_id,
        type="video.recording_failed",
        data={"recording_id": recording.pk, "reason": recording.failure_reason},
        audience=Audience.TEAM,
    )


@transaction.atomic
def recording_register(
    *, provider: str, public_id: str, client_id: str, source: str
) -> Recording | None:
    """Store a finished recording of an accepted session and queue its processing.

    Ignored (``None``) for a client id liveshop never accepted, such as the 0-byte
    file nginx writes for a refused second publisher. A repeated call returns the
    stored recording. A missing or empty file is stored as failed and reported to
    the team (``video.recording_failed``), never published. Side effect: after
    commit, ``recording_process`` is queued.
    """
    # Lock the session, as publish_done does: nginx sends both at once. The
    # recording's foreign keys take FOR KEY SHARE on the show and the session,
    # which the lock order's FOR NO KEY UPDATE locks do not block.
    session = (
        ingest_sessions_qs_select_for_update()
        .filter(show__public_id=public_id, provider=provider, client_id=client_id)
        .filter(accepted=True)
        .first()
    )
    if session is None:
        return None
    recordings = (Path(settings.LIVESHOP_VIDEO_DIR) / "rec").resolve()
    if not Path(source).resolve().is_relative_to(recordings):
        # Only the media server's own recordings become replays, never any other file.
        raise ApplicationError(
            "Recordings must be in the media server's recording folder.",
            code="recording_outside_folder",
        )
    try:
        size = os.path.getsize(source)
    except OSError:
        size = 0
    recording, created = Recording.objects.get_or_create(
        provider=provider,
        source=source,
        defaults={"show_id": session.show_id, "session": session, "size_bytes": size},
    )
    if not created:
        return recording
    if size == 0:
        _recording_failure_report(recording=recording, reason="The recording is empty (0 bytes).")
        return recording
    from video.tasks import recording_process as recording_process_task

    task_enqueue_on_commit(recording_process_task, recording_id=recording.pk)
    return recording


# A claim older than this belongs to a worker that died mid-way; take it over.
RECORDING_CLAIM_SECONDS = 15 * 60


@transaction.atomic
def _recording_claim(*, recording_id: int, now: dt.datetime) -> Recording | None:
    recording = recordings_qs_select_for_update().filter(pk=recording_id).first()
    if recording is None or recording.status in (Recording.Status.READY, Recording.Status.FAILED):
        return None
    stale = now - dt.timedelta(seconds=RECORDING_CLAIM_SECONDS)
    claimed_at = recording.claimed_at
    if (
        recording.status == Recording.Status.PROCESSING
        and claimed_at is not None
        and claimed_at > stale
    ):
        return None
    recording.status = Recording.Status.PROCESSING
    recording.claimed_at = now
    recording.save(update_fields=["status", "claimed_at"])
    return recording


def recording_vod_dir(*, recording_id: int) -> Path:
    return Path(settings.LIVESHOP_VIDEO_DIR) / "vod" / str(recording_id)


def _replay_event_append(*, recording: Recording) -> None:
    # Viewers get a replay once they may see it (show_replay_visible); until
    # then the team alone, and the show's end announces it to everyone.
    visible = show_replay_visible(show=recording.show, is_team=False)
    show_event_append(
        show_id=recording.show_id,
        type="video.replay",
        data=show_replay_payload(recording=recording),
        audience=Audience.PUBLIC if visible else Audience.TEAM,
    )


def show_replay_announce(*, show: Show) -> bool:
    """Announce an ended show's replay to everyone (``video.replay``) if it already has one.

    A ``shows.lifecycle`` end listener (``VideoConfig.ready()``), called inside
    ``show_transition``'s transaction once the show's pins are closed: a premiere's
    video, or a recording that finished processing while the show was still on, was
    announced to the team only. Returns whether it announced.
    """
    if not show_replay_visible(show=show, is_team=False):
        return False
    recording = show_replay_get(show_id=show.pk)
    if recording is None:
        return False
    show_event_append(
        show_id=show.pk,
        type="video.replay",
        data=show_replay_payload(recording=recording),
        audience=Audience.PUBLIC,
    )
    return True


def recording_process(*, recording_id: int, now: dt.datetime | None = None) -> Recording | None:
    """Turn a pending recording into the show's replay: HLS VOD, duration, thumbnail.

    Idempotent: the row is claimed first, and a ready or failed recording (or one
    another worker is processing) is left alone (``None``). A file ffmpeg cannot
    read, or one without video, is marked failed and reported to the team. A good
    one is published as ``video.replay``: to everyone if the show has ended and
    allows replays, else to the team only (a premiere's video before it airs, a
    backstage rehearsal; ``show_replay_announce`` tells everyone at the end).
    ffmpeg runs outside any transaction.
    """
    now = now or timezone.now()
    recording = _recording_claim(recording_id=recording_id, now=now)
    if recording is None:
        return None
    target = recording_vod_dir(recording_id=recording.pk)
    try:
        result = media.vod_build(source=Path(recording.source), target=target)
    except media.MediaError as error:
        shutil.rmtree(target, ignore_errors=True)
        with transaction.atomic():
            recording = recordings_qs_select_for_update().get(pk=recording_id)
            _recording_failure_report(recording=recording, reason=str(error))
        return recording
    with transaction.atomic():
        # The show's row lock orders this against the show's end: whichever commits
        # second sees the other, so everyone hears of the replay exactly once. The
        # show comes before its recording in the lock order.
        show = show_lock(show_id=recording.show_id)
        recording = recordings_qs_select_for_update().select_related("session").get(pk=recording_id)
        recording.show = show
        recording.status = Recording.Status.READY
        recording.duration_seconds = result.duration_seconds
        recording.playlist_path = str(result.playlist)
        recording.thumbnail_path = str(result.thumbnail)
        recording.ready_at = timezone.now()
        recording.save(
            update_fields=[
                "status",
                "duration_seconds",
                "playlist_path",
                "thumbnail_path",
                "ready_at",
            ]
        )
        _replay_event_append(recording=recording)
        # A replay in a rotation starts playing on its channel.
        channel_now_playing_mark(channel_id=recording.show.channel_id)
    return recording


def recordings_unprocessed_list(*, now: dt.datetime | None = None) -> list[int]:
    """Ids of recordings to enqueue again (beat sweep): pending ones a while after they
    were stored, whose task message was lost, and ones whose claim went stale (the
    worker died). ``recording_process`` claims each under its row lock."""
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=RECORDING_CLAIM_SECONDS)
    return list(
        Recording.objects.filter(
            Q(status=Recording.Status.PENDING, created_at__lte=now - SWEEP_GRACE)
            | Q(status=Recording.Status.PROCESSING, claimed_at__lte=stale)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def sessions_unplayable_list(*, now: dt.datetime | None = None) -> list[int]:
    """Ids of open sessions liveshop polls that are not playable a while after they
    started (beat sweep): their ``stream_playable_watch`` message may have been lost,
    or its polling given up before the playlist appeared."""
    now = now or timezone.now()
    return list(
        IngestSession.objects.exclude(state=IngestSession.State.ENDED)
        .filter(
            playable_at__isnull=True,
            provider__in=list(PROVIDERS),
            started_at__lte=now - SWEEP_GRACE,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- Premieres (recorded shows) -------------------------------------------------


@transaction.atomic
def premiere_video_set(*, show: Show, upload: File | None = None, url: str = "") -> Recording:
    """Give a recorded show its video: an uploaded file or the URL of an existing VOD.

    Only for a recorded show that has not aired (draft or scheduled); raises
    ``ConflictError`` otherwise and ``ApplicationError`` for no video or a URL that
    is not http(s). The file is stored under the media folder. Side effect: after
    commit, ``recording_process`` turns it into an HLS VOD as it does recordings;
    the latest video that processed cleanly is the one that airs.
    """
    current = show_lock(show_id=show.pk)
    if current.kind != Show.Kind.RECORDED:
        raise ConflictError("Only recorded shows take a video.", code="not_recorded_show")
    if current.status not in (Show.Status.DRAFT, Show.Status.SCHEDULED):
        raise ConflictError("The premiere has already aired.", code="premiere_aired")
    if upload is not None:
        uploads = Path(settings.LIVESHOP_VIDEO_DIR) / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        suffix = Path(upload.name or "").suffix.lower()[:10]
        target = uploads / f"{current.public_id}-{uuid.uuid4().hex}{suffix}"
        with target.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        provider, source, size = "upload", str(target), target.stat().st_size
    elif url.startswith(("https://", "http://")):
        provider, source, size = "url", url, 0
    else:
        raise ApplicationError("Upload a video file or give an http(s) URL.", code="no_video")
    recording = Recording.objects.create(
        show=current, provider=provider, source=source, size_bytes=size
    )
    from video.tasks import recording_process as recording_process_task

    task_enqueue_on_commit(recording_process_task, recording_id=recording.pk)
    return recording


def _premiere_start(*, show_id: int, now: dt.datetime) -> bool:
    with transaction.atomic():
        # Going live locks the channel, which comes before the show (the lock order).
        channel_lock(channel_id=Show.objects.values_list("channel_id", flat=True).get(pk=show_id))
        show = show_lock(show_id=show_id)
        video = premiere_video_get(show_id=show_id)
        if show.status != Show.Status.SCHEDULED or video is None:
            return False
        try:
            # The tick's moment, which the end and the planned pins are measured
            # from (the real time in production; tests pass their own).
            show = show_go_live(show=show, now=now)
        except ConflictError as error:
            logger.warning("Premiere %s cannot air: %s", show.public_id, error.message)
            return False
        show_event_append(
            show_id=show.pk,
            type="video.playable",
            data={
                **recording_replay_payload(recording=video),
                "playable": True,
                "state": "premiere",
            },
        )
    return True


def premiere_tick(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Air the premieres that are due and end those that are over (beat, every few seconds).

    A recorded show goes live at its scheduled start when its video is ready
    (``show_go_live``: the same ``show.status`` event and system message as a live
    show, then ``video.playable`` with the VOD), and ends when its video has played
    through or its slot is over, whichever comes first, at that moment. While it airs,
    its planned pins fire at their offsets (``premiere_pins_fire``), a late tick
    firing everything that was due before the end first. Idempotent: every step
    re-checks the show's status under its row lock, so overlapping ticks do nothing
    twice. A premiere without a ready video at its start is not aired (logged).
    Returns how many premieres started and ended and how many pins were made.
    """
    now = now or timezone.now()
    recorded = Show.objects.filter(kind=Show.Kind.RECORDED)
    started = ended = pins = 0
    due = recorded.filter(
        status=Show.Status.SCHEDULED, scheduled_start__lte=now, scheduled_end__gt=now
    )
    for show_id in due.values_list("pk", flat=True):
        started += _premiere_start(show_id=show_id, now=now)
    for show in recorded.filter(status=Show.Status.LIVE):
        video = premiere_video_get(show_id=show.pk)
        ends_at = show.scheduled_end
        if video is not None and show.actual_start is not None:
            played = show.actual_start + dt.timedelta(seconds=video.duration_seconds or 0)
            ends_at = min(ends_at, played)
        # A late tick still fires what was due before the end, at its own moment.
        pins += premiere_pins_fire(show_id=show.pk, until=min(now, ends_at), now=now)
        if now >= ends_at:
            with transaction.atomic():
                current = show_lock(show_id=show.pk)
                if current.status == Show.Status.LIVE:
                    show_end(show=current, now=ends_at)
                    ended += 1
    return {"started": started, "ended": ended, "pins": pins}


# --- Planned pins (premieres) ---------------------------------------------------


def _planned_pin_lock_validated(
    *,
    show: Show,
    product_id: int,
    offset_seconds: float,
    duration_seconds: float | None,
    actor: User,
    planned_pin_id: int | None = None,
) -> tuple[Show, int, int | None]:
    """Lock the show and check a plan: the locked show and the offsets in ms."""
    current = show_lock(show_id=show.pk)
    if not show_chat_role(show_id=current.pk, user=actor).can_moderate:
        raise PermissionDeniedError("Only the show's hosts and moderators may plan pins.")
    if current.kind != Show.Kind.RECORDED:
        raise ConflictError(
            "Only premieres have a video to plan pins on.", code="not_recorded_show"
        )
    if current.status not in (Show.Status.DRAFT, Show.Status.SCHEDULED):
        raise ConflictError(
            "The premiere has aired; pin products live instead.", code="premiere_aired"
        )
    if not Product.objects.filter(pk=product_id, is_active=True).exists():
        raise NotFoundError("No active product with this id.", code="product_not_found")
    video = premiere_video_get(show_id=current.pk)
    if video is None or not video.duration_seconds:
        raise ConflictError(
            "Plan pins once the premiere's video is processed (its length is known).",
            code="premiere_video_not_ready",
        )
    offset_ms = round(offset_seconds * 1000)
    if not 0 <= offset_ms < round(video.duration_seconds * 1000):
        raise ApplicationError(
            f"The offset must be within the video (0 to {video.duration_seconds:g} s).",
            code="offset_beyond_video",
            extra={"duration_seconds": video.duration_seconds},
        )
    duration_ms = None if duration_seconds is None else round(duration_seconds * 1000)
    if duration_ms is not None and duration_ms <= 0:
        raise ApplicationError("A duration must be positive.", code="invalid_duration")
    same = PlannedPin.objects.filter(show=current, product_id=product_id, offset_ms=offset_ms)
    if planned_pin_id is not None:
        same = same.exclude(pk=planned_pin_id)
    if same.exists():
        raise ConflictError(
            "This product is already planned at this offset.", code="already_planned"
        )
    return current, offset_ms, duration_ms


@transaction.atomic
def planned_pin_create(
    *,
    show: Show,
    product_id: int,
    offset_seconds: float,
    duration_seconds: float | None = None,
    actor: User,
) -> PlannedPin:
    """Plan a product on a premiere's timeline: it is pinned when the airing video
    reaches ``offset_seconds`` and unpinned ``duration_seconds`` later (none: at the
    end).

    For the show's hosts and moderators and merchandisers (else 403), on a recorded
    show that has not aired and whose video is processed. Locks the show row.
    Refuses, writing nothing: another kind of show (``not_recorded_show``), an aired
    one (``premiere_aired``), a product not active in the catalog
    (``product_not_found``), no processed video (``premiere_video_not_ready``), an
    offset outside the video (``offset_beyond_video``), a duration not positive
    (``invalid_duration``), the same product at the same offset (``already_planned``).
    No event: viewers learn of the pin when it fires.
    """
    current, offset_ms, duration_ms = _planned_pin_lock_validated(
        show=show,
        product_id=product_id,
        offset_seconds=offset_seconds,
        duration_seconds=duration_seconds,
        actor=actor,
    )
    return PlannedPin.objects.create(
        show=current,
        product_id=product_id,
        offset_ms=offset_ms,
        duration_ms=duration_ms,
        created_by=actor,
    )


@transaction.atomic
def planned_pin_update(
    *,
    show: Show,
    planned_pin_id: int,
    product_id: int,
    offset_seconds: float,
    duration_seconds: float | None,
    actor: User,
) -> PlannedPin:
    """Change a planned pin's product, offset or duration; same rules as creating.

    Raises ``NotFoundError`` (``planned_pin_not_found``) for a planned pin of another
    show; refusals write nothing.
    """
    current, offset_ms, duration_ms = _planned_pin_lock_validated(
        show=show,
        product_id=product_id,
        offset_seconds=offset_seconds,
        duration_seconds=duration_seconds,
        actor=actor,
        planned_pin_id=planned_pin_id,
    )
    planned = planned_pins_qs_select_for_update().filter(pk=planned_pin_id, show=current).first()
    if planned is None:
        raise NotFoundError(
            "No planned pin with this id in this show.", code="planned_pin_not_found"
        )
    planned.product_id = product_id
    planned.offset_ms = offset_ms
    planned.duration_ms = duration_ms
    planned.save(update_fields=["product", "offset_ms", "duration_ms"])
    return planned


@transaction.atomic
def planned_pin_delete(*, show: Show, planned_pin_id: int, actor: User) -> None:
    """Take a planned pin off a premiere that has not aired (same people as planning).

    Raises ``PermissionDeniedError``, ``ConflictError`` (``premiere_aired``) or
    ``NotFoundError`` (``planned_pin_not_found``), deleting nothing.
    """
    current = show_lock(show_id=show.pk)
    if not show_chat_role(show_id=current.pk, user=actor).can_moderate:
        raise PermissionDeniedError("Only the show's hosts and moderators may plan pins.")
    if current.status not in (Show.Status.DRAFT, Show.Status.SCHEDULED):
        raise ConflictError("The premiere has aired; its plan is kept.", code="premiere_aired")
    deleted, _ = PlannedPin.objects.filter(pk=planned_pin_id, show=current).delete()
    if not deleted:
        raise NotFoundError(
            "No planned pin with this id in this show.", code="planned_pin_not_found"
        )


_PIN_END, _PIN_START = 0, 1


def premiere_pins_fire(*, show_id: int, until: dt.datetime, now: dt.datetime) -> int:
    """Fire the airing premiere's planned pins that are due by ``until``, in order.

    Each fires through ``show_product_pin`` at its own moment (actual start plus
    offset), so viewers get ``product.pinned`` and the pin records the planned
    offset even when the tick comes late; one with a duration is unpinned the same
    way (``product.unpinned``) when that is due, ends before starts at one moment.
    A pin the show refuses (already pinned by hand, the pin limit) is marked
    ``skipped`` with the code. Idempotent: the show row is locked and each planned
    pin is fired once (its status, and a unique ``pin``), however many ticks run.
    Returns how many pins this call made. ``now`` is the tick's time (``fired_at``).
    """
    with transaction.atomic():
        show = show_lock(show_id=show_id)
        if show.status != Show.Status.LIVE or show.actual_start is None:
            return 0
        elapsed_ms = (until - show.actual_start) // dt.timedelta(milliseconds=1)
        planned = planned_pins_qs_select_for_update().filter(show=show)
        queue = [
            (item.offset_ms, _PIN_START, item.pk, item)
            for item in planned.filter(status=PlannedPin.Status.PLANNED, offset_ms__lte=elapsed_ms)
        ]
        queue += [
            (item.offset_ms + item.duration_ms, _PIN_END, item.pk, item)
            for item in planned.filter(
                status=PlannedPin.Status.PINNED,
                duration_ms__isnull=False,
                pin__unpinned_at__isnull=True,
            )
            if item.duration_ms is not None  # always, by the filter; it narrows the type
        ]
        heapq.heapify(queue)
        made = 0
        while queue:
            moment_ms, step, _, item = heapq.heappop(queue)
            if moment_ms > elapsed_ms:
                continue
            at = show.actual_start + dt.timedelta(milliseconds=moment_ms)
            if step == _PIN_END:
                # A pinned plan has its pin (the end queue holds only those).
                pin_id = item.pin_id
                if (
                    pin_id is not None
                    and ShowPin.objects.filter(pk=pin_id, unpinned_at__isnull=True).exists()
                ):
                    show_product_unpin(show=show, pin_id=pin_id, actor=None, now=at)
                continue
            try:
                item.pin = show_product_pin(
                    show=show, product_id=item.product_id, actor=None, now=at
                )
            except ApplicationError as error:
                item.status, item.skip_reason = PlannedPin.Status.SKIPPED, error.code
                logger.info("Planned pin %s of show %s skipped: %s", item.pk, show_id, error.code)
            else:
                item.status = PlannedPin.Status.PINNED
                made += 1
                if item.duration_ms is not None:
                    end = item.offset_ms + item.duration_ms
                    heapq.heappush(queue, (end, _PIN_END, item.pk, item))
            item.fired_at = now
            item.save(update_fields=["status", "skip_reason", "pin", "fired_at"])
    return made


# --- Hosted providers (Mux, IVS) ----------------------------------------------------


@transaction.atomic
def recording_hosted_register(*, provider: str, event: VideoEvent) -> Recording | None:
    """A hosted provider's recording is ready as a VOD: it becomes the show's replay.

    Nothing to process: the provider serves it. Idempotent on the provider's
    recording id; a repeat returns the stored recording and sends nothing.
    """
    # Locked as in recording_process: ordered against the show's end.
    show_id = Show.objects.filter(public_id=event.public_id).values_list("pk", flat=True).first()
    if show_id is None:
        return None
    show = show_lock(show_id=show_id)
    session = IngestSession.objects.filter(
        show=show, provider=provider, client_id=event.session_id
    ).first()
    recording, created = Recording.objects.get_or_create(
        provider=provider,
        source=event.recording_ref,
        defaults={
            "show": show,
            "session": session,
            "status": Recording.Status.READY,
            "playback_url": event.playback_url,
            "thumbnail_url": event.thumbnail_url,
            "duration_seconds": event.duration_seconds,
            "ready_at": timezone.now(),
        },
    )
    if created:
        _replay_event_append(recording=recording)
        channel_now_playing_mark(channel_id=show.channel_id)
    return recording


def video_event_apply(*, provider: str, event: VideoEvent) -> str:
    """Apply one normalized provider event; returns what happened, for the webhook's answer.

    Refusals (a show outside its window, a session that already ended) change
    nothing and are answered as outcomes, not errors: the provider must not retry.
    """
    try:
        if event.kind == VideoEventKind.STARTED:
            started = stream_started(
                provider=provider,
                public_id=event.public_id,
                client_id=event.session_id,
                playback_url=event.playback_url,
            )
            return f"started:{started.state}"
        if event.kind == VideoEventKind.PLAYABLE:
            session = IngestSession.objects.filter(
                show__public_id=event.public_id, provider=provider, client_id=event.session_id
            ).first()
            if session is None:
                return "ignored:no_session"
            marked = stream_playable_mark(session_id=session.pk)
            return "playable" if marked else "playable:unchanged"
        if event.kind == VideoEventKind.ENDED:
            ended = stream_publish_end(
                provider=provider, public_id=event.public_id, client_id=event.session_id
            )
            return "ignored:no_show" if ended is None else "ended"
        if event.kind == VideoEventKind.RECORDING_READY:
            recording = recording_hosted_register(provider=provider, event=event)
            return "ignored:no_show" if recording is None else "recording_ready"
    except ApplicationError as error:
        return f"refused:{error.code}"
    return "ignored"


# --- The 24/7 channel ---------------------------------------------------------------


@transaction.atomic
def channel_rotation_set(*, channel: Channel, shows: list[Show]) -> list[ChannelRotationEntry]:
    """Replace the channel's rotation with ``shows``, in this order.

    Every show must belong to the channel and allow replays; otherwise
    ``ApplicationError`` and nothing changes. The channel row is locked so two
    merchandisers saving at once do not interleave their lists. If what the channel
    plays changes, its sockets are told after commit (``channel_now_playing_sync``).
    """
    channel_lock(channel_id=channel.pk)
    wrong = [show.public_id for show in shows if show.channel_id != channel.pk]
    no_replay = [show.public_id for show in shows if not show.replay_allowed]
    if wrong or no_replay or len({show.pk for show in shows}) != len(shows):
        raise ApplicationError(
            "The rotation takes each show of this channel that allows replays once.",
            code="invalid_rotation",
            extra={"other_channel": wrong, "replay_not_allowed": no_replay},
        )
    ChannelRotationEntry.objects.filter(channel=channel).delete()
    entries = ChannelRotationEntry.objects.bulk_create(
        ChannelRotationEntry(channel=channel, show=show, position=index)
        for index, show in enumerate(shows)
    )
    channel_now_playing_sync(channel_id=channel.pk)
    return entries


def channel_now_playing_sync(*, channel_id: int, now: dt.datetime | None = None) -> bool:
    """Announce what the channel plays if it changed since the last announcement.

    Computes now-playing as anyone sees it and compares its item (``channel_air_key``)
    with the one last announced, under the lock of the channel's ``ChannelAir`` row:
    concurrent calls announce a change once. A change bumps ``version`` and, after
    commit, publishes one ``now_playing`` frame on the channel's topic (one Redis
    PUBLISH; every server process writes it to its sockets of the channel). Joins the
    caller's transaction if there is one. Returns whether it announced. Domain writes
    call ``channel_now_playing_mark`` instead; the tick and the rotation call this.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ChannelAir.objects.bulk_create([ChannelAir(channel_id=channel_id)], ignore_conflicts=True)
        air = channel_air_lock(channel_id=channel_id)
        playing = channel_now_playing_get(channel=air.channel, user=AnonymousUser(), now=now)
        wire = now_playing_json(playing=playing)
        key = channel_air_key(wire=wire)
        # Only a replay slot is known to end at a set moment; the rest is checked each tick.
        changes_at = playing["ends_at"] if playing["kind"] == "replay" else None
        if key == air.key:
            if air.changes_at != changes_at:
                air.changes_at = changes_at
                air.save(update_fields=["changes_at"])
            return False
        air.key = key
        air.version += 1
        air.changes_at = changes_at
        air.published_at = now
        air.save(update_fields=["key", "version", "changes_at", "published_at"])
        payload = orjson.dumps(channel_air_frame(version=air.version, wire=wire))
        transaction.on_commit(
            functools.partial(
                broker.broker_topic_publish,
                topic=broker.channel_topic(channel_id),
                payload=payload,
            )
        )
        return True


def channel_now_playing_mark(*, channel_id: int) -> None:
    """Have the channel's now-playing announced after commit, if it changed by then.

    For writes that may change what a channel plays (a show going live or ending, a
    stream published, playable or ended, a replay ready). The sync runs once the
    caller's transaction commits, so it computes the final state: one write that
    changes the channel twice (a publish takes the show live, then opens its session)
    bumps ``version`` once and publishes one frame. Later syncs of the same commit find
    nothing new under the ``ChannelAir`` lock and publish nothing; a rolled-back write
    announces nothing. Outside a transaction the sync runs at once.
    """
    transaction.on_commit(functools.partial(channel_now_playing_sync, channel_id=channel_id))


def channel_now_playing_on_transition(*, show: Show) -> None:
    """A ``shows.lifecycle`` transition listener (``VideoConfig.ready()``): a show going
    live or ending changes what its channel plays."""
    channel_now_playing_mark(channel_id=show.channel_id)


def channel_now_playing_tick(*, now: dt.datetime | None = None) -> int:
    """Announce the channels whose now-playing changed (beat job, every few seconds).

    A channel on a rotation replay is checked once its slot is over; the others
    every tick, which also catches what no service announces (a premiere's slot
    beginning, a title edited, a replay finished processing). Idempotent. Returns how many channels
    announced a change.
    """
    now = now or timezone.now()
    later = ChannelAir.objects.filter(changes_at__gt=now).values_list("channel_id", flat=True)
    announced = 0
    for channel_id in Channel.objects.exclude(pk__in=later).values_list("pk", flat=True):
        announced += channel_now_playing_sync(channel_id=channel_id, now=now)
    return announced
