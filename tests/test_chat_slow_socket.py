"""A viewer that stops reading, against a real uvicorn process.

Only a real server shows this: its transport pauses when the kernel's buffers are
full, its ``send`` then waits, and the hub queues the frames until the socket is
closed with 4009. The slow client is a plain TCP socket with a small receive buffer
driven by websockets' sans-I/O protocol, so the test decides exactly when it reads.
"""

import json
import socket
import time

import pytest
from django.db import transaction
from rest_framework.authtoken.models import Token
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.sync.client import connect
from websockets.uri import parse_uri

from shows.events import show_event_append
from shows.models import Show
from tests import factories
from tests.servers import servers_running

BACKLOG_LIMIT = 256 * 1024
EVENT_TEXT = "x" * 20_000
# Far more than the kernel's buffers on both ends (a few MiB at most on loopback)
# plus the server's transport buffer and the backlog limit.
EVENTS = 600


class RawClient:
    """A websocket client that reads only when told to."""

    def __init__(self, port: int, path: str, token: str) -> None:
        self.socket = socket.socket()
        # A small receive window: the server's buffers fill after a few KiB unread.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.socket.settimeout(20)
        self.socket.connect(("127.0.0.1", port))
        self.protocol = ClientProtocol(
            parse_uri(f"ws://127.0.0.1:{port}{path}"),
            subprotocols=["liveshop.v1", f"liveshop.bearer.{token}"],
            max_size=None,
        )
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        self.eof = False

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.socket.sendall(data)

    def frames(self, patience: float = 30):
        """Text frames as they arrive, until the connection ends (EOF from the server).

        Gives up after ``patience`` seconds: a socket the server forgot stays open
        and gets only websocket pings.
        """
        deadline = time.monotonic() + patience
        while not self.eof and time.monotonic() < deadline:
            for event in self.protocol.events_received():
                if getattr(event, "opcode", None) == Opcode.TEXT:
                    yield json.loads(event.data)
            data = self.socket.recv(65536)
            if data:
                self.protocol.receive_data(data)
            else:
                self.eof = True
                self.protocol.receive_eof()
            # Pongs and the answer to the server's close frame.
            self._flush()
        for event in self.protocol.events_received():
            if getattr(event, "opcode", None) == Opcode.TEXT:
                yield json.loads(event.data)


def _events_push(show: Show, count: int) -> None:
    for _ in range(count):
        with transaction.atomic():
            show_event_append(show_id=show.pk, type="message.created", data={"text": EVENT_TEXT})


def _last_seq(frame: dict) -> int | None:
    return frame["seq"] if frame["type"] == "batch" else None


@pytest.mark.postgres
@pytest.mark.redis
def test_a_client_that_stops_reading_is_closed_with_4009_under_uvicorn(transactional_db):
    show = factories.ShowFactory(status=Show.Status.LIVE)
    slow_token, probe_token = (
        Token.objects.create(user=factories.UserFactory()).key for _ in range(2)
    )
    path = f"/ws/shows/{show.public_id}/"
    with servers_running(("uvicorn",), LIVESHOP_WS_MAX_BACKLOG_BYTES=str(BACKLOG_LIMIT)) as ports:
        port = ports["uvicorn"]
        slow = RawClient(port, path, slow_token)
        assert next(slow.frames())["type"] == "snapshot"
        with connect(
            f"ws://127.0.0.1:{port}{path}",
            subprotocols=["liveshop.v1", f"liveshop.bearer.{probe_token}"],
            max_size=None,
            # Its reader thread takes everything in while this thread pushes events.
            max_queue=None,
            open_timeout=10,
        ) as probe:
            assert json.loads(probe.recv(timeout=10))["type"] == "snapshot"
            # The slow client reads nothing from here on.
            _events_push(show, EVENTS)
            # The probe shares every flush with the slow socket: once it holds the
            # last event, the hub has handed every event to the slow socket too.
            while _last_seq(json.loads(probe.recv(timeout=20))) != EVENTS:
                pass
            probe_seen = EVENTS

        # Reading again: what the buffers held, then the close.
        received = list(slow.frames())

    assert slow.eof is True
    assert slow.protocol.close_rcvd is not None
    assert (slow.protocol.close_rcvd.code, slow.protocol.close_rcvd.reason) == (4009, "too_slow")
    seqs = [event["seq"] for frame in received for event in frame.get("events", [])]
    assert seqs == sorted(seqs)
    assert len(seqs) == len(set(seqs))
    # It fell behind: the close came before the last events (it resumes for them).
    assert 0 < len(seqs) < probe_seen
