"""Start the whole system: the ASGI server (uvicorn, or daphne), Celery and the media server.

Embedded mode runs one Celery worker with beat inside it on Kombu's
filesystem transport; with REDIS_URL a worker and a separate beat process run
on Redis. When nginx with the rtmp module and ffmpeg are installed, nginx-rtmp
runs beside them from a generated config (docs/video.md), and when coturn is
installed a TURN server for calls does too (docs/consultations.md); without
them everything else runs and the banner says how to install them. Ctrl-C
stops everything.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from consultations.turnserver import INSTALL_HINT as TURN_INSTALL_HINT
from consultations.turnserver import (
    TurnServer,
    TurnServerConfig,
    TurnServerError,
    turn_tools_missing,
)
from liveshop.demo.demo import DEMO_ACCOUNTS, DEMO_DESK_SLUG, DEMO_PASSWORD
from liveshop.runtime import runtime_database_describe, runtime_mode_describe
from liveshop.servers import ASGI_SERVER_DEFAULT, SERVERS, asgi_server_command
from shows.models import Show
from video.mediaserver import (
    INSTALL_HINT,
    MediaServer,
    MediaServerConfig,
    MediaServerError,
    media_tools_missing,
    port_free_pick,
)
from video.services import show_stream_ensure


class Command(BaseCommand):
    help = "Run the ASGI server and Celery (worker and beat) until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--server",
            choices=SERVERS,
            default=os.environ.get("LIVESHOP_ASGI_SERVER", ASGI_SERVER_DEFAULT),
            help=f"ASGI server (default {ASGI_SERVER_DEFAULT}, or LIVESHOP_ASGI_SERVER).",
        )

    def _commands(self, host: str, port: int, server: str) -> list[tuple[str, list[str]]]:
        python = sys.executable
        commands = [(server, asgi_server_command(server=server, host=host, port=port))]
        celery = [python, "-m", "celery", "-A", "liveshop"]
        if settings.REDIS_URL:
            commands.append(
                ("celery-worker", [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"])
            )
            commands.append(("celery-beat", [*celery, "beat", "--loglevel", "INFO"]))
        else:
            commands.append(
                (
                    "celery-worker+beat",
                    [*celery, "worker", "--beat", "--pool", "solo", "--loglevel", "INFO"],
                )
            )
        return commands

    def _media_server_start(self, host: str, port: int) -> tuple[MediaServer | None, list[str]]:
        """Start nginx-rtmp if this machine has it; returns it and the banner's video lines."""
        missing = media_tools_missing()
        if missing:
            return None, [
                f"  Video: not started, this machine lacks {', '.join(missing)}.",
                f"  Install them with: {INSTALL_HINT}",
            ]
        media_host = "127.0.0.1" if host in ("localhost", "0.0.0.0") else host
        config = MediaServerConfig(
            media_dir=Path(settings.LIVESHOP_VIDEO_DIR).resolve(),
            hook_url=f"http://{media_host}:{port}/hooks/rtmp",
            hook_secret=settings.LIVESHOP_VIDEO_HOOK_SECRET,
            rtmp_port=port_free_pick(1935, host=media_host),
            http_port=port_free_pick(8080, host=media_host),
            host=media_host,
            database=runtime_database_describe(),
        )
        server = MediaServer(config)
        try:
            server.start()
        except MediaServerError as error:
            return None, [f"  Video: nginx-rtmp did not start: {error}"]
        assert server.process is not None  # start() returned, so nginx runs
        lines = [
            f"  Video (nginx-rtmp, pid {server.process.pid}):",
            f"    OBS server URL:           {config.rtmp_url}",
        ]
        slug = settings.LIVESHOP_DEMO_CHANNEL_SLUG
        live = Show.objects.filter(channel__slug=slug, status=Show.Status.LIVE).first()
        if live is not None:
            secret = show_stream_ensure(show=live).secret
            lines.append(f"    Demo show stream key:     {live.public_id}?key={secret}")
            lines.append(
                f"    Demo show playlist:       {config.http_url}/hls/{live.public_id}.m3u8"
            )
            lines.append("    Test pattern to it:       make demo-stream")
        return server, lines

    def _turn_server_start(self, host: str) -> tuple[TurnServer | None, list[str]]:
        """Start coturn if this machine has it; returns it and the banner's call lines.

        A secret of this run's own: only the processes started here hand out credentials.
        """
        missing = turn_tools_missing()
        if missing:
            return None, [
                "  Calls: no TURN server (coturn is not installed); calls connect where the",
                "  browsers reach each other directly.",
                f"  Install it with: {TURN_INSTALL_HINT}",
            ]
        turn_host = "127.0.0.1" if host in ("localhost", "0.0.0.0") else host
        config = TurnServerConfig(
            run_dir=Path(settings.VAR_DIR).resolve() / "turn",
            secret=secrets.token_urlsafe(24),
            port=port_free_pick(3478, host=turn_host),
            host=turn_host,
        )
        server = TurnServer(config)
        try:
            server.start()
        except TurnServerError as error:
            return None, [f"  Calls: coturn did not start: {error}"]
        assert server.process is not None
        return server, [
            f"  Calls (coturn, pid {server.process.pid}):",
            f"    TURN server:              {config.urls[0]}",
        ]

    def _banner(self, host: str, port: int, video_lines: list[str]) -> str:
        base = f"http://{host}:{port}"
        slug = settings.LIVESHOP_DEMO_CHANNEL_SLUG
        lines = [
            "",
            "liveshop is running.",
            f"  {runtime_mode_describe()}",
            "",
            f"  Viewer: channel schedule:   {base}/",
            f"  Admin (schedule, catalog):  {base}/admin/",
            f"  Show schedule (admin):      {base}/admin/shows/show/schedule/",
            f"  API docs (Swagger):         {base}/api/v1/docs",
            f"  API docs (ReDoc):           {base}/api/v1/redoc",
            f"  OpenAPI schema:             {base}/api/v1/schema",
            f"  Demo channel schedule:      {base}/api/v1/channels/{slug}/schedule",
            f"  Advisor desk (API):         {base}/api/v1/desks/{DEMO_DESK_SLUG}",
        ]
        live = Show.objects.filter(channel__slug=slug, status=Show.Status.LIVE).first()
        if live is not None:
            lines.append(f"  Viewer: live demo show:     {base}/shows/{live.public_id}/")
            lines.append(f"  Studio: live demo show:     {base}/studio/shows/{live.public_id}/")
            lines.append(f"  Live demo show (API):       {base}/api/v1/shows/{live.public_id}")
            socket_base = base.replace("http", "ws", 1)
            lines.append(f"  Live demo show channel:     {socket_base}/ws/shows/{live.public_id}/")
        lines += ["", *video_lines]
        lines += ["", f"  Demo accounts (password for all: {DEMO_PASSWORD}):"]
        for account in DEMO_ACCOUNTS:
            lines.append(f"    {account.username:<14} {account.role}")
        lines += ["", "  Press Ctrl-C to stop.", ""]
        return "\n".join(lines)

    def handle(self, *args, host: str, port: int, server: str, **options):
        processes: list[tuple[str, subprocess.Popen]] = []
        environment = os.environ.copy()
        # Links in emails and calendar feeds must point at the port actually served.
        environment.setdefault("LIVESHOP_PUBLIC_BASE_URL", f"http://{host}:{port}")
        media_server, video_lines = self._media_server_start(host, port)
        if media_server is not None:
            environment.update(media_server.config.environment())
            allowed = {"127.0.0.1", "::1", media_server.config.host}
            environment["LIVESHOP_VIDEO_HOOK_ALLOWED_ADDRESSES"] = ",".join(sorted(allowed))
            assert media_server.process is not None
            processes.append(("nginx-rtmp", media_server.process))
        turn_server, call_lines = self._turn_server_start(host)
        if turn_server is not None:
            environment.update(turn_server.config.environment())
            assert turn_server.process is not None
            processes.append(("coturn", turn_server.process))
        for name, command in self._commands(host, port, server):
            processes.append((name, subprocess.Popen(command, env=environment)))
            self.stdout.write(f"started {name} (pid {processes[-1][1].pid})")
        self.stdout.write(self._banner(host, port, [*video_lines, "", *call_lines]))

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, process in processes:
                if process.poll() is not None:
                    self.stderr.write(f"{name} exited with code {process.returncode}; stopping.")
                    exit_code = process.returncode or 1
                    stopping = True
            time.sleep(0.5)
        if media_server is not None:
            # SIGQUIT first: nginx closes the recordings and reports them.
            media_server.stop()
        if turn_server is not None:
            turn_server.stop()
        for _, process in processes:
            if process.poll() is None:
                process.terminate()
        for _, process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        sys.exit(exit_code)
