"""The channel socket: a channel's ``now_playing`` as it changes (docs/protocol.md, 10).

Connect: identify (``realtime.auth``, as on the show socket), find the channel, join the
process's feed of the channel's topic (subscribe before reading), send the snapshot,
go live. Changes never pass through this class: the topic feed writes them.
"""

from __future__ import annotations

import functools

from channels.db import database_sync_to_async

from liveshop.common.exceptions import NotFoundError
from realtime import broker
from realtime.consumers import (
    CLOSE_NOT_FOUND,
    CLOSE_ORIGIN,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHENTICATED,
    GuardedSocketConsumer,
)
from realtime.hub import HubConnection
from realtime.topics import topic_feeds_get
from realtime.wire import frame_encode
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


class ChannelNowPlayingConsumer(GuardedSocketConsumer):
    # No channel layer: changes come through the process's topic feed (realtime.topics).
    close_reasons = CLOSE_REASONS
    channel_layer_alias = "liveshop-channel-socket-has-no-layer"

    async def connect(self) -> None:
        self.topic: str | None = None
        self.connection: HubConnection | None = None
        if not await self.accept_checked():
            return
        slug = self.scope["url_route"]["kwargs"]["slug"]
        channel = await database_sync_to_async(channel_get)(slug=slug)
        if channel is None:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        user = self.scope_user()
        user_id = user.pk if user.is_authenticated else None
        self.connection = HubConnection(
            send=self.base_send,
            close=self.refuse,
            user_id=user_id,
            is_team=False,
            viewer_key="",
        )
        self.topic = broker.channel_topic(channel.pk)
        feeds = topic_feeds_get()
        # What the broker does not bring (the Celery worker's announcements in
        # embedded mode, those published while Redis was down) is read from the
        # channel's ChannelAir row.
        catch_up = functools.partial(_frame_newer, channel.pk)
        feed = await feeds.join(self.topic, self.connection, catch_up=catch_up)
        try:
            snapshot = await database_sync_to_async(channel_air_snapshot)(slug=slug)
        except NotFoundError:
            # Deleted while connecting.
            await self.refuse(CLOSE_NOT_FOUND)
            return
        await self.send(frame_encode(snapshot.frame))
        feed.activate(self.connection, floor=snapshot.topic_version)

    async def disconnect(self, code: int) -> None:
        if self.connection is not None and self.topic is not None:
            await topic_feeds_get().leave(self.topic, self.connection)

    async def frame_handle(self, frame: dict) -> None:
        if frame.get("type") == "ping":
            await self.send(frame_encode({"type": "pong"}))
        else:
            await self.error_send(
                "unknown_type", "Unknown frame type; the channel socket takes ping."
            )
