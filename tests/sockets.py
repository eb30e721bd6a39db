"""Helpers for show-socket tests: connect through the real ASGI stack, read frames."""

from __future__ import annotations

import asyncio
import json
import uuid

from channels.testing import WebsocketCommunicator

from liveshop.asgi import application
from realtime import hub as hub_module

ORIGIN = "http://localhost"


async def socket_open(
    public_id: str,
    *,
    token: str | None = None,
    query: str = "",
    origin: str | None = ORIGIN,
    cookie: str | None = None,
    subprotocols: list[str] | None = None,
) -> WebsocketCommunicator:
    headers = []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    protocols = list(subprotocols or ["liveshop.v1"])
    if token is not None:
        protocols.append(f"liveshop.bearer.{token}")
    path = f"/ws/shows/{public_id}/" + (f"?{query}" if query else "")
    communicator = WebsocketCommunicator(application, path, headers=headers, subprotocols=protocols)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def frame_receive(communicator: WebsocketCommunicator, timeout: float = 5) -> dict:
    return json.loads(await communicator.receive_from(timeout=timeout))


async def frames_until(
    communicator: WebsocketCommunicator, predicate, timeout: float = 5
) -> list[dict]:
    """Frames received up to and including the first one ``predicate`` accepts."""
    frames = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await frame_receive(communicator, timeout=max(0.05, deadline - loop.time()))
        frames.append(frame)
        if predicate(frame):
            return frames


def batch_events(frames: list[dict]) -> list[dict]:
    return [event for frame in frames if frame["type"] == "batch" for event in frame["events"]]


async def close_code(communicator: WebsocketCommunicator, timeout: float = 5) -> int:
    output = await communicator.receive_output(timeout=timeout)
    assert output["type"] == "websocket.close", output
    return output.get("code")


def send_frame(text: str, client_msg_id: str | None = None, **fields) -> dict:
    return {
        "type": "message.send",
        "client_msg_id": client_msg_id or str(uuid.uuid4()),
        "text": text,
        **fields,
    }


async def hub_shutdown() -> None:
    hub = hub_module._hubs.get(asyncio.get_running_loop())
    if hub is not None:
        await hub.close()


def show_snapshot(show, user, *, viewers: int = 0, peak: int = 0) -> dict:
    """The ``snapshot`` frame of ``show`` for ``user``, as the show socket composes it
    (without the socket's access check: drafts too)."""
    from realtime.snapshot import snapshot_build
    from shows.rooms import show_room, show_viewer

    return snapshot_build(
        room=show_room(show.pk),
        viewer=show_viewer(show=show, user=user),
        viewers=viewers,
        peak=peak,
    )
