"""`make bench`: fan-out benchmark of the show channel against a reference ceiling.

For every scenario and server, the orchestrator starts the server processes, opens N viewer
sockets to one show from worker processes, sends chat at R messages/s from several users and
measures delivery, latency, server CPU per delivered message and memory per connection. The
reference server (``bench.reference_server``) runs in the same invocation with the same
coalescing window, so the CPU ratio is taken on the same machine in the same conditions.

    python -m bench.run                       # the Done-means set (docs/benchmarks.md)
    python -m bench.run smoke                 # a quick sanity check
    python -m bench.run fanout-3000 --servers uvicorn,reference --docs
"""

from __future__ import annotations

import argparse
import array
import asyncio
import datetime as dt
import json
import math
import secrets
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import psutil
import uvloop
from tqdm import tqdm

from bench import report
from bench.loadgen import (
    PinSender,
    SenderGroup,
    Target,
    WorkerHandle,
    nofile_limit_raise,
    viewer_indexes,
)
from bench.servers import (
    BASE_DIR,
    BenchSetupError,
    Engines,
    ServerGroup,
    database_ensure,
    engines_check,
    free_port,
    liveshop_environment,
    liveshop_prepare,
    redis_cpu_seconds,
    redis_flush,
    reference_command,
)
from bench.stats import latency_summary, per_connection_kib, per_delivery_us
from bench.wsclient import connect

VAR_DIR = BASE_DIR / "var" / "bench"
SERVER_KINDS = ("daphne", "uvicorn", "reference")


@dataclass(frozen=True)
class Scenario:
    name: str
    viewers: int
    rate: float = 0.0
    seconds: float = 0.0
    processes: int = 1
    servers: tuple[str, ...] = SERVER_KINDS
    idle: bool = False
    drain_seconds: float = 30.0
    description: str = ""
    # Pins products over REST instead of sending chat: ``rate`` is pins per second.
    pins: bool = False


SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "smoke", viewers=200, rate=5, seconds=5, drain_seconds=10, description="sanity check"
        ),
        Scenario(
            "fanout-3000",
            viewers=3000,
            rate=20,
            seconds=20,
            description="3,000 viewers, 20 msg/s on one show",
        ),
        Scenario(
            "fanout-3000-2proc",
            viewers=3000,
            rate=20,
            seconds=20,
            processes=2,
            servers=("uvicorn", "reference"),
            description="3,000 viewers over 2 server processes (one per core), 20 msg/s",
        ),
        Scenario(
            "scale-10000",
            viewers=10000,
            rate=5,
            seconds=20,
            processes=2,
            servers=("daphne", "uvicorn"),
            drain_seconds=60,
            description="10,000 viewers over 2 server processes, 5 msg/s",
        ),
        Scenario(
            "pin-1000",
            viewers=1000,
            rate=1,
            seconds=20,
            servers=("uvicorn",),
            pins=True,
            drain_seconds=10,
            description="pin-to-viewer latency: 1,000 viewers, a moderator pins 1 product/s",
        ),
        Scenario(
            "idle-memory",
            viewers=5000,
            idle=True,
            description="server memory per idle viewer connection",
        ),
    )
}
DEFAULT_SCENARIOS = (
    "fanout-3000",
    "fanout-3000-2proc",
    "scale-10000",
    "idle-memory",
    "pin-1000",
)

# The chat rate limit per user ("count/seconds", docs/protocol.md section 6) is lifted so a
# few senders can carry the whole rate: the benchmark measures fan-out, not the limiter.
LIVESHOP_BENCH_ENV = {"LIVESHOP_CHAT_RATE": "1000000/10"}


