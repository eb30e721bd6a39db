"""Load generator: viewer processes that hold the sockets, and the chat senders.

Viewers run in worker processes (multiprocessing, spawn) on uvloop with the raw client of
``bench.wsclient``, so the client side does not become the bottleneck. Each worker answers
commands from the orchestrator over a pipe, one reply per command.
"""

from __future__ import annotations

import array
import asyncio
import itertools
import json
import multiprocessing
import multiprocessing.connection
import resource
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvloop

from bench import wsclient
from bench.stats import FrameCache, ViewerState, message_text


def nofile_limit_raise() -> int:
    """Raise the soft open-files limit to the hard one; every socket is a descriptor."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


@dataclass(frozen=True)
class Target:
    """Where the viewers connect: one show, spread round-robin over the server ports."""

    host: str
    ports: tuple[int, ...]
    path: str

    def port_for(self, index: int) -> int:
        return self.ports[index % len(self.ports)]


# --- viewer worker process -------------------------------------------------------------


class Viewer:
    __slots__ = ("state", "protocol", "_worker")

    def __init__(self, worker: ViewerWorker) -> None:
        self.state = ViewerState()
        self.protocol: wsclient.ClientProtocol | None = None
        self._worker = worker

    def connected(self) -> wsclient.ClientProtocol:
        """The socket of a viewer the worker keeps (only connected viewers are kept)."""
        assert self.protocol is not None
        return self.protocol

    def on_message(self, opcode: int, payload: bytes, received_at: float) -> None:
        worker = self._worker
        frame = worker.cache.decode(payload)
        if frame.type == "batch":
            worker.frames += 1
            worker.delivered += self.state.apply(frame, received_at, worker.latencies)
        elif frame.type == "snapshot":
            self.state.snapshot(frame.seq)
            worker.snapshots += 1


@dataclass
class ViewerWorker:
    """State of one worker process; its methods are the pipe commands."""

    run_id: str
    cache: FrameCache = field(init=False)
    viewers: list[Viewer] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    frames: int = 0
    snapshots: int = 0
    connect_failures: Counter = field(default_factory=Counter)
    connecting_done: bool = True
    connect_seconds: float = 0.0
    cpu_mark: float = 0.0
    _tasks: set = field(default_factory=set)

    def __post_init__(self) -> None:
        self.cache = FrameCache(self.run_id)

    async def connect(
        self, target: Target, indexes: list[int], concurrency: int, timeout: float
    ) -> dict:
        self.connecting_done = False
        task = asyncio.get_running_loop().create_task(
            self._connect_all(target, indexes, concurrency, timeout)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {"started": len(indexes)}

    async def _connect_all(
        self, target: Target, indexes: list[int], concurrency: int, timeout: float
    ) -> None:
        started = time.monotonic()
        # Bounded handshakes in flight: a burst of thousands only fills the listen backlog.
        limit = asyncio.Semaphore(concurrency)

        async def one(index: int) -> None:
            async with limit:
                viewer = Viewer(self)
                try:
                    viewer.protocol = await wsclient.connect(
                        target.host,
                        target.port_for(index),
                        target.path,
                        viewer.on_message,
                        subprotocols=["liveshop.v1"],
                        timeout=timeout,
                    )
                except (OSError, TimeoutError, ConnectionError) as error:
                    self.connect_failures[type(error).__name__ + ": " + str(error)[:80]] += 1
                    return
                self.viewers.append(viewer)

        await asyncio.gather(*(one(index) for index in indexes))
        self.connect_seconds = time.monotonic() - started
        self.connecting_done = True

    async def progress(self) -> dict:
        return {
            "connected": len(self.viewers),
            "open": sum(1 for viewer in self.viewers if not viewer.connected().closed.done()),
            "snapshots": self.snapshots,
            "failed": sum(self.connect_failures.values()),
            "done": self.connecting_done,
            "delivered": self.delivered,
        }

    async def mark(self) -> dict:
        """Start of the measured window: forget what arrived before it."""
        self.latencies = []
        self.delivered = 0
        self.frames = 0
        self.cpu_mark = time.process_time()
        return {}

    async def results(self, expected: list[int]) -> dict:
        cpu = time.process_time() - self.cpu_mark
        lost = 0
        viewers_with_loss = 0
        for viewer in self.viewers:
            missing = len(expected) - viewer.state.received(expected)
            lost += missing
            viewers_with_loss += 1 if missing else 0
        closes = Counter(
            viewer.connected().closed.result().code
            for viewer in self.viewers
            if viewer.connected().closed.done()
        )
        states = [viewer.state for viewer in self.viewers]
        return {
            "viewers": len(self.viewers),
            "connect_failures": dict(self.connect_failures),
            "connect_seconds": self.connect_seconds,
            "delivered": self.delivered,
            "lost": lost,
            "viewers_with_loss": viewers_with_loss,
            "duplicates": sum(state.duplicates for state in states),
            "duplicate_messages": sum(state.duplicate_messages for state in states),
            "out_of_order": sum(state.out_of_order for state in states),
            "closed_during_run": {str(code): count for code, count in closes.items()},
            "frames": self.frames,
            "client_cpu_seconds": cpu,
            "latencies_ms": array.array("d", self.latencies).tobytes(),
        }

    async def close(self) -> dict:
        for viewer in self.viewers:
            if viewer.protocol is not None:
                viewer.protocol.close()
        await asyncio.sleep(0.5)
        for viewer in self.viewers:
            if viewer.protocol is not None and viewer.protocol.transport is not None:
                viewer.protocol.transport.abort()
        return {}


async def _worker_serve(
    commands: multiprocessing.connection.Connection,
    replies: multiprocessing.connection.Connection,
    run_id: str,
) -> None:
    worker = ViewerWorker(run_id)
    loop = asyncio.get_running_loop()
    finished = loop.create_future()
    handlers: dict[str, Callable[..., Awaitable[dict]]] = {
        "connect": worker.connect,
        "progress": worker.progress,
        "mark": worker.mark,
        "results": worker.results,
        "close": worker.close,
    }

    async def handle(name: str, kwargs: dict) -> None:
        reply = await handlers[name](**kwargs)
        # A blocking write: results can be megabytes, more than a pipe buffer holds.
        replies.send(reply)
        if name == "close" and not finished.done():
            finished.set_result(None)

    def readable() -> None:
        try:
            name, kwargs = commands.recv()
        except EOFError:
            # The orchestrator is gone: stop instead of holding sockets forever.
            if not finished.done():
                finished.set_result(None)
            return
        task = loop.create_task(handle(name, kwargs))
        worker._tasks.add(task)
        task.add_done_callback(worker._tasks.discard)

    # Commands and replies use two one-way pipes: the event loop makes the descriptor it
    # watches non-blocking, which must not happen to the one large replies are written to.
    loop.add_reader(commands.fileno(), readable)
    await finished
    loop.remove_reader(commands.fileno())


def worker_main(
    commands: multiprocessing.connection.Connection,
    replies: multiprocessing.connection.Connection,
    run_id: str,
) -> None:
    nofile_limit_raise()
    uvloop.run(_worker_serve(commands, replies, run_id))


class WorkerHandle:
    """The orchestrator's end of one viewer worker: ``await call(name, **kwargs)``."""

    def __init__(self, run_id: str) -> None:
        context = multiprocessing.get_context("spawn")
        command_reader, self._commands = context.Pipe(duplex=False)
        self._replies, reply_writer = context.Pipe(duplex=False)
        self.process = context.Process(
            target=worker_main, args=(command_reader, reply_writer, run_id), daemon=True
        )
        self.process.start()
        command_reader.close()
        reply_writer.close()
        self._lock = asyncio.Lock()

    async def call(self, name: str, **kwargs: Any) -> dict:
        async with self._lock:
            self._commands.send((name, kwargs))
            return await asyncio.get_running_loop().run_in_executor(None, self._replies.recv)

    def stop(self) -> None:
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def viewer_indexes(count: int, workers: int) -> list[list[int]]:
    """Viewer numbers per worker, interleaved so every worker spreads over every port."""
    return [list(range(worker, count, workers)) for worker in range(workers)]


