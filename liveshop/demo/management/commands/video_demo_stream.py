"""Push an ffmpeg test pattern to the live demo show (``make demo-stream``).

Every way this cannot stream is said in a sentence before ffmpeg starts: no
ffmpeg, no media server (or one started by a ``make run`` on another database),
no demo show that a publish would be accepted for.
"""

import datetime as dt
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from liveshop.runtime import runtime_database_describe
from shows.models import Show
from video.mediaserver import (
    INSTALL_HINT,
    media_server_answers,
    media_server_info_read,
    pattern_stream_command,
)
from video.providers import video_provider_get
from video.services import show_stream_ensure

SAME_SETTINGS = "run `make demo-stream` with the same DATABASE_URL and REDIS_URL as `make run`"


def demo_media_server_get(*, media_dir: Path, database: str) -> dict:
    """The media server that ``make run`` started for this database; else ``CommandError``."""
    if shutil.which("ffmpeg") is None:
        raise CommandError(f"ffmpeg is not installed; it pushes the test pattern. {INSTALL_HINT}")
    info = media_server_info_read(media_dir=media_dir)
    if info is None:
        # The embedded and the PostgreSQL mode keep their media folders side by side.
        for other in sorted(media_dir.parent.glob("*/run/mediaserver.json")):
            found = media_server_info_read(media_dir=other.parent.parent)
            if found and found.get("database") and found["database"] != database:
                raise CommandError(
                    f"The running `make run` uses {found['database']}, this command "
                    f"{database}: {SAME_SETTINGS}."
                )
        raise CommandError(
            f"No media server is running for {database}: start `make run` first (it starts "
            f"nginx-rtmp when nginx and ffmpeg are installed: {INSTALL_HINT})."
        )
    if info.get("database") and info["database"] != database:
        raise CommandError(
            f"The running `make run` uses {info['database']}, this command {database}: "
            f"{SAME_SETTINGS}."
        )
    if not media_server_answers(rtmp_url=info["rtmp_url"]):
        raise CommandError(
            f"No media server answers at {info['rtmp_url']}: the `make run` that started it "
            "has stopped. Start `make run` again."
        )
    return info


def demo_show_streamable_get(*, now: dt.datetime) -> Show:
    """The demo show a publish is accepted for now: live, or scheduled inside its start
    window (it goes live when the stream starts); else ``CommandError``."""
    shows = Show.objects.filter(channel__slug=settings.LIVESHOP_DEMO_CHANNEL_SLUG).order_by(
        "scheduled_start"
    )
    early = dt.timedelta(minutes=settings.LIVESHOP_VIDEO_START_EARLY_MINUTES)
    show = (
        shows.filter(status=Show.Status.LIVE).first()
        or shows.filter(
            status=Show.Status.SCHEDULED, scheduled_start__lte=now + early, scheduled_end__gt=now
        ).first()
    )
    if show is None:
        raise CommandError(
            "The demo channel has no live show to stream to: a demo show ends when its "
            "stream stops. Run `make demo` (or start `make run` again) to put a new demo "
            "show live."
        )
    return show


class Command(BaseCommand):
    help = "Stream a test pattern to the live demo show through the running media server."

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=600)

    def handle(self, *args, seconds: float, **options):
        info = demo_media_server_get(
            media_dir=Path(settings.LIVESHOP_VIDEO_DIR), database=runtime_database_describe()
        )
        show = demo_show_streamable_get(now=timezone.now())
        stream = show_stream_ensure(show=show)
        key = video_provider_get().stream_key_format(public_id=show.public_id, secret=stream.secret)
        self.stdout.write(f'Streaming a test pattern to "{show.title}" ({show.public_id}).')
        self.stdout.write(f"Viewers' playlist: {info['http_url']}/hls/{show.public_id}.m3u8")
        self.stdout.write("Ctrl-C stops the stream, which ends the show.")
        command = pattern_stream_command(url=f"{info['rtmp_url']}/{key}", seconds=seconds)
        try:
            completed = subprocess.run(command, check=False)
        except KeyboardInterrupt:
            return
        if completed.returncode not in (0, 255):
            raise CommandError(
                f"ffmpeg stopped with code {completed.returncode}: the media server refused "
                "or dropped the stream (the `make run` log says why)."
            )
