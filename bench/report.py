"""Tables, target verdicts and the machine description of a benchmark run."""

from __future__ import annotations

import math
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

DOCS_START = "<!-- bench-results:start -->"
DOCS_END = "<!-- bench-results:end -->"
VERSIONED = ("Django", "channels", "daphne", "uvicorn", "websockets", "uvloop")

# The "Done means" targets.
P99_LIMIT_MS = 250.0
CPU_RATIO_LIMIT = 2.0
IDLE_KIB_LIMIT = 50.0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_describe() -> dict[str, Any]:
    versions = {}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "cpu": _cpu_model(),
        "cores": psutil.cpu_count(logical=True),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "versions": versions,
    }


def _number(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _reference_us(results: list, scenario: str) -> float:
    for result in results:
        if _get(result, "scenario") == scenario and _get(result, "server") == "reference":
            return _get(result, "server_us_per_delivery")
    return math.nan


def _get(result: Any, name: str) -> Any:
    # Results written by an older harness may lack a newer figure.
    return result.get(name, math.nan) if isinstance(result, dict) else getattr(result, name)


def cpu_ratio(results: list, result: Any) -> float:
    reference = _reference_us(results, _get(result, "scenario"))
    mine = _get(result, "server_us_per_delivery")
    if math.isnan(reference) or math.isnan(mine) or reference <= 0:
        return math.nan
    return mine / reference


def _verdict(result: Any, target: str, value: str, passed: bool) -> dict[str, Any]:
    return {
        "scenario": _get(result, "scenario"),
        "server": _get(result, "server"),
        "target": target,
        "value": value,
        "passed": passed,
    }


def verdicts(results: list) -> list[dict[str, Any]]:
    """The issue's targets, checked for every liveshop run of the scenario they belong to."""
    out = []
    for result in results:
        if _get(result, "server") == "reference":
            continue
        scenario = _get(result, "scenario")
        complete = _get(result, "viewers") == _get(result, "viewers_requested")
        fanout = scenario in ("fanout-3000", "fanout-3000-2proc")
        if fanout or scenario in ("scale-10000", "smoke", "pin-1000"):
            lost = _get(result, "lost")
            ok = lost == 0 and complete and _get(result, "expected") > 0
            out.append(_verdict(result, "0 lost, every viewer connected", f"{lost:,} lost", ok))
        if fanout:
            after = _get(result, "duplicates_after_dedupe")
            disorder = _get(result, "out_of_order")
            out.append(
                _verdict(
                    result,
                    "0 duplicated after dedupe, in order",
                    f"{after} duplicated, {disorder} out of order",
                    after == 0 and disorder == 0,
                )
            )
            p99 = _get(result, "p99_ms")
            out.append(
                _verdict(
                    result,
                    f"p99 < {P99_LIMIT_MS:.0f} ms",
                    f"{_number(p99)} ms",
                    not math.isnan(p99) and p99 < P99_LIMIT_MS,
                )
            )
            ratio = cpu_ratio(results, result)
            out.append(
                _verdict(
                    result,
                    f"CPU/delivery ≤ {CPU_RATIO_LIMIT:.0f}× reference",
                    f"{_number(ratio, 2)}×",
                    not math.isnan(ratio) and ratio <= CPU_RATIO_LIMIT,
                )
            )
        if scenario == "pin-1000":
            p99 = _get(result, "p99_ms")
            out.append(
                _verdict(
                    result,
                    f"pin-to-viewer p99 < {P99_LIMIT_MS:.0f} ms",
                    f"{_number(p99)} ms",
                    not math.isnan(p99) and p99 < P99_LIMIT_MS,
                )
            )
        if scenario == "idle-memory":
            kib = _get(result, "kib_per_connection")
            out.append(
                _verdict(
                    result,
                    f"< {IDLE_KIB_LIMIT:.0f} KiB per idle connection",
                    f"{_number(kib)} KiB",
                    complete and not math.isnan(kib) and kib < IDLE_KIB_LIMIT,
                )
            )
    return out


def line(result: Any) -> str:
    """One progress line on stderr after each run."""
    if _get(result, "error"):
        return f"{_get(result, 'scenario')} {_get(result, 'server')}: {_get(result, 'error')}"
    return (
        f"{_get(result, 'scenario')} {_get(result, 'server')}: "
        f"{_get(result, 'viewers'):,} viewers, delivered {_get(result, 'delivered'):,}/"
        f"{_get(result, 'expected'):,}, p99 {_number(_get(result, 'p99_ms'))} ms, "
        f"{_number(_get(result, 'server_us_per_delivery'), 2)} µs/delivery, "
        f"{_number(_get(result, 'kib_per_connection'))} KiB/conn"
    )


_HEADER = (
    "| scenario | server | procs | viewers | msg/s | delivered / expected | lost | dup pre / post"
    " dedupe | out of order | p50 ms | p95 ms | p99 ms | max ms | server CPU % | server µs /"
    " delivery | × reference | msgs / frame | ack p50 ms | ack p99 ms | machine busy % |"
    " KiB / conn | connect s |"
)


def _row(results: list, result: Any) -> str:
    idle = _get(result, "expected") == 0 and _get(result, "published") == 0
    viewers = f"{_get(result, 'viewers'):,}/{_get(result, 'viewers_requested'):,}"
    cells = [
        _get(result, "scenario"),
        _get(result, "server"),
        str(_get(result, "processes")),
        viewers,
    ]
    if _get(result, "error"):
        cells += ["error"] + ["–"] * 15
    elif idle:
        cells += ["idle"] + ["–"] * 15
    else:
        cells += [
            _number(_get(result, "rate"), 0),
            f"{_get(result, 'delivered'):,} / {_get(result, 'expected'):,}",
            f"{_get(result, 'lost'):,}",
            f"{_get(result, 'duplicates_before_dedupe'):,} / "
            f"{_get(result, 'duplicates_after_dedupe'):,}",
            f"{_get(result, 'out_of_order'):,}",
            _number(_get(result, "p50_ms")),
            _number(_get(result, "p95_ms")),
            _number(_get(result, "p99_ms")),
            _number(_get(result, "max_ms")),
            _number(_get(result, "server_cpu_percent"), 0),
            _number(_get(result, "server_us_per_delivery"), 2),
            _number(cpu_ratio(results, result), 2),
            _number(_get(result, "messages_per_frame")),
            _number(_get(result, "ack_p50_ms")),
            _number(_get(result, "ack_p99_ms")),
            _number(_get(result, "machine_cpu_percent"), 0),
        ]
    cells += [
        _number(_get(result, "kib_per_connection")),
        _number(_get(result, "connect_seconds")),
    ]
    return "| " + " | ".join(cells) + " |"


def markdown(output: dict[str, Any]) -> str:
    machine = output["machine"]
    results = output["results"]
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
    lines = [
        f"### Run of {output['started']}",
        "",
        f"Command: `{output['command'].strip()}` (coalescing window "
        f"{output['window_seconds'] * 1000:.0f} ms for liveshop and the reference).",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']} GiB RAM, "
        f"{machine['os']}, Python {machine['python']}; {versions}. Load generator and servers "
        "share the machine.",
        "",
        _HEADER,
        "|" + "---|" * _HEADER.count(" | ") + "---|",
    ]
    lines += [_row(results, result) for result in results]
    problems = [
        f"- {result['scenario']} {result['server']}: {result['error']}"
        for result in results
        if result["error"]
    ]
    for result in results:
        extra = []
        if result["send_errors"]:
            extra.append(f"send errors {result['send_errors']}")
        if result["unanswered"]:
            extra.append(f"{result['unanswered']} sends unanswered")
        if result["connect_failures"]:
            extra.append(f"connect failures {result['connect_failures']}")
        if result["closed_during_run"]:
            extra.append(f"closed during the run {result['closed_during_run']}")
        if extra:
            problems.append(f"- {result['scenario']} {result['server']}: " + "; ".join(extra))
    if problems:
        lines += ["", "Problems:", "", *problems]
    if output["verdicts"]:
        lines += [
            "",
            "| target | scenario | server | measured | verdict |",
            "|---|---|---|---|---|",
        ]
        for verdict in output["verdicts"]:
            lines.append(
                f"| {verdict['target']} | {verdict['scenario']} | {verdict['server']} | "
                f"{verdict['value']} | {'pass' if verdict['passed'] else '**FAIL**'} |"
            )
    return "\n".join(lines) + "\n"


def docs_write(path: Path, section: str) -> None:
    """Replace the generated results section of docs/benchmarks.md, keeping the prose."""
    text = path.read_text() if path.exists() else ""
    block = f"{DOCS_START}\n{section}{DOCS_END}"
    if DOCS_START in text and DOCS_END in text:
        before = text.split(DOCS_START, 1)[0]
        after = text.split(DOCS_END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block + "\n"
    path.write_text(text)