# --- senders -----------------------------------------------------------------------------


@dataclass
class SendLog:
    sent: int = 0
    statuses: dict[int, str] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    ack_ms: list[float] = field(default_factory=list)

    def published(self) -> list[int]:
        return sorted(number for number, status in self.statuses.items() if status == "published")

    def expected(self) -> list[int]:
        """Every message sent and not refused: one still unanswered must arrive all the same."""
        return [
            number
            for number in range(self.sent)
            if self.statuses.get(number, "published") == "published"
        ]


class Sender:
    """One chat user on its own socket; records the server's answer to each message."""

    def __init__(self, log: SendLog, numbers: dict[str, tuple[int, float]]) -> None:
        self._log = log
        self._numbers = numbers
        self.protocol: wsclient.ClientProtocol | None = None

    def on_message(self, opcode: int, payload: bytes, received_at: float) -> None:
        if b'"ack"' not in payload and b'"error"' not in payload:
            return
        body = json.loads(payload)
        pending = self._numbers.pop(str(body.get("client_msg_id")), None)
        if pending is None:
            return
        number, sent_at = pending
        if body.get("type") == "ack":
            self._log.statuses[number] = str(body.get("status"))
            self._log.ack_ms.append((received_at - sent_at) * 1000.0)
        elif body.get("type") == "error":
            self._log.statuses[number] = "error:" + str(body.get("code"))
            self._log.errors[str(body.get("code"))] += 1

    def send(self, run_id: str, number: int) -> None:
        client_msg_id = str(uuid.uuid4())
        sent_at = time.time()
        self._numbers[client_msg_id] = (number, sent_at)
        frame = {
            "type": "message.send",
            "client_msg_id": client_msg_id,
            "text": message_text(run_id, number, sent_at),
        }
        assert self.protocol is not None
        self.protocol.send_text(json.dumps(frame))


