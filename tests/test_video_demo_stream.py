"""`make demo-stream`: every reason it cannot stream is said in a sentence, before ffmpeg."""

import datetime as dt
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from liveshop.demo.management.commands import video_demo_stream
from liveshop.demo.management.commands.video_demo_stream import (
    demo_media_server_get,
    demo_show_streamable_get,
)
from shows.models import Show
from tests import factories
from video.mediaserver import INSTALL_HINT

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQLITE = "SQLite at /srv/liveshop/var/liveshop.sqlite3"
POSTGRES = "PostgreSQL at 127.0.0.1:5432/liveshop"
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def _info_write(media_dir: Path, *, rtmp_url: str, database: str) -> None:
    (media_dir / "run").mkdir(parents=True)
    (media_dir / "run" / "mediaserver.json").write_text(
        json.dumps(
            {"rtmp_url": rtmp_url, "http_url": "http://127.0.0.1:8080", "database": database}
        )
    )


@pytest.fixture
def listening():
    """A port something listens on, standing in for nginx-rtmp."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"rtmp://127.0.0.1:{server.getsockname()[1]}/live"


def _closed_port_url() -> str:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    return f"rtmp://127.0.0.1:{port}/live"


def test_without_ffmpeg_it_says_how_to_install_it(tmp_path, monkeypatch, listening):
    _info_write(tmp_path / "sqlite", rtmp_url=listening, database=SQLITE)
    monkeypatch.setattr(video_demo_stream.shutil, "which", lambda name: None)

    with pytest.raises(CommandError) as raised:
        demo_media_server_get(media_dir=tmp_path / "sqlite", database=SQLITE)

    assert str(raised.value) == (
        f"ffmpeg is not installed; it pushes the test pattern. {INSTALL_HINT}"
    )


def test_without_a_media_server_it_says_to_start_make_run(tmp_path):
    with pytest.raises(CommandError) as raised:
        demo_media_server_get(media_dir=tmp_path / "sqlite", database=SQLITE)

    assert str(raised.value) == (
        f"No media server is running for {SQLITE}: start `make run` first (it starts "
        f"nginx-rtmp when nginx and ffmpeg are installed: {INSTALL_HINT})."
    )


def test_a_media_server_of_another_database_is_named(tmp_path, listening):
    _info_write(tmp_path / "postgres-liveshop", rtmp_url=listening, database=POSTGRES)

    with pytest.raises(CommandError) as raised:
        demo_media_server_get(media_dir=tmp_path / "sqlite", database=SQLITE)

    assert str(raised.value) == (
        f"The running `make run` uses {POSTGRES}, this command {SQLITE}: run "
        "`make demo-stream` with the same DATABASE_URL and REDIS_URL as `make run`."
    )


def test_a_media_server_left_behind_by_a_stopped_make_run_is_not_used(tmp_path):
    url = _closed_port_url()
    _info_write(tmp_path / "sqlite", rtmp_url=url, database=SQLITE)

    with pytest.raises(CommandError) as raised:
        demo_media_server_get(media_dir=tmp_path / "sqlite", database=SQLITE)

    assert str(raised.value) == (
        f"No media server answers at {url}: the `make run` that started it has stopped. "
        "Start `make run` again."
    )


def test_the_running_media_server_of_this_database_is_used(tmp_path, listening):
    _info_write(tmp_path / "sqlite", rtmp_url=listening, database=SQLITE)
    _info_write(tmp_path / "postgres-liveshop", rtmp_url=listening, database=POSTGRES)

    info = demo_media_server_get(media_dir=tmp_path / "sqlite", database=SQLITE)

    assert info["rtmp_url"] == listening


NO_SHOW = (
    "The demo channel has no live show to stream to: a demo show ends when its stream "
    "stops. Run `make demo` (or start `make run` again) to put a new demo show live."
)


@pytest.mark.django_db
def test_without_a_live_demo_show_it_says_to_run_make_demo():
    channel = factories.ChannelFactory(slug=django_settings.LIVESHOP_DEMO_CHANNEL_SLUG)
    # Ended, and a scheduled show outside its start window: a publish to either is refused.
    factories.ShowFactory(
        channel=channel,
        status=Show.Status.ENDED,
        scheduled_start=NOW - dt.timedelta(minutes=30),
        scheduled_end=NOW + dt.timedelta(minutes=30),
    )
    factories.ShowFactory(
        channel=channel,
        status=Show.Status.SCHEDULED,
        scheduled_start=NOW + dt.timedelta(hours=2),
        scheduled_end=NOW + dt.timedelta(hours=3),
    )

    with pytest.raises(CommandError) as raised:
        demo_show_streamable_get(now=NOW)

    assert str(raised.value) == NO_SHOW


@pytest.mark.django_db
def test_the_live_demo_show_or_one_due_is_streamed_to():
    channel = factories.ChannelFactory(slug=django_settings.LIVESHOP_DEMO_CHANNEL_SLUG)
    due = factories.ShowFactory(
        channel=channel,
        status=Show.Status.SCHEDULED,
        scheduled_start=NOW + dt.timedelta(minutes=20),
        scheduled_end=NOW + dt.timedelta(minutes=80),
    )
    assert demo_show_streamable_get(now=NOW) == due

    live = factories.ShowFactory(
        channel=channel,
        status=Show.Status.LIVE,
        scheduled_start=NOW - dt.timedelta(minutes=40),
        scheduled_end=NOW + dt.timedelta(minutes=20),
    )
    assert demo_show_streamable_get(now=NOW) == live


@pytest.mark.django_db
def test_the_command_checks_the_show_before_it_starts_ffmpeg(
    settings, tmp_path, monkeypatch, listening
):
    settings.LIVESHOP_VIDEO_DIR = tmp_path / "sqlite"
    _info_write(tmp_path / "sqlite", rtmp_url=listening, database="test")
    monkeypatch.setattr(video_demo_stream, "runtime_database_describe", lambda: "test")
    started = []
    monkeypatch.setattr(video_demo_stream.subprocess, "run", lambda *a, **k: started.append(a))

    with pytest.raises(CommandError) as raised:
        call_command("video_demo_stream")

    assert str(raised.value) == NO_SHOW
    assert started == []


def test_the_command_exits_non_zero_with_the_sentence(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "LIVESHOP_VIDEO_DIR", "DJANGO_SETTINGS_MODULE"}
    }
    env["LIVESHOP_VAR_DIR"] = str(tmp_path / "var")

    result = subprocess.run(
        [sys.executable, "manage.py", "video_demo_stream"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("CommandError: ")
    assert "No media server is running for SQLite at " in result.stderr
    assert "Traceback" not in result.stderr
