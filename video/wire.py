"""The channel's now-playing object on the wire: one shape for REST and the channel socket."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

import orjson
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer


class ShowBriefSerializer(serializers.Serializer):
    public_id = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()


# What a channel plays: its live show, a premiere airing, a rotation replay, or nothing.
AirKind = Literal["live", "premiere", "replay", "off_air"]
AIR_KINDS: tuple[AirKind, ...] = get_args(AirKind)


class NowPlayingSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AIR_KINDS)
    show = ShowBriefSerializer(allow_null=True)
    playback = serializers.DictField(allow_null=True)
    offset_seconds = serializers.FloatField()
    ends_at = serializers.DateTimeField(allow_null=True)


def now_playing_json(*, playing: Mapping[str, object]) -> dict:
    """``playing`` (``channel_now_playing_get``) exactly as the REST endpoint renders it."""
    return orjson.loads(JSONRenderer().render(NowPlayingSerializer(playing).data))
