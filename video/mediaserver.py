"""Run the reference media server: nginx with libnginx-mod-rtmp, configured for liveshop.

The config is rendered from ``video/templates/video/nginx-rtmp.conf`` with free ports,
paths under the media folder and the callback URLs, and nginx runs as liveshop's own
foreground process (``nginx -p <run dir> -c <conf>``), never as the system service.
``make run`` and the end-to-end test both start it through ``MediaServer``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import string
import subprocess
import time
import urllib.parse
from pathlib import Path

RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
TEMPLATE = Path(__file__).resolve().parent / "templates" / "video" / "nginx-rtmp.conf"
INSTALL_HINT = (
    "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
    "--no-install-recommends nginx libnginx-mod-rtmp ffmpeg"
)


class MediaServerError(Exception):
    pass


def media_tools_missing() -> list[str]:
    """What the reference media server needs and this machine lacks (empty: all there)."""
    missing = [tool for tool in ("nginx", "ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if not RTMP_MODULE.exists():
        missing.append(f"libnginx-mod-rtmp ({RTMP_MODULE})")
    return missing


def port_free_pick(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    """``preferred`` if nothing listens there, else a free port the kernel picks."""
    for candidate in ([preferred] if preferred else []) + [0]:
        with socket.socket() as probe:
            try:
                probe.bind((host, candidate))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise MediaServerError("no free port")


@dataclasses.dataclass(frozen=True)
class MediaServerConfig:
    media_dir: Path
    hook_url: str  # http://IP:PORT/hooks/rtmp; nginx resolves it when the config loads
    hook_secret: str
    rtmp_port: int
    http_port: int
    host: str = "127.0.0.1"
    hls_fragment: str = "2s"
    log_level: str = "warn"
    # The database of the liveshop that runs this server (no credentials), so
    # demo-stream can tell a terminal with other settings what is wrong.
    database: str = ""

    @property
    def run_dir(self) -> Path:
        return self.media_dir / "run"

    @property
    def rtmp_url(self) -> str:
        return f"rtmp://{self.host}:{self.rtmp_port}/live"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def environment(self) -> dict[str, str]:
        """The settings every liveshop process needs to talk to this media server."""
        return {
            "LIVESHOP_VIDEO_PROVIDER": "nginx_rtmp",
            "LIVESHOP_VIDEO_DIR": str(self.media_dir),
            "LIVESHOP_VIDEO_RTMP_URL": self.rtmp_url,
            "LIVESHOP_VIDEO_HTTP_URL": self.http_url,
            "LIVESHOP_VIDEO_HOOK_SECRET": self.hook_secret,
        }


def nginx_config_render(*, config: MediaServerConfig) -> str:
    return string.Template(TEMPLATE.read_text()).substitute(
        module=RTMP_MODULE,
        run_dir=config.run_dir,
        media_dir=config.media_dir,
        log_level=config.log_level,
        rtmp_listen=f"{config.host}:{config.rtmp_port}",
        http_listen=f"{config.host}:{config.http_port}",
        hook_url=config.hook_url,
        hook_secret=config.hook_secret,
        hls_fragment=config.hls_fragment,
    )


def _folders_prepare(config: MediaServerConfig) -> None:
    for name in ("run", "hls", "rec", "vod"):
        (config.media_dir / name).mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return
    # Started as root, nginx runs its workers as nobody: they write HLS segments and
    # recordings, and must be able to reach the folders at all.
    for parent in [config.media_dir, *config.media_dir.parents]:
        if not parent.stat().st_mode & 0o001:
            raise MediaServerError(
                f"{parent} is not searchable by other users, so nginx's workers "
                "(user nobody) cannot reach the media folder; pick another LIVESHOP_VIDEO_DIR."
            )
    for name in ("hls", "rec"):
        shutil.chown(config.media_dir / name, user="nobody", group="nogroup")


class MediaServer:
    """One nginx-rtmp process for liveshop: ``start()``, then ``stop()``."""

    def __init__(self, config: MediaServerConfig) -> None:
        self.config = config
        self.process: subprocess.Popen | None = None

    @property
    def conf_path(self) -> Path:
        return self.config.run_dir / "nginx-rtmp.conf"

    @property
    def info_path(self) -> Path:
        return self.config.run_dir / "mediaserver.json"

    def start(self, timeout: float = 15) -> None:
        _folders_prepare(self.config)
        self.conf_path.write_text(nginx_config_render(config=self.config))
        command = ["nginx", "-p", f"{self.config.run_dir}/", "-c", str(self.conf_path)]
        check = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
        if check.returncode != 0:
            raise MediaServerError(f"nginx refuses the generated config: {check.stderr.strip()}")
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        for port in (self.config.rtmp_port, self.config.http_port):
            while True:
                if self.process.poll() is not None:
                    log = self.config.run_dir / "error.log"
                    tail = log.read_text()[-500:] if log.exists() else ""
                    raise MediaServerError(f"nginx exited with {self.process.returncode}: {tail}")
                try:
                    with socket.create_connection((self.config.host, port), timeout=0.5):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise MediaServerError(f"nginx did not listen on {port}") from None
                    time.sleep(0.1)
        # demo-stream finds the running server's ports here.
        self.info_path.write_text(
            json.dumps(
                {
                    "rtmp_url": self.config.rtmp_url,
                    "http_url": self.config.http_url,
                    "database": self.config.database,
                }
            )
        )

    def stop(self, timeout: float = 10) -> None:
        """Stop gracefully (SIGQUIT closes recordings, so on_record_done still fires)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.info_path.unlink(missing_ok=True)


def pattern_stream_command(
    *, url: str, seconds: float, size: str = "320x180", rate: int = 15
) -> list[str]:
    """ffmpeg pushing a test pattern with a tone to ``url`` (RTMP), cheap on the CPU.

    A keyframe every second: HLS segments are only cut on keyframes, so this keeps
    the time to the first playable segment short (media.md §6.6).
    """
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
        "-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}",
        "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100",
        "-t", str(seconds),
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
        "-g", str(rate), "-keyint_min", str(rate), "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "64k",
        "-f", "flv", url,
    ]  # fmt: skip


def media_server_info_read(*, media_dir: Path) -> dict | None:
    """The running media server's URLs as ``MediaServer.start`` recorded them, if any."""
    try:
        return json.loads((media_dir / "run" / "mediaserver.json").read_text())
    except (OSError, ValueError):
        return None


def media_server_answers(*, rtmp_url: str, timeout: float = 2) -> bool:
    """Whether something listens at ``rtmp_url``'s host and port (a recorded server
    whose ``make run`` was killed leaves its file behind, and nothing listens)."""
    parsed = urllib.parse.urlsplit(rtmp_url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 1935), timeout=timeout):
            return True
    except OSError:
        return False
