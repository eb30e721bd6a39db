"""The per-process fan-out hub: one subscription per room, one encode per frame.

Each server process (event loop) has one ``Hub``. A socket joins the ``RoomFeed`` of
its room; the feed holds the process's single broker subscription for that room,
puts the events it receives in seq order (fetching from the durable log any seq the
broker lost), coalesces them into one ``batch`` frame per window, encodes that frame
once per audience and hands the same text to every socket's ASGI ``send``. A socket
that cannot keep up gets its frames queued, then is closed (4009) so it resumes
instead of holding up the others. Channels' per-consumer dispatch is bypassed for
broadcasts: measured, it costs more than everything else together (docs/realtime.md).
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast

import orjson
from channels.db import database_sync_to_async
from django.conf import settings

from realtime import broker, log, presence, stats
from realtime.coalescing import window_next
from realtime.rooms import RoomRef

logger = logging.getLogger("liveshop.realtime")

PUBLIC = "public"
TEAM = "team"
USER = "user"

JOINING = 0
LIVE = 1
CLOSED = 2

GAP_WAIT_SECONDS = 0.15
# With Redis, each room's log is also read every few seconds: a publish that failed
# while this process's subscription stayed up (the writer lost Redis, not this
# process) would otherwise wait for the room's next event.
LOG_CHECK_TICKS = 5
# docs/protocol.md, 1.2: the client did not read fast enough.
CLOSE_TOO_SLOW = 4009
# Sockets written per loop turn during a flush (see RoomFeed._flush_part).
FLUSH_PART_SOCKETS = settings.LIVESHOP_FANOUT_PART_SOCKETS


class HubConnection:
    """What the hub knows about one socket."""

    __slots__ = (
        "send",
        "close",
        "user_id",
        "is_team",
        "viewer_key",
        "state",
        "floor",
        "buffer",
        "inflight",
        "backlog",
        "backlog_bytes",
        "__weakref__",
    )

    def __init__(
        self,
        *,
        # The ASGI send of the socket (its events are dicts; asgiref types each kind).
        send: Callable[[Any], Awaitable[None]],
        close: Callable[[int], Awaitable[None]],
        user_id: int | None,
        is_team: bool,
        viewer_key: str,
    ) -> None:
        self.send = send
        self.close = close
        self.user_id = user_id
        self.is_team = is_team
        self.viewer_key = viewer_key
        self.state = JOINING
        self.floor = 0
        self.buffer: list[dict] = []
        self.inflight: asyncio.Future | None = None
        self.backlog: collections.deque[str] = collections.deque()
        self.backlog_bytes = 0

    def sees(self, event: dict) -> bool:
        audience = event["aud"]
        if audience == PUBLIC or self.is_team:
            return True
        return audience == USER and event["uid"] == self.user_id

    def push(self, text: str) -> None:
        """Write ``text`` now if the socket takes it, else queue it; never wait."""
        if self.state == CLOSED:
            return
        if self.inflight is not None:
            self.backlog.append(text)
            self.backlog_bytes += len(text)
            if self.backlog_bytes > settings.LIVESHOP_WS_MAX_BACKLOG_BYTES:
                self.overflow()
            return
        # ASGI servers' send is a coroutine function; asgiref only promises an Awaitable.
        coroutine = cast(
            Coroutine[Any, Any, None], self.send({"type": "websocket.send", "text": text})
        )
        try:
            # Drive the send by hand: on a socket with room in its buffer the ASGI
            # server's send finishes without suspending, so no task is created.
            yielded = coroutine.send(None)
        except StopIteration:
            return
        except Exception as error:
            self._fail(error)
            return
        self.inflight = asyncio.ensure_future(self._finish(coroutine, yielded))

    async def _finish(self, coroutine: Coroutine[Any, Any, None], yielded: Any) -> None:
        """Drive a send that suspended (the socket's buffer is full) to its end, then
        write what was queued meanwhile."""
        try:
            while True:
                if yielded is None:
                    await asyncio.sleep(0)
                else:
                    # The send suspended on a future, which marked it as "blocking" for
                    # the task that would wait for it. No task took it (push drove the
                    # send by hand), so this one does as a task would: clear the mark,
                    # then wait. Awaiting it with the mark still set raises
                    # RuntimeError("await wasn't used with future").
                    yielded._asyncio_future_blocking = False
                    await yielded
                yielded = coroutine.send(None)
        except StopIteration:
            pass
        except Exception as error:
            self.inflight = None
            self._fail(error)
            return
        try:
            while self.backlog and self.state != CLOSED:
                text = self.backlog.popleft()
                self.backlog_bytes -= len(text)
                await self.send({"type": "websocket.send", "text": text})
        except Exception as error:
            self._fail(error)
        finally:
            self.inflight = None

    def _fail(self, error: Exception) -> None:
        """A send failed: stop writing to the socket and close it, never leave it open.

        Most often the client is gone (an ``OSError``; the close is then a no-op).
        Anything else is a bug, and marking the socket closed without closing it
        would leave one that answers pings and never gets another event.
        """
        if self.state == CLOSED:
            return
        level = logging.INFO if isinstance(error, OSError) else logging.WARNING
        logger.log(level, "closing a socket whose send failed: %r", error)
        self._close(CLOSE_TOO_SLOW)

    def overflow(self) -> None:
        logger.info("closing a socket that fell %s bytes behind", self.backlog_bytes)
        self._close(CLOSE_TOO_SLOW)

    def _close(self, code: int) -> None:
        self.state = CLOSED
        self.backlog.clear()
        self.backlog_bytes = 0
        asyncio.ensure_future(self._close_quietly(code))

    async def _close_quietly(self, code: int) -> None:
        # The close waits until the socket takes it (after what its buffer holds).
        try:
            await self.close(code)
        except Exception:
            logger.debug("closing a socket failed; it is gone", exc_info=True)


class _Flush:
    """One batch frame on its way to the sockets of a room, part by part."""

    __slots__ = ("events", "connections", "position", "frames", "restricted")

    def __init__(self, events: list[dict], connections: list[HubConnection]) -> None:
        self.events = events
        self.connections = connections
        self.position = 0
        # One encoded frame per audience class, shared by every part.
        self.frames: dict[object, str | None] = {}
        self.restricted = any(event["aud"] != PUBLIC for event in events)


def _client_event(event: dict) -> dict:
    return {"seq": event["seq"], "type": event["type"], "data": event["data"]}


def batch_frame_encode(events: list[dict], seq: int) -> str:
    return orjson.dumps(
        {"type": "batch", "seq": seq, "events": [_client_event(event) for event in events]}
    ).decode()


class RoomFeed:
    """One room's stream in this process: ordering, gap repair, coalescing, fan-out."""

    def __init__(self, hub: Hub, room: RoomRef) -> None:
        self.hub = hub
        self.room = room
        self.connections: set[HubConnection] = set()
        self.delivered_seq: int | None = None
        self.held: dict[int, dict] = {}
        self.outbox: list[dict] = []
        self.flush_handle: asyncio.Handle | None = None
        self.gap_task: asyncio.Task | None = None
        self.last_flush = 0.0
        self.window = settings.LIVESHOP_FANOUT_WINDOW_MS / 1000
        self.ready: asyncio.Future | None = None
        self.reaction_taps: collections.Counter[str] = collections.Counter()
        self.reaction_totals: collections.Counter[str] = collections.Counter()
        self.viewers = 0
        self.peak = 0

    async def ensure_ready(self) -> None:
        """Subscribe once, then take the log position every later event follows."""
        if self.ready is None:
            self.ready = asyncio.get_running_loop().create_future()
            try:
                await self.hub.subscriber.subscribe(self.room)
                state = await database_sync_to_async(log.room_state)(room=self.room)
                self.peak = state.peak_viewers
                self.delivered_seq = state.last_seq
                self._release_held()
                self.ready.set_result(None)
            except BaseException as error:
                self.ready.set_exception(error)
                ready, self.ready = self.ready, None
                ready.exception()
                raise
        await asyncio.shield(self.ready)

    # -- receiving -----------------------------------------------------------------

    def receive(self, event: dict) -> None:
        seq = event["seq"]
        if self.delivered_seq is None:
            self.held[seq] = event
            return
        if seq <= self.delivered_seq or seq in self.held:
            return
        self.held[seq] = event
        self._release_held()
        if self.held and self.gap_task is None:
            self.gap_task = asyncio.get_running_loop().create_task(
                self._repair_gap(), context=contextvars.Context()
            )

    def _release_held(self) -> None:
        delivered = self.delivered_seq
        if delivered is None:
            return  # not ready: events stay held until the log position is known
        for stale in [seq for seq in self.held if seq <= delivered]:
            del self.held[stale]
        released = False
        while (delivered + 1) in self.held:
            delivered += 1
            self.outbox.append(self.held.pop(delivered))
            released = True
        self.delivered_seq = delivered
        if released:
            self._schedule_flush()

    async def _repair_gap(self) -> None:
        """Wait briefly for a late event, then fetch what is still missing from the log."""
        try:
            await asyncio.sleep(GAP_WAIT_SECONDS)
            # A gap is only seen once the feed is ready, so the position is known.
            while self.held and self.delivered_seq is not None:
                first_held = min(self.held)
                missing = await database_sync_to_async(log.events_after)(
                    room=self.room, after=self.delivered_seq, before=first_held
                )
                if missing:
                    logger.info("%s: fetched %s events the broker lost", self.room, len(missing))
                for event in missing:
                    self.held.setdefault(event["seq"], event)
                before = self.delivered_seq
                self._release_held()
                if self.delivered_seq == before:
                    # The log has no row for the next seq yet (its writer has not
                    # committed); try again shortly.
                    await asyncio.sleep(GAP_WAIT_SECONDS)
        finally:
            self.gap_task = None

    async def log_catch_up(self) -> None:
        """Receive what the log holds after the last delivered event (one query).

        For events no broker carried to this process (a Celery worker's in
        embedded mode, a publish that failed while Redis was down); what did
        arrive is skipped by ``receive``, so running it any time is harmless.
        """
        if self.delivered_seq is None or self.gap_task is not None:
            return
        written = await database_sync_to_async(log.events_after)(
            room=self.room, after=self.delivered_seq
        )
        for event in written:
            self.receive(event)

    # -- sending -------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if self.flush_handle is not None:
            return
        loop = asyncio.get_running_loop()
        due = self.last_flush + self.window
        if loop.time() >= due:
            # Quiet until now: send at once (after the events of this loop turn).
            self.flush_handle = loop.call_soon(self.flush)
        else:
            self.flush_handle = loop.call_at(due, self.flush)

    def flush(self) -> None:
        self.flush_handle = None
        events, self.outbox = self.outbox, []
        if not events:
            return
        self.last_flush = asyncio.get_running_loop().time()
        self._flush_part(_Flush(events, list(self.connections)))

    def _flush_part(self, flush: _Flush) -> None:
        """Write ``flush``'s frame to its next ``FLUSH_PART_SOCKETS`` sockets.

        A flush to thousands of sockets is cut into parts, one per loop turn, so the
        loop reads incoming frames, finishes database calls and receives events in
        between instead of waiting for all the sockets. The next flush starts only
        after the last part: each socket gets its frames in seq order.
        """
        self.flush_handle = None
        events = flush.events
        top_seq = events[-1]["seq"]
        first_seq = events[0]["seq"]
        part = flush.connections[flush.position : flush.position + FLUSH_PART_SOCKETS]
        flush.position += FLUSH_PART_SOCKETS
        for connection in part:
            # The state is read now, not when the flush began: a socket that went live
            # since then has a floor, one still joining buffers.
            if connection.state == JOINING:
                connection.buffer.extend(events)
                continue
            if connection.state == CLOSED:
                continue
            if connection.floor >= first_seq:
                # Joined mid-window: its snapshot already holds some of these events.
                text = self._custom_frame(connection, events, top_seq)
            else:
                if not flush.restricted:
                    key: object = PUBLIC
                elif connection.is_team:
                    key = TEAM
                elif any(
                    event["aud"] == USER and event["uid"] == connection.user_id for event in events
                ):
                    key = connection.user_id
                else:
                    key = PUBLIC
                if key not in flush.frames:
                    flush.frames[key] = self._custom_frame(connection, events, top_seq)
                text = flush.frames[key]
            if text is not None:
                connection.push(text)
        loop = asyncio.get_running_loop()
        if flush.position < len(flush.connections):
            self.flush_handle = loop.call_soon(self._flush_part, flush)
            return
        # From the first part to the last, with what ran in between: the window is
        # set from that, so the loop still rests between flushes when busy.
        self.window = window_next(
            base=settings.LIVESHOP_FANOUT_WINDOW_MS / 1000,
            flush_seconds=loop.time() - self.last_flush,
        )
        if self.outbox:
            self._schedule_flush()

    @staticmethod
    def _custom_frame(connection: HubConnection, events: list[dict], top_seq: int) -> str | None:
        visible = [
            event for event in events if event["seq"] > connection.floor and connection.sees(event)
        ]
        if not visible:
            return None
        return batch_frame_encode(visible, top_seq)

    def activate(self, connection: HubConnection, *, floor: int) -> None:
        """Start live delivery to a socket whose snapshot or replay reached ``floor``."""
        pending = [
            event for event in connection.buffer if event["seq"] > floor and connection.sees(event)
        ]
        connection.buffer = []
        connection.state = LIVE
        connection.floor = floor
        if pending:
            connection.push(batch_frame_encode(pending, pending[-1]["seq"]))
        # Events still waiting in the outbox were received before this socket went
        # live; the floor keeps it from seeing those its snapshot already holds.

    def broadcast_text(
        self, text: str, connections: list[HubConnection] | None = None, position: int = 0
    ) -> None:
        """Write an aggregate frame (presence, reactions) to every live socket.

        In parts of ``FLUSH_PART_SOCKETS`` per loop turn, like a flush: written in one
        turn, a presence frame to thousands of sockets held up every event that
        arrived meanwhile. These frames carry no seq, so their order against the
        batches does not matter.
        """
        if connections is None:
            connections = list(self.connections)
        for connection in connections[position : position + FLUSH_PART_SOCKETS]:
            if connection.state == LIVE:
                connection.push(text)
        position += FLUSH_PART_SOCKETS
        if position < len(connections):
            asyncio.get_running_loop().call_soon(self.broadcast_text, text, connections, position)


class Hub:
    """All the rooms of one server process (one event loop)."""

    def __init__(self) -> None:
        self.feeds: dict[RoomRef, RoomFeed] = {}
        self.subscriber = broker.subscriber_create(self._on_message)
        self.subscriber.add_reconnect_handler(self._on_reconnect)
        self.ticker: asyncio.Task | None = None
        self.catch_up: asyncio.Task | None = None
        self.presence = presence.presence_store_create()

    def _on_reconnect(self) -> None:
        """The subscription is back after losing Redis: read what it missed from the log."""
        if self.catch_up is None or self.catch_up.done():
            self.catch_up = asyncio.get_running_loop().create_task(
                self._log_catch_up_all(), context=contextvars.Context()
            )

    async def _log_catch_up_all(self) -> None:
        for feed in list(self.feeds.values()):
            try:
                await feed.log_catch_up()
            except Exception:
                logger.exception("reading the log of %s after a reconnect failed", feed.room)

    def _on_message(self, room: RoomRef, payload: bytes) -> None:
        feed = self.feeds.get(room)
        if feed is None:
            return
        message = orjson.loads(payload)
        if "reactions" in message:
            feed.reaction_totals.update(message["reactions"])
            return
        feed.receive(message)

    async def join(self, room: RoomRef, connection: HubConnection) -> RoomFeed:
        feed = self.feeds.get(room)
        if feed is None:
            feed = self.feeds[room] = RoomFeed(self, room)
        feed.connections.add(connection)
        if self.ticker is None or self.ticker.done():
            self.ticker = asyncio.get_running_loop().create_task(
                self._tick(), context=contextvars.Context()
            )
        try:
            await feed.ensure_ready()
        except BaseException:
            await self.leave(room, connection)
            raise
        return feed

    async def leave(self, room: RoomRef, connection: HubConnection) -> None:
        connection.state = CLOSED
        feed = self.feeds.get(room)
        if feed is None:
            return
        feed.connections.discard(connection)
        if not feed.connections:
            del self.feeds[room]
            if feed.flush_handle is not None:
                feed.flush_handle.cancel()
            if feed.gap_task is not None:
                feed.gap_task.cancel()
            await self.subscriber.unsubscribe(room)

    async def close(self) -> None:
        """Stop the ticker and the broker subscription (server shutdown, tests)."""
        if self.ticker is not None:
            self.ticker.cancel()
        if self.catch_up is not None:
            self.catch_up.cancel()
        for feed in self.feeds.values():
            if feed.flush_handle is not None:
                feed.flush_handle.cancel()
            if feed.gap_task is not None:
                feed.gap_task.cancel()
        self.feeds.clear()
        await self.subscriber.close()
        _hubs.pop(asyncio.get_running_loop(), None)

    def reaction_tap(self, room: RoomRef, kind: str) -> None:
        feed = self.feeds.get(room)
        if feed is not None:
            feed.reaction_taps[kind] += 1

    async def _tick(self) -> None:
        """Once a second: share reaction taps, send reaction counts; every 5 s presence.

        In embedded mode also read the log for events that other processes (the
        Celery worker) wrote: the in-process broker cannot carry them here. With
        Redis, every ``LOG_CHECK_TICKS`` seconds, for a publish that failed.
        """
        tick = 0
        embedded = isinstance(self.subscriber, broker.LocalSubscriber)
        while self.feeds:
            await asyncio.sleep(1.0)
            tick += 1
            for feed in list(self.feeds.values()):
                try:
                    if embedded or tick % LOG_CHECK_TICKS == 0:
                        await feed.log_catch_up()
                    if feed.reaction_taps:
                        taps, feed.reaction_taps = feed.reaction_taps, collections.Counter()
                        await self.subscriber.publish(
                            feed.room, orjson.dumps({"reactions": dict(taps)})
                        )
                        await database_sync_to_async(stats.room_reactions_record)(
                            room=feed.room, count=sum(taps.values())
                        )
                    if feed.reaction_totals:
                        totals, feed.reaction_totals = feed.reaction_totals, collections.Counter()
                        feed.broadcast_text(
                            orjson.dumps({"type": "reactions", "counts": dict(totals)}).decode()
                        )
                    if tick % settings.LIVESHOP_PRESENCE_INTERVAL_SECONDS == 0:
                        await self._presence_push(feed)
                except Exception:
                    logger.exception("hub tick failed for %s", feed.room)

    async def _presence_push(self, feed: RoomFeed) -> None:
        keys = {
            connection.viewer_key
            for connection in feed.connections
            if connection.state != CLOSED and not connection.is_team
        }
        feed.viewers = await self.presence.count(feed.room, keys)
        if feed.viewers > feed.peak:
            feed.peak = await database_sync_to_async(stats.room_peak_viewers_record)(
                room=feed.room, viewers=feed.viewers
            )
        feed.broadcast_text(
            orjson.dumps({"type": "presence", "viewers": feed.viewers, "peak": feed.peak}).decode()
        )


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub_get() -> Hub:
    """The hub of the running event loop (one per server process)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
