"""The reference ceiling: a plain asyncio + ``websockets`` broadcast server.

It speaks the subset of the show-channel protocol (docs/protocol.md) the benchmark uses: a
``snapshot`` first frame, ``message.send`` answered with an ``ack``, and coalesced ``batch``
frames with the same flush-on-idle window as liveshop (a lone event goes out at once, then at
most one frame per window). Each batch is encoded once and handed to ``websockets.broadcast``.
It keeps no database and no Redis: it is the cost of the fan-out alone.

    python -m bench.reference_server --port 8765 --window 0.1
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import time
import uuid
from http import HTTPStatus

import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from realtime.coalescing import window_next

logger = logging.getLogger("bench.reference")

MAX_TEXT = 500
SUBPROTOCOL = "liveshop.v1"


def _now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


class Room:
    """One show: the members, the log position and the pending batch."""

    def __init__(self, window: float) -> None:
        self.base_window = window
        self.window = window
        self.epoch = str(uuid.uuid4())
        self.seq = 0
        self.next_message_id = 1
        self.members: set[ServerConnection] = set()
        self._pending: list[dict] = []
        self._last_flush = 0.0
        self._flush_handle: asyncio.Handle | None = None
        self._sent_ids: dict[tuple[str, str], dict] = {}

    def snapshot(self) -> str:
        return json.dumps(
            {
                "type": "snapshot",
                "epoch": self.epoch,
                "seq": self.seq,
                "show": {"public_id": "reference", "title": "Reference", "status": "live"},
                "me": {"user_id": None, "can_post": True},
                "chat": {"slow_mode_seconds": 0, "max_length": MAX_TEXT},
                "pinned_message": None,
                "pins": [],
                "messages": [],
                "viewers": {"count": len(self.members), "peak": len(self.members)},
            }
        )

    def message_create(self, author: str, client_msg_id: str, text: str) -> tuple[str, dict]:
        key = (author, client_msg_id)
        if key in self._sent_ids:
            return "duplicate", self._sent_ids[key]
        self.seq += 1
        # The same fields as liveshop's message object, so frames are of a comparable size.
        message = {
            "id": self.next_message_id,
            "seq": self.seq,
            "kind": "text",
            "text": text,
            "author": {"id": 0, "name": author, "role": "viewer"},
            "reply_to": None,
            "is_question": False,
            "question_status": None,
            "answer_to": None,
            "visibility": "public",
            "links_clickable": False,
            "created_at": _now_text(),
        }
        self.next_message_id += 1
        self._sent_ids[key] = message
        self._event({"seq": self.seq, "type": "message.created", "data": message})
        return "published", message

    def _event(self, event: dict) -> None:
        self._pending.append(event)
        if self._flush_handle is not None:
            return
        loop = asyncio.get_running_loop()
        due = self._last_flush + self.window
        if loop.time() >= due:
            # Flush on idle: the first event after a quiet window goes out at once (after the
            # other events of this loop turn, as liveshop does).
            self._flush_handle = loop.call_soon(self.flush)
        else:
            self._flush_handle = loop.call_at(due, self.flush)

    def flush(self) -> None:
        self._flush_handle = None
        if not self._pending:
            return
        started = time.perf_counter()
        frame = json.dumps({"type": "batch", "seq": self.seq, "events": self._pending})
        self._pending = []
        self._last_flush = asyncio.get_running_loop().time()
        broadcast(self.members, frame)
        # The hub's own rule (realtime/coalescing.py), so both send as many frames.
        self.window = window_next(
            base=self.base_window, flush_seconds=time.perf_counter() - started
        )


class ReferenceServer:
    def __init__(self, window: float) -> None:
        self.window = window
        self.rooms: dict[str, Room] = {}

    def room(self, public_id: str) -> Room:
        room = self.rooms.get(public_id)
        if room is None:
            room = self.rooms[public_id] = Room(self.window)
        return room

    @staticmethod
    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        if _public_id(request.path) is None:
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        return None

    async def handler(self, connection: ServerConnection) -> None:
        assert connection.request is not None  # set once the handshake has been read
        public_id = _public_id(connection.request.path) or ""
        room = self.room(public_id)
        author = _bearer(connection) or f"anonymous-{id(connection)}"
        await connection.send(room.snapshot())
        room.members.add(connection)
        try:
            async for raw in connection:
                self._receive(room, connection, author, raw)
        finally:
            room.members.discard(connection)

    def _receive(self, room: Room, connection: ServerConnection, author: str, raw) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            _send_soon(connection, {"type": "error", "code": "invalid_json"})
            return
        kind = frame.get("type")
        if kind == "ping":
            _send_soon(connection, {"type": "pong"})
            return
        if kind != "message.send":
            _send_soon(connection, {"type": "error", "code": "unknown_type"})
            return
        client_msg_id = str(frame.get("client_msg_id") or "")
        text = str(frame.get("text") or "").strip()
        if not client_msg_id or not text or len(text) > MAX_TEXT:
            error = {"type": "error", "code": "invalid", "client_msg_id": client_msg_id}
            _send_soon(connection, error)
            return
        status, message = room.message_create(author, client_msg_id, text)
        ack = {"type": "ack", "client_msg_id": client_msg_id, "status": status, "message": message}
        _send_soon(connection, ack)


def _send_soon(connection: ServerConnection, body: dict) -> None:
    # broadcast() is how the server writes without awaiting; one connection is a broadcast of one.
    broadcast([connection], json.dumps(body))


def _public_id(path: str) -> str | None:
    parts = path.split("?", 1)[0].strip("/").split("/")
    if len(parts) == 3 and parts[0] == "ws" and parts[1] == "shows" and parts[2]:
        return parts[2]
    return None


def _bearer(connection: ServerConnection) -> str | None:
    assert connection.request is not None
    offered = connection.request.headers.get("Sec-WebSocket-Protocol", "")
    for item in offered.split(","):
        item = item.strip()
        if item.startswith("liveshop.bearer."):
            return item.removeprefix("liveshop.bearer.")[:16]
    return None


async def serve_forever(host: str, port: int, window: float) -> None:
    server = ReferenceServer(window)
    async with serve(
        server.handler,
        host,
        port,
        subprotocols=[Subprotocol(SUBPROTOCOL)],
        compression=None,
        max_size=65536,
        process_request=server.process_request,
        backlog=1024,
    ) as running:
        logger.info("reference server on %s:%s, window %.3f s", host, port, window)
        await running.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--window", type=float, default=0.1, help="coalescing window, seconds")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvloop.run(serve_forever(args.host, args.port, args.window))


if __name__ == "__main__":
    main()
