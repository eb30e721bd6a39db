"""Push an ffmpeg test pattern to the live demo show (``make demo-stream``)."""

import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from liveshop.common.demo import DEMO_CHANNEL_SLUG
from shows.models import Show
from video.mediaserver import INSTALL_HINT, media_server_info_read, pattern_stream_command
from video.providers import video_provider_get
from video.services import show_stream_ensure


class Command(BaseCommand):
    help = "Stream a test pattern to the live demo show through the running media server."

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=600)

    def handle(self, *args, seconds: float, **options):
        info = media_server_info_read(media_dir=Path(settings.LIVESHOP_VIDEO_DIR))
        if info is None:
            raise CommandError(
                "No media server is running: start `make run` first (it starts nginx-rtmp "
                f"when nginx and ffmpeg are installed: {INSTALL_HINT})."
            )
        demo_shows = Show.objects.filter(channel__slug=DEMO_CHANNEL_SLUG).order_by(
            "scheduled_start"
        )
        show = (
            demo_shows.filter(status=Show.Status.LIVE).first()
            or demo_shows.filter(status=Show.Status.SCHEDULED).first()
        )
        if show is None:
            raise CommandError("No live or scheduled demo show: run `make demo` first.")
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
            raise CommandError(f"ffmpeg stopped with code {completed.returncode}.")
