"""The 24/7 channel: what a channel plays now and its whole day's programme.

A channel plays its live show if any (a premiere on air is live too), else a
premiere whose slot has begun, else the replays of its rotation, one after the
other. The rotation runs continuously from the channel's local midnight and
scheduled shows cut into it, so "now playing" and the day's programme always
agree. Reads only; ``video.services.channel_rotation_set`` writes the rotation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import TypedDict

import orjson
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from liveshop.accounts.types import Viewer
from liveshop.common.exceptions import NotFoundError
from shows.models import Channel, Show
from shows.selectors import show_listed_list
from shows.timezones import channel_time, channel_zone
from video.models import ChannelAir, ChannelRotationEntry, Recording
from video.selectors import (
    Playback,
    premiere_video_get,
    recording_replay_payload,
    show_playback_get,
    show_replay_get,
    show_replay_payload,
    show_replay_visible,
)
from video.wire import AirKind, now_playing_json


@dataclasses.dataclass(frozen=True)
class RotationItem:
    show: Show
    recording: Recording
    seconds: float


def channel_rotation_items(*, channel: Channel) -> list[RotationItem]:
    """The rotation's playable replays in order; shows without a replay are skipped.

    The channel plays to everyone: a show whose replay viewers may not see yet (a
    premiere that has not aired) is skipped too.
    """
    items = []
    entries = ChannelRotationEntry.objects.filter(channel=channel).select_related("show")
    for entry in entries:
        if entry.show.is_private or entry.show.is_test:
            continue
        if not show_replay_visible(show=entry.show, is_team=False):
            continue
        recording = show_replay_get(show_id=entry.show_id)
        seconds = None if recording is None else recording.duration_seconds
        if recording is not None and seconds is not None and seconds > 0:
            items.append(RotationItem(entry.show, recording, seconds))
    return items


def _day_start(*, channel: Channel, moment: dt.datetime) -> dt.datetime:
    local = channel_time(moment, channel)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _rotation_at(
    *, items: list[RotationItem], day_start: dt.datetime, moment: dt.datetime
) -> tuple[RotationItem, float, dt.datetime]:
    """The item playing at ``moment``, how far into it, and when it ends."""
    cycle = sum(item.seconds for item in items)
    cycles, position = divmod((moment - day_start).total_seconds(), cycle)
    begins = 0.0
    for item in items:
        if position < begins + item.seconds:
            # The end from the day's start, not from ``moment``: every moment of one
            # slot gives the very same end (the socket's change detection relies on it).
            ends_at = day_start + dt.timedelta(seconds=cycles * cycle + begins + item.seconds)
            return item, position - begins, ends_at
        begins += item.seconds
    raise AssertionError("position beyond the cycle")  # unreachable: position < cycle


class ShowBrief(TypedDict):
    public_id: str
    title: str
    status: str


class NowPlaying(TypedDict):
    """The now-playing object (docs/video.md, "24/7 channel"), before rendering."""

    kind: AirKind
    show: ShowBrief | None
    # A live show's playback object; a premiere's or replay's video, playable.
    playback: Playback | dict | None
    offset_seconds: float
    ends_at: dt.datetime | None


class ProgrammeSlot(TypedDict):
    kind: AirKind
    starts_at: dt.datetime
    ends_at: dt.datetime
    show: ShowBrief | None
    offset_seconds: float


def _show_brief(show: Show) -> ShowBrief:
    return {"public_id": show.public_id, "title": show.title, "status": show.status}


def channel_now_playing_get(
    *, channel: Channel, user: Viewer, now: dt.datetime | None = None
) -> NowPlaying:
    """What ``channel`` plays at ``now`` for ``user`` (docs/video.md, "24/7 channel")."""

    now = now or timezone.now()
    shows = show_listed_list(user=user).filter(channel=channel)
    live = shows.filter(status=Show.Status.LIVE).first()
    if live is not None:
        return {
            "kind": "premiere" if live.kind == Show.Kind.RECORDED else "live",
            "show": _show_brief(live),
            "playback": show_playback_get(show=live, is_team=False),
            "offset_seconds": (now - live.actual_start).total_seconds() if live.actual_start else 0,
            "ends_at": live.scheduled_end,
        }
    premiere = shows.filter(
        kind=Show.Kind.RECORDED,
        status=Show.Status.SCHEDULED,
        scheduled_start__lte=now,
        scheduled_end__gt=now,
    ).first()
    video = None if premiere is None else premiere_video_get(show_id=premiere.pk)
    if premiere is not None and video is not None:
        return {
            "kind": "premiere",
            "show": _show_brief(premiere),
            "playback": {**recording_replay_payload(recording=video), "playable": True},
            "offset_seconds": (now - premiere.scheduled_start).total_seconds(),
            "ends_at": premiere.scheduled_end,
        }
    items = channel_rotation_items(channel=channel)
    if not items:
        return {
            "kind": "off_air",
            "show": None,
            "playback": None,
            "offset_seconds": 0,
            "ends_at": None,
        }
    item, offset, ends_at = _rotation_at(
        items=items, day_start=_day_start(channel=channel, moment=now), moment=now
    )
    return {
        "kind": "replay",
        "show": _show_brief(item.show),
        # With the replay's pins: a 24/7 player stays shoppable too.
        "playback": {**show_replay_payload(recording=item.recording), "playable": True},
        "offset_seconds": round(offset, 3),
        "ends_at": ends_at,
    }


def channel_air_key(*, wire: dict) -> str:
    """What plays, not how far into it: equal keys mean the channel plays the same item.

    ``wire`` is the rendered now-playing object; only ``offset_seconds`` moves with
    the clock (a replay slot's ``ends_at`` is the same at every moment of the slot).
    """
    item = {key: value for key, value in wire.items() if key != "offset_seconds"}
    return hashlib.sha256(orjson.dumps(item, option=orjson.OPT_SORT_KEYS)).hexdigest()


def channel_air_frame(*, version: int, wire: dict) -> dict:
    """The channel socket's ``now_playing`` frame (docs/protocol.md, section 10)."""
    return {"type": "now_playing", "version": version, "now_playing": wire}


@dataclasses.dataclass(frozen=True)
class ChannelAirSnapshot:
    channel_id: int
    topic_version: int
    frame: dict


def channel_air_snapshot(*, slug: str, now: dt.datetime | None = None) -> ChannelAirSnapshot:
    """The frame a channel socket starts with: now-playing as anyone sees it, and its version.

    The version is read before now-playing is computed, so a change committed in
    between reaches the socket as a newer frame instead of being lost. Raises
    ``NotFoundError`` for an unknown channel.
    """
    channel = Channel.objects.filter(slug=slug).first()
    if channel is None:
        raise NotFoundError("No channel with this slug.")
    version = ChannelAir.objects.filter(channel=channel).values_list("version", flat=True).first()
    version = version or 0
    playing = channel_now_playing_get(channel=channel, user=AnonymousUser(), now=now)
    wire = now_playing_json(playing=playing)
    return ChannelAirSnapshot(channel.pk, version, channel_air_frame(version=version, wire=wire))


def channel_air_frame_newer(*, channel_id: int, version: int) -> bytes | None:
    """The channel socket's current ``now_playing`` frame, encoded, if the channel
    announced a version past ``version``; else None (one query).

    For a server process whose broker did not bring an announcement: one made by
    the Celery worker in embedded mode, or published while Redis was down.
    """
    current = (
        ChannelAir.objects.filter(channel_id=channel_id).values_list("version", flat=True).first()
    )
    if current is None or current <= version:
        return None
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:
        return None
    playing = channel_now_playing_get(channel=channel, user=AnonymousUser())
    wire = now_playing_json(playing=playing)
    return orjson.dumps(channel_air_frame(version=current, wire=wire))


def channel_programme_get(*, channel: Channel, user: Viewer, day: dt.date) -> list[ProgrammeSlot]:
    """The channel's programme for its local ``day``: scheduled shows, replays in the gaps.

    Slots are in time order and cover the day; a gap is empty (``off_air``) only
    when the rotation has no replay to play.
    """
    zone = channel_zone(channel)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    scheduled = list(
        show_listed_list(user=user)
        .filter(channel=channel, scheduled_start__lt=end, scheduled_end__gt=start)
        .exclude(status=Show.Status.CANCELLED)
        .order_by("scheduled_start")
    )
    items = channel_rotation_items(channel=channel)
    slots: list[ProgrammeSlot] = []
    cursor = start
    for show in [*scheduled, None]:
        gap_end = end if show is None else max(cursor, min(show.scheduled_start, end))
        slots += _rotation_slots(items=items, day_start=start, begin=cursor, end=gap_end)
        if show is None:
            break
        slot_end = min(max(show.scheduled_end, cursor), end)
        slots.append(
            {
                "kind": "premiere" if show.kind == Show.Kind.RECORDED else "live",
                "starts_at": max(show.scheduled_start, start),
                "ends_at": slot_end,
                "show": _show_brief(show),
                "offset_seconds": 0,
            }
        )
        cursor = max(cursor, slot_end)
    return slots


def _rotation_slots(
    *, items: list[RotationItem], day_start: dt.datetime, begin: dt.datetime, end: dt.datetime
) -> list[ProgrammeSlot]:
    if begin >= end:
        return []
    if not items:
        return [
            {
                "kind": "off_air",
                "starts_at": begin,
                "ends_at": end,
                "show": None,
                "offset_seconds": 0,
            }
        ]
    slots: list[ProgrammeSlot] = []
    moment = begin
    while moment < end:
        item, offset, item_end = _rotation_at(items=items, day_start=day_start, moment=moment)
        slot_end = min(item_end, end)
        slots.append(
            {
                "kind": "replay",
                "starts_at": moment,
                "ends_at": slot_end,
                "show": _show_brief(item.show),
                "offset_seconds": round(offset, 3),
            }
        )
        moment = slot_end
    return slots
