"""The channel socket in the embedded mode: changes another process made reach it.

Without Redis the broker is in-process, so an announcement by the Celery worker (a
premiere ending, a stream becoming playable) never reaches the server's broker; the
server reads the channel's ``ChannelAir`` row for the channels it has sockets for.
"""

import asyncio
import json
import os
import subprocess
import sys

import httpx
import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect

from realtime import broker
from shows.models import Show
from shows.services import show_go_live
from tests import factories
from tests.servers import servers_running
from tests.sockets import frame_receive, hub_shutdown
from tests.test_video_channel_socket import channel_socket_open


def _without_offset(wire: dict) -> dict:
    return {key: value for key, value in wire.items() if key != "offset_seconds"}


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_change_no_broker_carried_reaches_the_socket_in_embedded_mode(
    settings, monkeypatch
):
    settings.REDIS_URL = ""
    channel = await database_sync_to_async(factories.ChannelFactory)(slug="embedded")
    show = await database_sync_to_async(factories.ShowFactory)(channel=channel, title="Live now")
    try:
        socket = await channel_socket_open(channel.slug)
        snapshot = await frame_receive(socket)
        assert snapshot["now_playing"]["kind"] == "off_air"
        # As the Celery worker does it: its in-process broker reaches no server socket.
        monkeypatch.setattr(broker, "broker_topic_publish", lambda **kwargs: None)

        await database_sync_to_async(show_go_live)(show=show)

        frame = await frame_receive(socket, timeout=5)
        assert frame["type"] == "now_playing"
        assert frame["version"] == snapshot["version"] + 1
        assert frame["now_playing"]["kind"] == "live"
        assert frame["now_playing"]["show"]["public_id"] == show.public_id
        # Once: the next checks find nothing newer.
        assert await socket.receive_nothing(timeout=1.5)
    finally:
        await hub_shutdown()


SETUP = """
from tests import factories
channel = factories.ChannelFactory(slug="embedded")
show = factories.ShowFactory(channel=channel, title="Premiere ends early")
print(show.public_id)
"""

GO_LIVE = """
from shows.models import Show
from shows.services import show_go_live
show_go_live(show=Show.objects.get(public_id="{public_id}"))
"""


def _manage(environment: dict[str, str], *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def test_a_worker_processs_change_reaches_the_servers_channel_socket(tmp_path):
    """Two processes on one SQLite file, as ``make run`` runs the server and the worker."""
    environment = {
        key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}
    }
    environment.update(
        LIVESHOP_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="liveshop.settings.test",
        LIVESHOP_LOG_LEVEL="WARNING",
    )
    _manage(environment, "migrate", "--verbosity", "0")
    public_id = _manage(environment, "shell", "--verbosity", "0", "--command", SETUP).strip()

    async def scenario(port: int) -> tuple[dict, dict, dict]:
        async with connect(f"ws://127.0.0.1:{port}/ws/channels/embedded/", open_timeout=10) as ws:
            snapshot = json.loads(await ws.recv())
            # Another process, as the Celery worker: its broker is its own.
            await asyncio.to_thread(
                _manage, environment, "shell", "--command", GO_LIVE.format(public_id=public_id)
            )
            async with asyncio.timeout(10):
                frame = json.loads(await ws.recv())
        async with httpx.AsyncClient(timeout=10) as http:
            rest = await http.get(f"http://127.0.0.1:{port}/api/v1/channels/embedded/now-playing")
        return snapshot, frame, rest.json()

    with servers_running(("uvicorn",), env=environment) as ports:
        snapshot, frame, rest = asyncio.run(scenario(ports["uvicorn"]))

    assert snapshot["now_playing"]["kind"] == "off_air"
    assert frame["type"] == "now_playing"
    assert frame["version"] == snapshot["version"] + 1
    assert frame["now_playing"]["show"]["public_id"] == public_id
    assert frame["now_playing"]["show"]["status"] == Show.Status.LIVE
    assert _without_offset(frame["now_playing"]) == _without_offset(rest)
