"""Pure bookkeeping of the load generator: frame decoding, per-viewer checks, percentiles.

Kept free of sockets and processes so the maths can be tested on its own.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

# The chat text every benchmark message carries: "bench:<run id>:<number>:<send time>".
TEXT_PREFIX = "bench"


def message_text(run_id: str, number: int, sent_at: float) -> str:
    return f"{TEXT_PREFIX}:{run_id}:{number}:{sent_at:.6f}"


# Products the pin scenario pins are titled "bench-pin <number>".
PIN_TITLE_PREFIX = "bench-pin"


def pin_title(number: int) -> str:
    return f"{PIN_TITLE_PREFIX} {number}"


def pin_event_parse(data: dict) -> tuple[int, float] | None:
    """``(number, pin time)`` of a ``product.pinned`` event of the pin scenario, else None.

    The pin time is the server's ``pinned_at``, taken when the pin service runs.
    """
    title = (data.get("product") or {}).get("title")
    pinned_at = data.get("pinned_at")
    if not isinstance(title, str) or not isinstance(pinned_at, str):
        return None
    prefix, _, number = title.partition(" ")
    if prefix != PIN_TITLE_PREFIX or not number.isdigit():
        return None
    try:
        moment = dt.datetime.fromisoformat(pinned_at)
    except ValueError:
        return None
    return int(number), moment.timestamp()


def message_text_parse(text: str, run_id: str) -> tuple[int, float] | None:
    """``(number, send time)`` of a benchmark message of this run, else None."""
    parts = text.split(":")
    if len(parts) != 4 or parts[0] != TEXT_PREFIX or parts[1] != run_id:
        return None
    try:
        return int(parts[2]), float(parts[3])
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Frame:
    """What the benchmark needs from one server frame.

    ``events`` holds ``(event seq, message number, send time)``; the number is -1 for events
    that are not benchmark messages of this run (system messages, other runs' history).
    """

    type: str
    seq: int = -1
    events: tuple[tuple[int, int, float], ...] = ()


def frame_decode(payload: bytes, run_id: str) -> Frame:
    try:
        body = json.loads(payload)
    except ValueError:
        return Frame("invalid")
    if not isinstance(body, dict):
        return Frame("invalid")
    kind = str(body.get("type", ""))
    seq = body.get("seq")
    seq = seq if isinstance(seq, int) else -1
    if kind != "batch":
        return Frame(kind, seq)
    events = []
    for event in body.get("events") or ():
        event_seq = event.get("seq")
        if not isinstance(event_seq, int):
            continue
        number, sent_at = -1, math.nan
        data = event.get("data") or {}
        if event.get("type") == "message.created" and isinstance(data.get("text"), str):
            parsed = message_text_parse(data["text"], run_id)
            if parsed is not None:
                number, sent_at = parsed
        elif event.get("type") == "product.pinned" and isinstance(data, dict):
            parsed = pin_event_parse(data)
            if parsed is not None:
                number, sent_at = parsed
        events.append((event_seq, number, sent_at))
    return Frame(kind, seq, tuple(events))


class FrameCache:
    """Decodes each distinct frame once per process.

    A broadcast sends the same bytes to every viewer, so decoding them once and reusing the
    result keeps the client's cost per frame low; the per-viewer checks still run for every
    viewer.
    """

    def __init__(self, run_id: str, size: int = 512) -> None:
        self.run_id = run_id
        self._size = size
        self._frames: dict[bytes, Frame] = {}

    def decode(self, payload: bytes) -> Frame:
        frame = self._frames.get(payload)
        if frame is None:
            frame = frame_decode(payload, self.run_id)
            if len(self._frames) >= self._size:
                # Dicts keep insertion order: drop the oldest entry.
                del self._frames[next(iter(self._frames))]
            self._frames[payload] = frame
        return frame


def _mark(flags: bytearray, index: int) -> bool:
    """Set flag ``index``; return whether it was already set."""
    if index >= len(flags):
        flags.extend(bytes(index + 1 - len(flags) + 64))
    seen = flags[index] == 1
    flags[index] = 1
    return seen


@dataclass(slots=True)
class ViewerState:
    """One viewer's view of the log, checked the way the protocol tells clients to.

    Events with a ``seq`` already applied are dropped (counted as duplicates before dedupe);
    an event older than the last applied one that was never seen is applied and counted out of
    order. A benchmark message applied twice under different ``seq`` values is a duplicate
    after dedupe.
    """

    base_seq: int = -1
    last_seq: int = -1
    seen_seq: bytearray = field(default_factory=bytearray)
    seen_message: bytearray = field(default_factory=bytearray)
    duplicates: int = 0
    out_of_order: int = 0
    duplicate_messages: int = 0
    gaps: int = 0

    def snapshot(self, seq: int) -> None:
        self.base_seq = seq
        self.last_seq = seq

    def apply(self, frame: Frame, received_at: float, latencies: list[float]) -> int:
        """Apply a batch; append latencies in ms of new messages; return how many were new."""
        delivered = 0
        for seq, number, sent_at in frame.events:
            offset = seq - self.base_seq
            if offset <= 0 or _mark(self.seen_seq, offset):
                self.duplicates += 1
                continue
            if seq < self.last_seq:
                self.out_of_order += 1
            else:
                self.last_seq = seq
            if number < 0:
                continue
            if _mark(self.seen_message, number):
                self.duplicate_messages += 1
                continue
            delivered += 1
            latencies.append((received_at - sent_at) * 1000.0)
        return delivered

    def received(self, numbers: Sequence[int]) -> int:
        """How many of the message ``numbers`` this viewer applied."""
        flags = self.seen_message
        size = len(flags)
        return sum(1 for number in numbers if number < size and flags[number])


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values; NaN for no values."""
    if not ordered:
        return math.nan
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be within [0, 1]")
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LatencySummary:
    count: int
    p50: float
    p95: float
    p99: float
    max: float


def latency_summary(values: Sequence[float]) -> LatencySummary:
    ordered = sorted(values)
    return LatencySummary(
        count=len(ordered),
        p50=percentile(ordered, 0.50),
        p95=percentile(ordered, 0.95),
        p99=percentile(ordered, 0.99),
        max=ordered[-1] if ordered else math.nan,
    )


def per_delivery_us(cpu_seconds: float, deliveries: int) -> float:
    """Server CPU microseconds per delivered message; NaN when nothing was delivered."""
    if deliveries <= 0:
        return math.nan
    return cpu_seconds * 1e6 / deliveries


def per_connection_kib(rss_before: int, rss_after: int, connections: int) -> float:
    if connections <= 0:
        return math.nan
    return (rss_after - rss_before) / connections / 1024.0