class SenderGroup:
    """Several users sending at a steady total rate, round-robin."""

    def __init__(self, run_id: str, target: Target, credentials: list[list[str]]) -> None:
        self.run_id = run_id
        self.target = target
        self.credentials = credentials
        self.log = SendLog()
        self._pending: dict[str, tuple[int, float]] = {}
        self.senders: list[Sender] = []

    async def connect(self) -> None:
        for index, subprotocols in enumerate(self.credentials):
            sender = Sender(self.log, self._pending)
            sender.protocol = await wsclient.connect(
                self.target.host,
                self.target.port_for(index),
                self.target.path,
                sender.on_message,
                subprotocols=subprotocols,
            )
            self.senders.append(sender)

    async def run(self, rate: float, seconds: float, tick=None) -> None:
        """Send ``rate`` messages/s for ``seconds``, on a fixed schedule that does not drift."""
        loop = asyncio.get_running_loop()
        total = round(rate * seconds)
        started = loop.time()
        rotation = itertools.cycle(self.senders)
        for number in range(total):
            delay = started + number / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            next(rotation).send(self.run_id, number)
            self.log.sent += 1
            if tick is not None:
                tick()

    def unanswered(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        for sender in self.senders:
            if sender.protocol is not None:
                sender.protocol.close()


class PinSender:
    """A moderator pinning one product after another over REST, at a steady rate.

    Each step unpins the previous product and pins the next, so at most one is pinned and
    every step sends one ``product.pinned`` event to every viewer. The log's ``ack_ms`` is the
    REST round trip of each pin.
    """

    def __init__(self, base_url: str, public_id: str, token: str, product_ids: list[int]) -> None:
        self.base_url = base_url
        self.public_id = public_id
        self.token = token
        self.product_ids = product_ids
        self.log = SendLog()
        self._client: httpx.Client | None = None
        self._pinned: int | None = None
        self._in_flight = 0

    async def connect(self) -> None:
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"authorization": f"Token {self.token}"},
            timeout=30.0,
        )

    def _step(self, number: int) -> None:
        assert self._client is not None
        pins = f"/api/v1/shows/{self.public_id}/pins"
        if self._pinned is not None:
            self._client.delete(f"{pins}/{self._pinned}")
            self._pinned = None
        sent_at = time.time()
        response = self._client.post(pins, json={"product_id": self.product_ids[number]})
        if response.status_code == 201:
            self._pinned = response.json()["id"]
            self.log.statuses[number] = "published"
            self.log.ack_ms.append((time.time() - sent_at) * 1000.0)
        else:
            code = str(response.json().get("code", response.status_code))
            self.log.statuses[number] = "error:" + code
            self.log.errors[code] += 1

    async def run(self, rate: float, seconds: float, tick=None) -> None:
        """Pin ``rate`` products/s for ``seconds`` on a fixed schedule (at most one per product)."""
        loop = asyncio.get_running_loop()
        total = min(round(rate * seconds), len(self.product_ids))
        started = loop.time()
        for number in range(total):
            delay = started + number / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._in_flight = 1
            # httpx's blocking client in a thread keeps the orchestrator's loop free.
            await asyncio.to_thread(self._step, number)
            self._in_flight = 0
            self.log.sent += 1
            if tick is not None:
                tick()

    def unanswered(self) -> int:
        return self._in_flight

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