@dataclass
class RunResult:
    scenario: str
    server: str
    processes: int
    viewers_requested: int
    viewers: int = 0
    connect_failures: dict = field(default_factory=dict)
    connect_seconds: float = math.nan
    rate: float = 0.0
    seconds: float = 0.0
    sent: int = 0
    published: int = 0
    send_errors: dict = field(default_factory=dict)
    unanswered: int = 0
    expected: int = 0
    delivered: int = 0
    lost: int = 0
    viewers_with_loss: int = 0
    duplicates_before_dedupe: int = 0
    duplicates_after_dedupe: int = 0
    out_of_order: int = 0
    closed_during_run: dict = field(default_factory=dict)
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    ack_p50_ms: float = math.nan
    ack_p99_ms: float = math.nan
    batch_frames: int = 0
    messages_per_frame: float = math.nan
    window_seconds: float = math.nan
    server_cpu_seconds: float = math.nan
    server_cpu_percent: float = math.nan
    server_us_per_delivery: float = math.nan
    client_cpu_seconds: float = math.nan
    redis_cpu_seconds: float = math.nan
    machine_cpu_percent: float = math.nan
    rss_before_mib: float = math.nan
    rss_after_mib: float = math.nan
    kib_per_connection: float = math.nan
    error: str = ""


@dataclass(frozen=True)
class Options:
    window: float
    workers: int
    concurrency: int
    senders: int
    connect_timeout: float
    settle_seconds: float
    engines: Engines
    log_dir: Path
    profile: bool = False


def _workers_for(viewers: int, requested: int) -> int:
    if requested > 0:
        return requested
    # One worker holds a few thousand sockets comfortably; two use both cores when they must.
    return 1 if viewers < 2000 else 2


async def _warm_up(target: Target) -> None:
    """One connection before the memory baseline, so lazy imports are not charged to viewers."""
    received = asyncio.Event()
    protocol = await connect(
        target.host,
        target.port_for(0),
        target.path,
        lambda *_: received.set(),
        subprotocols=["liveshop.v1"],
    )
    await asyncio.wait_for(received.wait(), 30)
    protocol.close()
    await asyncio.sleep(0.5)


