"""The channel socket: a channel's ``now_playing`` as it changes (docs/protocol.md, 10).

A ``realtime.consumers.TopicConsumer``: it names the channel's topic and how its feed reads
a frame no broker brought, and gives the snapshot; the topic feed writes the changes.
"""

from __future__ import annotations

import functools

from liveshop.common.exceptions import NotFoundError
from realtime import broker
from realtime.consumers import (
    CLOSE_NOT_FOUND,
    CLOSE_ORIGIN,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHENTICATED,
    TopicConsumer,
    TopicTarget,
)
from shows.selectors import channel_get
from video.channels import channel_air_frame_newer, channel_air_snapshot

# The show socket's codes; 4004 names the channel.
CLOSE_REASONS = {
    CLOSE_UNAUTHENTICATED: "unauthenticated",
    CLOSE_ORIGIN: "origin_not_allowed",
    CLOSE_NOT_FOUND: "channel_not_found",
    CLOSE_POLICY: "policy_violation",
    CLOSE_TOO_SLOW: "too_slow",
    CLOSE_TOO_BIG: "message_too_big",
}


def _frame_newer(channel_id: int, version: int) -> bytes | None:
    return channel_air_frame_newer(channel_id=channel_id, version=version)


class ChannelNowPlayingConsumer(TopicConsumer):
    close_reasons = CLOSE_REASONS
    unknown_type_detail = "Unknown frame type; the channel socket takes ping."

    def _slug(self) -> str:
        return self.scope["url_route"]["kwargs"]["slug"]

    def topic_for(self) -> TopicTarget | None:
        channel = channel_get(slug=self._slug())
        if channel is None:
            return None
        # What the broker does not bring (the Celery worker's announcements in embedded
        # mode, those published while Redis was down) is read from the channel's ChannelAir.
        return TopicTarget(
            topic=broker.channel_topic(channel.pk),
            catch_up=functools.partial(_frame_newer, channel.pk),
        )

    def snapshot_for(self) -> tuple[dict, int] | None:
        try:
            snapshot = channel_air_snapshot(slug=self._slug())
        except NotFoundError:
            return None  # deleted while connecting
        return snapshot.frame, snapshot.topic_version
