"""Real server processes sharing Redis: what only a running server shows.

One uvicorn and one daphne process serve the same show, as behind a load balancer.
Every event reaches the viewers of both, in the same order; viewer counts are
unique across both; each server enforces the 64 KiB frame limit itself.
"""

import asyncio
import json
import uuid

import pytest
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from liveshop.demo.management.commands import liveshop_run
from shows.models import Show
from tests import factories
from tests.servers import servers_running

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def servers(transactional_db):
    """{"uvicorn": port, "daphne": port}, both on this test's database and Redis."""
    with servers_running(("uvicorn", "daphne"), LIVESHOP_PRESENCE_INTERVAL_SECONDS="1") as ports:
        yield ports


def _open(port: int, public_id: str, token: str):
    return connect(
        f"ws://127.0.0.1:{port}/ws/shows/{public_id}/",
        subprotocols=["liveshop.v1", f"liveshop.bearer.{token}"],
        open_timeout=10,
        max_size=None,
    )


async def _frames_until(websocket, predicate, timeout: float = 10) -> list[dict]:
    frames = []
    async with asyncio.timeout(timeout):
        while True:
            frames.append(json.loads(await websocket.recv()))
            if predicate(frames):
                return frames


def _texts(frames: list[dict]) -> list[tuple[int, str]]:
    return [
        (event["seq"], event["data"]["text"])
        for frame in frames
        if frame["type"] == "batch"
        for event in frame["events"]
        if event["type"] == "message.created"
    ]


def test_two_server_processes_share_every_event_and_the_viewer_count(servers):
    show = factories.ShowFactory(status=Show.Status.LIVE)
    tokens = [Token.objects.create(user=factories.UserFactory()).key for _ in range(4)]

    async def scenario():
        async with (
            _open(servers["uvicorn"], show.public_id, tokens[0]) as viewer_a,
            _open(servers["daphne"], show.public_id, tokens[1]) as viewer_b,
            _open(servers["uvicorn"], show.public_id, tokens[2]) as poster_a,
            _open(servers["daphne"], show.public_id, tokens[3]) as poster_b,
        ):
            for websocket in (viewer_a, viewer_b, poster_a, poster_b):
                assert json.loads(await websocket.recv())["type"] == "snapshot"
            for poster, text in ((poster_a, "from uvicorn"), (poster_b, "from daphne")):
                frame = {"type": "message.send", "client_msg_id": str(uuid.uuid4()), "text": text}
                await poster.send(json.dumps(frame))
            seen = {}
            for name, viewer in (("a", viewer_a), ("b", viewer_b)):
                frames = await _frames_until(viewer, lambda frames: len(_texts(frames)) == 2)
                seen[name] = _texts(frames)
            presence = {}
            for name, viewer in (("a", viewer_a), ("b", viewer_b)):
                frames = await _frames_until(
                    viewer,
                    lambda frames: frames[-1]["type"] == "presence" and frames[-1]["viewers"] == 4,
                )
                presence[name] = frames[-1]
            return seen, presence

    seen, presence = asyncio.run(scenario())
    assert seen["a"] == seen["b"]
    assert sorted(text for _, text in seen["a"]) == ["from daphne", "from uvicorn"]
    assert [seq for seq, _ in seen["a"]] == [1, 2]
    assert presence["a"]["viewers"] == presence["b"]["viewers"] == 4


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_each_server_closes_frames_over_64_kib_with_1009(servers, server):
    show = factories.ShowFactory(status=Show.Status.LIVE)
    token = Token.objects.create(user=factories.UserFactory()).key

    async def scenario() -> int | None:
        async with _open(servers[server], show.public_id, token) as websocket:
            await websocket.recv()
            await websocket.send("x" * (64 * 1024 + 1))
            try:
                async with asyncio.timeout(10):
                    while True:
                        await websocket.recv()
            except ConnectionClosed as closed:
                return None if closed.rcvd is None else closed.rcvd.code
            raise AssertionError("the server kept the connection open")

    code = asyncio.run(scenario())
    # autobahn (daphne) fails the connection by dropping it after a frame that is
    # too big, so the client sees 1006; uvicorn sends the close frame with 1009.
    assert code == (1009 if server == "uvicorn" else None)


def test_close_reasons_arrive_under_the_server_make_run_starts(transactional_db, monkeypatch):
    monkeypatch.delenv("LIVESHOP_ASGI_SERVER", raising=False)
    options = liveshop_run.Command().create_parser("manage.py", "liveshop_run").parse_args([])
    token = Token.objects.create(user=factories.UserFactory()).key

    async def scenario(port: int) -> tuple[int | None, str | None]:
        async with _open(port, "no-such-show", token) as websocket:
            try:
                async with asyncio.timeout(10):
                    while True:
                        await websocket.recv()
            except ConnectionClosed as closed:
                return (
                    (None, None) if closed.rcvd is None else (closed.rcvd.code, closed.rcvd.reason)
                )

    with servers_running((options.server,)) as ports:
        received = asyncio.run(scenario(ports[options.server]))
    assert received == (4004, "show_not_found")