async def _connect_viewers(
    workers: list[WorkerHandle], target: Target, count: int, options: Options, label: str
) -> list[dict]:
    per_worker = max(1, options.concurrency // len(workers))
    for handle, indexes in zip(workers, viewer_indexes(count, len(workers)), strict=True):
        await handle.call(
            "connect",
            target=target,
            indexes=indexes,
            concurrency=per_worker,
            timeout=options.connect_timeout,
        )
    with tqdm(total=count, desc=f"{label}: connecting", unit="conn", leave=False) as bar:
        while True:
            progress = [await handle.call("progress") for handle in workers]
            bar.n = sum(item["connected"] + item["failed"] for item in progress)
            bar.refresh()
            if all(item["done"] for item in progress):
                return progress
            await asyncio.sleep(0.25)


async def _send_and_drain(
    workers: list[WorkerHandle],
    senders: SenderGroup | PinSender,
    scenario: Scenario,
    viewers: int,
    label: str,
) -> None:
    planned = round(scenario.rate * scenario.seconds)
    send_task = asyncio.create_task(senders.run(scenario.rate, scenario.seconds))
    drain_deadline = None
    with tqdm(total=planned * viewers, desc=f"{label}: delivering", unit="msg", leave=False) as bar:
        while True:
            await asyncio.sleep(0.25)
            progress = [await handle.call("progress") for handle in workers]
            delivered = sum(item["delivered"] for item in progress)
            bar.n = delivered
            bar.refresh()
            if not send_task.done():
                continue
            send_task.result()
            if drain_deadline is None:
                drain_deadline = time.monotonic() + scenario.drain_seconds
            expected = len(senders.log.expected()) * viewers
            if (delivered >= expected and senders.unanswered() == 0) or (
                time.monotonic() > drain_deadline
            ):
                return


async def _measure(
    scenario: Scenario,
    kind: str,
    servers: ServerGroup,
    target: Target,
    credentials: list[list[str]],
    options: Options,
    result: RunResult,
    pins: dict | None = None,
) -> None:
    label = f"{scenario.name} {result.server}"
    run_id = secrets.token_hex(4)
    await _warm_up(target)
    rss_before = servers.rss_bytes()
    workers = [WorkerHandle(run_id) for _ in range(_workers_for(scenario.viewers, options.workers))]
    try:
        progress = await _connect_viewers(workers, target, scenario.viewers, options, label)
        await asyncio.sleep(options.settle_seconds)
        rss_after = servers.rss_bytes()
        connected = sum(item["connected"] for item in progress)
        result.viewers = connected
        result.rss_before_mib = rss_before / 2**20
        result.rss_after_mib = rss_after / 2**20
        result.kib_per_connection = per_connection_kib(rss_before, rss_after, connected)
        if scenario.idle:
            results = [await handle.call("results", expected=[]) for handle in workers]
            _merge_connects(result, results)
            return
        senders = (
            PinSender(
                f"http://{target.host}:{target.port_for(0)}",
                target.path.split("/")[3],
                pins["moderator_token"],
                pins["pin_products"],
            )
            if pins is not None
            else SenderGroup(run_id, target, credentials)
        )
        await senders.connect()
        for handle in workers:
            await handle.call("mark")
        profilers = (
            servers.profile_start(options.log_dir / "profiles", f"{scenario.name}-{kind}")
            if options.profile
            else []
        )
        cpu_before, redis_before = servers.cpu_seconds(), redis_cpu_seconds(options.engines)
        machine_before = psutil.cpu_times()
        started = time.monotonic()
        await _send_and_drain(workers, senders, scenario, connected, label)
        result.window_seconds = time.monotonic() - started
        result.server_cpu_seconds = servers.cpu_seconds() - cpu_before
        result.machine_cpu_percent = _machine_busy_percent(machine_before, psutil.cpu_times())
        servers.profile_stop(profilers)
        if kind != "reference":
            result.redis_cpu_seconds = redis_cpu_seconds(options.engines) - redis_before
        expected = senders.log.expected()
        results = [await handle.call("results", expected=expected) for handle in workers]
        senders.close()
        _merge_connects(result, results)
        _merge_deliveries(result, results, senders, scenario)
    finally:
        for handle in workers:
            try:
                await asyncio.wait_for(handle.call("close"), 30)
            except (TimeoutError, EOFError, OSError):
                pass
            handle.stop()


def _machine_busy_percent(before, after) -> float:
    """Busy share of all cores over the window (100 % = every core busy), whoever used them."""
    total = sum(after) - sum(before)
    idle = (after.idle + after.iowait) - (before.idle + before.iowait)
    return 100.0 * (total - idle) / total if total > 0 else math.nan


def _merge_connects(result: RunResult, results: list[dict]) -> None:
    failures: dict[str, int] = {}
    for item in results:
        for reason, count in item["connect_failures"].items():
            failures[reason] = failures.get(reason, 0) + count
    result.connect_failures = failures
    result.connect_seconds = max(item["connect_seconds"] for item in results)


def _merge_deliveries(
    result: RunResult, results: list[dict], senders: SenderGroup | PinSender, scenario: Scenario
) -> None:
    result.rate = scenario.rate
    result.seconds = scenario.seconds
    result.sent = senders.log.sent
    result.published = len(senders.log.published())
    result.send_errors = dict(senders.log.errors)
    result.unanswered = senders.unanswered()
    result.expected = len(senders.log.expected()) * result.viewers
    result.delivered = sum(item["delivered"] for item in results)
    result.lost = sum(item["lost"] for item in results)
    result.viewers_with_loss = sum(item["viewers_with_loss"] for item in results)
    result.duplicates_before_dedupe = sum(item["duplicates"] for item in results)
    result.duplicates_after_dedupe = sum(item["duplicate_messages"] for item in results)
    result.out_of_order = sum(item["out_of_order"] for item in results)
    closes: dict[str, int] = {}
    for item in results:
        for code, count in item["closed_during_run"].items():
            closes[code] = closes.get(code, 0) + count
    result.closed_during_run = closes
    result.client_cpu_seconds = sum(item["client_cpu_seconds"] for item in results)
    # How much the coalescing window gathered: at R msg/s this is about R × the window in use.
    result.batch_frames = sum(item["frames"] for item in results)
    if result.batch_frames:
        result.messages_per_frame = result.delivered / result.batch_frames
    latencies = array.array("d")
    for item in results:
        latencies.frombytes(item["latencies_ms"])
    summary = latency_summary(latencies)
    result.p50_ms, result.p95_ms, result.p99_ms, result.max_ms = (
        summary.p50,
        summary.p95,
        summary.p99,
        summary.max,
    )
    acks = latency_summary(senders.log.ack_ms)
    result.ack_p50_ms, result.ack_p99_ms = acks.p50, acks.p99
    result.server_cpu_percent = 100.0 * result.server_cpu_seconds / result.window_seconds
    result.server_us_per_delivery = per_delivery_us(result.server_cpu_seconds, result.delivered)


def _server_label(kind: str) -> str:
    return "reference" if kind == "reference" else f"liveshop/{kind}"


def _run_one(scenario: Scenario, kind: str, options: Options) -> RunResult:
    processes = 1 if kind == "reference" else scenario.processes
    result = RunResult(scenario.name, _server_label(kind), processes, scenario.viewers)
    ports = [free_port() for _ in range(processes)]
    servers = ServerGroup(kind, ports)
    log_dir = options.log_dir / scenario.name
    pins = None
    try:
        if kind == "reference":
            environment = _plain_environment()
            public_id = "reference"
            credentials = [
                ["liveshop.v1", f"liveshop.bearer.sender{n}"] for n in range(options.senders)
            ]
            commands = [reference_command(port, options.window) for port in ports]
        else:
            redis_flush(options.engines)
            environment = liveshop_environment(
                options.engines,
                {
                    **LIVESHOP_BENCH_ENV,
                    "LIVESHOP_FANOUT_WINDOW_MS": str(round(options.window * 1000)),
                },
            )
            prepared = liveshop_prepare(
                environment,
                options.senders,
                log_dir,
                kind,
                ports,
                pin_products=round(scenario.rate * scenario.seconds) if scenario.pins else 0,
            )
            if scenario.pins:
                pins = prepared
            public_id = prepared["public_id"]
            credentials = [["liveshop.v1", f"liveshop.bearer.{t}"] for t in prepared["tokens"]]
            commands = prepared["commands"]
        servers.start(environment, log_dir, commands)
        servers.wait_ready()
        target = Target("127.0.0.1", tuple(ports), f"/ws/shows/{public_id}/")
        uvloop.run(
            _measure(scenario, kind, servers, target, credentials, options, result, pins=pins)
        )
        if not servers.alive():
            result.error = "a server process died during the run"
    except (BenchSetupError, OSError, TimeoutError, ConnectionError) as error:
        result.error = f"{type(error).__name__}: {error}"
    finally:
        servers.stop()
    return result


def _plain_environment() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "scenarios",
        nargs="*",
        default=list(DEFAULT_SCENARIOS),
        help=f"any of {', '.join(SCENARIOS)} (default: {' '.join(DEFAULT_SCENARIOS)})",
    )
    parser.add_argument(
        "--servers",
        help="comma-separated subset of daphne,uvicorn,reference (default: per scenario)",
    )
    parser.add_argument("--viewers", type=int, help="override N of every chosen scenario")
    parser.add_argument("--rate", type=float, help="override R (messages/s)")
    parser.add_argument(
        "--processes", type=int, help="override the liveshop server processes of every scenario"
    )
    parser.add_argument("--seconds", type=float, help="override how long chat is sent")
    parser.add_argument(
        "--window", type=float, default=0.1, help="coalescing window, seconds (default 0.1)"
    )
    parser.add_argument("--workers", type=int, default=0, help="viewer processes (default: auto)")
    parser.add_argument(
        "--concurrency", type=int, default=80, help="handshakes in flight (default 80)"
    )
    parser.add_argument("--senders", type=int, default=4, help="chat users sending (default 4)")
    parser.add_argument("--connect-timeout", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before reading RSS")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy profiles (collapsed stacks) of the servers while sending (adds overhead)",
    )
    parser.add_argument(
        "--docs", action="store_true", help="write the results into docs/benchmarks.md"
    )
    arguments = parser.parse_args(argv)
    unknown = [name for name in arguments.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    if arguments.servers:
        chosen = tuple(item.strip() for item in arguments.servers.split(",") if item.strip())
        wrong = [item for item in chosen if item not in SERVER_KINDS]
        if wrong:
            parser.error(f"unknown server(s): {', '.join(wrong)}")
        arguments.servers = chosen
    return arguments


def _scenarios(arguments: argparse.Namespace) -> list[Scenario]:
    chosen = []
    for name in arguments.scenarios:
        scenario = SCENARIOS[name]
        overrides = {
            key: value
            for key, value in (
                ("viewers", arguments.viewers),
                ("rate", arguments.rate),
                ("seconds", arguments.seconds),
                ("processes", arguments.processes),
            )
            if value is not None
        }
        if arguments.servers:
            overrides["servers"] = tuple(s for s in arguments.servers if s in SERVER_KINDS)
        chosen.append(replace(scenario, **overrides))
    return chosen


def main(argv: list[str] | None = None) -> int:
    arguments = _parse_args(argv)
    command = "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv)
    nofile = nofile_limit_raise()
    scenarios = _scenarios(arguments)
    engines = Engines.from_environment()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    options = Options(
        window=arguments.window,
        workers=arguments.workers,
        concurrency=arguments.concurrency,
        senders=arguments.senders,
        connect_timeout=arguments.connect_timeout,
        settle_seconds=arguments.settle,
        engines=engines,
        log_dir=VAR_DIR / stamp,
        profile=arguments.profile,
    )
    needs_liveshop = any(kind != "reference" for s in scenarios for kind in s.servers)
    if needs_liveshop:
        try:
            engines_check(engines)
            database_ensure(engines)
        except BenchSetupError as error:
            print(f"bench: {error}", file=sys.stderr)  # noqa: T201
            return 2
    most = max(s.viewers * (2 if s.processes > 1 else 1) for s in scenarios)
    if nofile < most + 100:
        print(  # noqa: T201
            f"bench: the open-files limit is {nofile}; {most} viewers may need more",
            file=sys.stderr,
        )
    results = []
    for scenario in scenarios:
        for kind in scenario.servers:
            result = _run_one(scenario, kind, options)
            results.append(result)
            print(report.line(result), file=sys.stderr)  # noqa: T201
    machine = report.machine_describe()
    verdicts = report.verdicts(results)
    output = {
        "command": command,
        "started": stamp,
        "window_seconds": arguments.window,
        "machine": machine,
        "results": [asdict(result) for result in results],
        "verdicts": verdicts,
    }
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    json_path = VAR_DIR / f"{stamp}.json"
    json_path.write_text(json.dumps(output, indent=2, default=str))
    markdown = report.markdown(output)
    print(markdown)  # noqa: T201
    print(f"\nJSON: {json_path.relative_to(BASE_DIR)}", file=sys.stderr)  # noqa: T201
    if arguments.docs:
        report.docs_write(BASE_DIR / "docs" / "benchmarks.md", markdown)
    return (
        0 if all(item["passed"] for item in verdicts) and not any(r.error for r in results) else 1
    )


if __name__ == "__main__":
    sys.exit(main())
