"""Redis down, under a real server process: the log is PostgreSQL, Redis only wakes hubs up.

The server runs on this test's database and a Redis of its own (``throwaway_redis``),
which the test kills and starts again. While it is down, sends are stored and acked,
a show's status changes, new sockets connect (with a token or a ticket issued then);
once it is back the viewer that stayed connected gets every event exactly once, in
seq order, without reconnecting.
"""

import asyncio
import json
import uuid

import httpx
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import connect

from chat.models import ChatMessage
from shows.models import Show, ShowEvent
from tests import factories
from tests.servers import server_environment, servers_running

pytestmark = [pytest.mark.postgres]


def _open(port: int, public_id: str, *, token: str | None = None, query: str = ""):
    protocols = ["liveshop.v1"] + ([f"liveshop.bearer.{token}"] if token else [])
    suffix = f"?{query}" if query else ""
    return connect(
        f"ws://127.0.0.1:{port}/ws/shows/{public_id}/{suffix}",
        subprotocols=protocols,
        open_timeout=10,
        max_size=None,
    )


def _last_seq(show_id: int) -> int:
    try:
        return ShowEvent.objects.filter(show_id=show_id).order_by("-seq").first().seq
    finally:
        connection.close()  # this thread's connection, or the test database stays in use


async def _receive(websocket, timeout: float = 10) -> dict:
    async with asyncio.timeout(timeout):
        return json.loads(await websocket.recv())


async def _events_until(websocket, last_seq: int, timeout: float = 10) -> list[tuple[int, str]]:
    """(seq, type) of every batched event up to ``last_seq``; fails after ``timeout``."""
    events: list[tuple[int, str]] = []
    async with asyncio.timeout(timeout):
        while not events or events[-1][0] < last_seq:
            frame = json.loads(await websocket.recv())
            if frame["type"] == "batch":
                events += [(event["seq"], event["type"]) for event in frame["events"]]
    return events


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_events_written_while_redis_is_down_reach_a_connected_viewer_once_it_is_back(
    transactional_db, throwaway_redis, tmp_path, server
):
    show = factories.ShowFactory(status=Show.Status.LIVE)
    viewer_token = Token.objects.create(user=factories.UserFactory()).key
    poster = factories.UserFactory()
    poster_token = Token.objects.create(user=poster).key
    merchandiser = factories.UserFactory(role="merchandiser", is_staff=True)
    merchandiser_token = Token.objects.create(user=merchandiser).key
    log = tmp_path / "server.log"
    environment = server_environment(REDIS_URL=throwaway_redis.url, LIVESHOP_LOG_LEVEL="WARNING")

    async def scenario(port: int) -> dict:
        base = f"http://127.0.0.1:{port}/api/v1"
        async with (
            httpx.AsyncClient(base_url=base, timeout=10) as http,
            _open(port, show.public_id, token=viewer_token) as viewer,
            _open(port, show.public_id, token=poster_token) as sender,
        ):
            snapshot = await _receive(viewer)
            assert (await _receive(sender))["type"] == "snapshot"

            throwaway_redis.stop()
            acks = []
            for text in ("one", "two", "three"):
                frame = {"type": "message.send", "client_msg_id": str(uuid.uuid4()), "text": text}
                await sender.send(json.dumps(frame))
                while (reply := await _receive(sender))["type"] != "ack":
                    assert reply["type"] == "batch", reply
                acks.append((reply["status"], reply["message"]["text"]))
            ended = await http.post(
                f"/shows/{show.public_id}/end",
                headers={"Authorization": f"Token {merchandiser_token}"},
            )
            ticket = await http.post(
                "/realtime/tickets", headers={"Authorization": f"Token {poster_token}"}
            )
            async with _open(port, show.public_id, query=f"ticket={ticket.json()['ticket']}") as (
                by_ticket
            ):
                by_ticket_first = await _receive(by_ticket)
            async with _open(port, show.public_id, token=viewer_token) as late:
                late_first = await _receive(late)

            throwaway_redis.start()
            last_seq = await asyncio.to_thread(_last_seq, show.pk)
            received = await _events_until(viewer, last_seq)
            return {
                "snapshot_seq": snapshot["seq"],
                "acks": acks,
                "ended": ended.status_code,
                "ticket": ticket.status_code,
                "by_ticket": (by_ticket_first["type"], by_ticket_first["me"]["user_id"]),
                "late": late_first["type"],
                "received": received,
            }

    with servers_running((server,), log=log, env=environment) as ports:
        outcome = asyncio.run(scenario(ports[server]))

    logged = [(event.seq, event.type) for event in ShowEvent.objects.filter(show=show)]
    assert outcome["acks"] == [("published", "one"), ("published", "two"), ("published", "three")]
    assert list(
        ChatMessage.objects.filter(show=show, author=poster).values_list("text", flat=True)
    ) == ["one", "two", "three"]
    assert outcome["ended"] == 200
    assert outcome["ticket"] == 201
    assert outcome["by_ticket"] == ("snapshot", poster.pk)
    assert outcome["late"] == "snapshot"
    # Each event once, in seq order: the three messages, the status and its system message.
    assert outcome["received"] == [event for event in logged if event[0] > outcome["snapshot_seq"]]
    assert [kind for _, kind in outcome["received"]] == [
        "message.created",
        "message.created",
        "message.created",
        "show.status",
        "message.created",
    ]
    text = log.read_text()
    assert "Internal Server Error" not in text
    assert "Traceback" not in text
