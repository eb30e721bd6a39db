"""The load generator's pure pieces: websocket framing, per-viewer checks, report maths."""

import json
import math
import struct

import pytest

from bench import report, wsclient
from bench.stats import (
    Frame,
    FrameCache,
    ViewerState,
    frame_decode,
    latency_summary,
    message_text,
    message_text_parse,
    per_connection_kib,
    per_delivery_us,
    percentile,
    pin_title,
)


def _server_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        return struct.pack("!BB", first, length) + payload
    if length < 1 << 16:
        return struct.pack("!BBH", first, 126, length) + payload
    return struct.pack("!BBQ", first, 127, length) + payload


def test_parser_reads_frames_of_every_length_form():
    parser = wsclient.FrameParser()
    payloads = [b"x" * 5, b"y" * 300, b"z" * 70000]
    data = b"".join(_server_frame(wsclient.OP_TEXT, payload) for payload in payloads)
    assert parser.feed(data) == [(wsclient.OP_TEXT, payload) for payload in payloads]


def test_parser_waits_for_split_headers_and_payloads():
    parser = wsclient.FrameParser()
    data = _server_frame(wsclient.OP_TEXT, b"a" * 200) + _server_frame(wsclient.OP_TEXT, b"bc")
    messages = []
    for index in range(len(data)):
        messages += parser.feed(data[index : index + 1])
    assert messages == [(wsclient.OP_TEXT, b"a" * 200), (wsclient.OP_TEXT, b"bc")]


def test_parser_joins_fragments_around_a_control_frame():
    parser = wsclient.FrameParser()
    data = (
        _server_frame(wsclient.OP_TEXT, b"hel", fin=False)
        + _server_frame(wsclient.OP_PING, b"p")
        + _server_frame(wsclient.OP_CONTINUATION, b"lo")
    )
    assert parser.feed(data) == [(wsclient.OP_PING, b"p"), (wsclient.OP_TEXT, b"hello")]


def test_parser_unmasks_masked_frames():
    frame = wsclient.encode_frame(wsclient.OP_TEXT, b"masked text", mask_key=b"\x01\x02\x03\x04")
    assert wsclient.FrameParser().feed(frame) == [(wsclient.OP_TEXT, b"masked text")]


@pytest.mark.parametrize(
    "data",
    [
        bytes([0xC1, 0x00]),  # RSV1 without a negotiated extension
        _server_frame(wsclient.OP_CONTINUATION, b"x"),  # continuation without a start
        _server_frame(wsclient.OP_PING, b"x", fin=False),  # fragmented control frame
        _server_frame(0x3, b"x"),  # reserved opcode
    ],
)
def test_parser_refuses_invalid_framing(data):
    with pytest.raises(wsclient.ProtocolError):
        wsclient.FrameParser().feed(data)


def test_client_frames_are_masked_and_sized():
    payload = b"q" * 200
    frame = wsclient.encode_frame(wsclient.OP_TEXT, payload, mask_key=b"abcd")
    assert frame[0] == 0x81
    assert frame[1] == 0x80 | 126
    assert struct.unpack("!H", frame[2:4])[0] == 200
    assert frame[4:8] == b"abcd"
    assert frame[8:] != payload


def test_handshake_accept_matches_the_rfc_example():
    assert wsclient.handshake_accept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_handshake_check_refuses_a_refusal_and_a_wrong_accept():
    with pytest.raises(wsclient.ProtocolError):
        wsclient.handshake_response_check(b"HTTP/1.1 403 Forbidden", "key")
    with pytest.raises(wsclient.ProtocolError):
        wsclient.handshake_response_check(
            b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: nope", "key"
        )


def test_close_code_defaults_to_no_status():
    assert wsclient.close_code(struct.pack("!H", 4009) + b"too_slow") == 4009
    assert wsclient.close_code(b"") == 1005


def test_message_text_round_trips_and_ignores_other_runs():
    text = message_text("run1", 42, 1700000000.25)
    assert len(text) < 500
    assert message_text_parse(text, "run1") == (42, 1700000000.25)
    assert message_text_parse(text, "run2") is None
    assert message_text_parse("hello", "run1") is None


def _batch(seq: int, *events: tuple[int, str]) -> bytes:
    return json.dumps(
        {
            "type": "batch",
            "seq": seq,
            "events": [
                {"seq": event_seq, "type": "message.created", "data": {"id": 1, "text": text}}
                for event_seq, text in events
            ],
        }
    ).encode()


def test_frame_decode_keeps_only_this_runs_messages():
    frame = frame_decode(_batch(12, (11, message_text("r", 3, 10.0)), (12, "someone")), "r")
    assert frame.type == "batch"
    assert frame.seq == 12
    assert frame.events[0] == (11, 3, 10.0)
    assert frame.events[1][:2] == (12, -1)
    assert frame_decode(b"not json", "r").type == "invalid"


