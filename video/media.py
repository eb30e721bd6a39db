"""ffmpeg and ffprobe, the only tools liveshop runs on video files."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

# A recording of several hours remuxes in seconds (-c copy); this only stops a hung tool.
TOOL_TIMEOUT_SECONDS = 600


class MediaError(Exception):
    """A recording that cannot become a replay; the message says why."""


@dataclasses.dataclass(frozen=True)
class VodResult:
    playlist: Path
    thumbnail: Path
    duration_seconds: float


def _run(command: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS, check=False
        )
    except FileNotFoundError as error:
        raise MediaError(f"{command[0]} is not installed.") from error
    except subprocess.TimeoutExpired as error:
        raise MediaError(f"{command[0]} did not finish in {TOOL_TIMEOUT_SECONDS} s.") from error


def _last_line(text: str, *, source: Path) -> str:
    # The team sees the reason: name the file, not where it lives on the server.
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].replace(str(source), source.name)[:200] if lines else "no output"


def media_probe(*, source: Path) -> dict:
    """ffprobe's view of ``source``: ``{"duration": float, "codec_types": [...]}``."""
    result = _run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_type",
            "-of",
            "json",
            str(source),
        ]
    )
    if result.returncode != 0:
        raise MediaError(
            f"ffprobe cannot read the recording: {_last_line(result.stderr, source=source)}"
        )
    probe = json.loads(result.stdout or "{}")
    try:
        duration = float(probe.get("format", {}).get("duration"))
    except (TypeError, ValueError):
        duration = 0.0
    return {
        "duration": duration,
        "codec_types": [stream.get("codec_type") for stream in probe.get("streams", [])],
    }


def vod_build(*, source: Path, target: Path) -> VodResult:
    """Remux ``source`` into an HLS VOD in ``target`` with a thumbnail; no re-encode.

    ``target`` is replaced as a whole: the playlist is written to a sibling folder
    first, so a reader never sees half a replay.
    """
    if not source.is_file() or source.stat().st_size == 0:
        raise MediaError("The recording is missing or empty.")
    probe = media_probe(source=source)
    if "video" not in probe["codec_types"]:
        raise MediaError("The recording holds no video.")
    if probe["duration"] <= 0:
        raise MediaError("The recording has no duration.")
    building = target.with_name(target.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    remux = _run(
        [
            "ffmpeg",
            "-nostdin",
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(source),
            "-c",
            "copy",
            "-f",
            "hls",
            "-hls_time",
            "4",
            "-hls_playlist_type",
            "vod",
            "-hls_segment_filename",
            str(building / "segment-%04d.ts"),
            str(building / "index.m3u8"),
        ]
    )
    if remux.returncode != 0:
        raise MediaError(
            f"ffmpeg cannot remux the recording: {_last_line(remux.stderr, source=source)}"
        )
    thumbnail = _run(
        [
            "ffmpeg",
            "-nostdin",
            "-y",
            "-loglevel",
            "error",
            "-ss",
            f"{min(1.0, probe['duration'] / 2):.2f}",
            "-i",
            str(source),
            "-frames:v",
            "1",
            "-vf",
            "scale=320:-2",
            str(building / "thumbnail.jpg"),
        ]
    )
    if thumbnail.returncode != 0:
        raise MediaError(
            f"ffmpeg cannot grab a thumbnail: {_last_line(thumbnail.stderr, source=source)}"
        )
    shutil.rmtree(target, ignore_errors=True)
    building.rename(target)
    return VodResult(
        playlist=target / "index.m3u8",
        thumbnail=target / "thumbnail.jpg",
        duration_seconds=round(probe["duration"], 3),
    )