def test_frame_decode_reads_pins_of_the_pin_scenario():
    pinned = {
        "pinned_at": "2026-11-23T18:12:00.250000Z",
        "product": {"title": pin_title(7), "variants": []},
    }
    other = {"pinned_at": "2026-11-23T18:12:00Z", "product": {"title": "Winter boots"}}
    body = {
        "type": "batch",
        "seq": 3,
        "events": [
            {"seq": 2, "type": "product.pinned", "data": pinned},
            {"seq": 3, "type": "product.pinned", "data": other},
        ],
    }

    frame = frame_decode(json.dumps(body).encode(), "r")

    assert frame.events[0] == (2, 7, 1795457520.25)
    assert frame.events[1][:2] == (3, -1)


def test_frame_cache_returns_the_same_decoding():
    cache = FrameCache("r", size=2)
    payload = _batch(1, (1, message_text("r", 0, 1.0)))
    assert cache.decode(payload) is cache.decode(payload)
    cache.decode(b'{"type": "pong"}')
    cache.decode(b'{"type": "presence"}')
    assert cache.decode(payload) == frame_decode(payload, "r")


def test_viewer_state_dedupes_by_seq_and_counts_disorder():
    state = ViewerState()
    state.snapshot(100)
    latencies: list[float] = []
    assert state.apply(Frame("batch", 102, ((101, 0, 1.0), (102, 1, 1.0))), 1.5, latencies) == 2
    # 102 again is a duplicate; 104 before 103 is out of order, but both are delivered.
    assert state.apply(Frame("batch", 104, ((102, 1, 1.0), (104, 3, 1.0))), 2.0, latencies) == 1
    assert state.apply(Frame("batch", 104, ((103, 2, 1.0),)), 2.0, latencies) == 1
    # The same message under a new seq is a duplicate after dedupe.
    assert state.apply(Frame("batch", 105, ((105, 0, 1.0),)), 2.0, latencies) == 0
    # History from before the snapshot is never counted.
    assert state.apply(Frame("batch", 100, ((99, 7, 1.0),)), 2.0, latencies) == 0
    assert state.duplicates == 2
    assert state.out_of_order == 1
    assert state.duplicate_messages == 1
    assert latencies == [500.0, 500.0, 1000.0, 1000.0]
    assert state.received([0, 1, 2, 3, 4]) == 4


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile([7.0], 0.95) == 7.0
    assert math.isnan(percentile([], 0.5))
    with pytest.raises(ValueError, match="fraction"):
        percentile(values, 1.5)


def test_latency_summary_sorts_first():
    summary = latency_summary([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (summary.count, summary.p50, summary.max) == (5, 3.0, 5.0)


def test_per_unit_figures():
    assert per_delivery_us(1.5, 1_000_000) == 1.5
    assert math.isnan(per_delivery_us(1.0, 0))
    assert per_connection_kib(1000, 1000 + 10 * 1024 * 20, 10) == 20.0
    assert math.isnan(per_connection_kib(0, 1, 0))


def _result(server: str, **fields):
    base = {
        "scenario": "fanout-3000",
        "server": server,
        "viewers": 3000,
        "viewers_requested": 3000,
        "expected": 1_200_000,
        "lost": 0,
        "duplicates_after_dedupe": 0,
        "out_of_order": 0,
        "p99_ms": 120.0,
        "server_us_per_delivery": 10.0,
        "kib_per_connection": 20.0,
        "error": "",
    }
    return {**base, **fields}


def test_verdicts_compare_cpu_with_the_reference_of_the_same_scenario():
    results = [
        _result("liveshop/uvicorn", server_us_per_delivery=15.0),
        _result("liveshop/daphne", server_us_per_delivery=25.0, p99_ms=300.0),
        _result("reference"),
    ]
    verdicts = {(v["server"], v["target"]): v["passed"] for v in report.verdicts(results)}
    assert verdicts[("liveshop/uvicorn", "CPU/delivery ≤ 2× reference")]
    assert not verdicts[("liveshop/daphne", "CPU/delivery ≤ 2× reference")]
    assert not verdicts[("liveshop/daphne", "p99 < 250 ms")]
    assert not any(server == "reference" for server, _ in verdicts)


def test_docs_section_is_replaced_between_markers(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text("# Benchmarks\n\nProse.\n")
    report.docs_write(path, "first\n")
    report.docs_write(path, "second\n")
    text = path.read_text()
    assert text.startswith("# Benchmarks\n\nProse.\n")
    assert "second" in text
    assert "first" not in text
    assert text.count(report.DOCS_START) == 1
