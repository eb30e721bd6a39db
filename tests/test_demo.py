"""Demo data and `make run`'s launcher, as a new user meets them."""

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zoneinfo
from pathlib import Path

import httpx
import pytest
from django.core.management import get_commands

from catalog.models import Product, Variant
from consultations.models import Desk, DeskAdvisor, DeskHours
from liveshop.accounts.models import User
from liveshop.demo.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_seed
from shows.models import Channel, Show, ShowMember, ShowProduct
from shows.services import show_end
from tests.conftest import client_for
from tests.servers import free_port
from video.mediaserver import INSTALL_HINT, media_tools_missing

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "products": Product.objects.count(),
        "variants": Variant.objects.count(),
        "shows": Show.objects.count(),
        "lineup": ShowProduct.objects.count(),
        "members": ShowMember.objects.count(),
        "desks": Desk.objects.count(),
        "advisors": DeskAdvisor.objects.count(),
        "desk_hours": DeskHours.objects.count(),
    }


def test_the_demo_commands_keep_their_names_in_the_demo_app():
    commands = get_commands()

    # The Makefile, README and docs call them by these names.
    assert {
        name: commands[name] for name in ("demo_seed", "liveshop_run", "video_demo_stream")
    } == {
        "demo_seed": "liveshop.demo",
        "liveshop_run": "liveshop.demo",
        "video_demo_stream": "liveshop.demo",
    }


@pytest.mark.django_db
def test_demo_seed_twice_creates_nothing_new():
    demo_seed()
    first = _counts()

    demo_seed()

    assert _counts() == first
    assert first["users"] == len(DEMO_ACCOUNTS)
    assert Show.objects.filter(status=Show.Status.LIVE).count() == 1
    assert Show.objects.filter(status=Show.Status.ENDED).count() == 2
    assert Show.objects.filter(status=Show.Status.SCHEDULED).count() >= 10


@pytest.mark.django_db
def test_demo_seed_fills_the_channel_the_setting_names(settings):
    settings.LIVESHOP_DEMO_CHANNEL_SLUG = "house-channel"

    demo_seed()

    assert list(Channel.objects.values_list("slug", flat=True)) == ["house-channel"]
    assert Show.objects.filter(channel__slug="house-channel", status=Show.Status.LIVE).count() == 1


@pytest.mark.django_db
def test_the_demo_schedule_offers_no_replay_it_cannot_play(api_client):
    demo_seed()

    schedule = api_client.get("/api/v1/channels/liveshop-tv/schedule").json()

    # The ended demo shows were never streamed: no recording, so no replay to promise.
    ended = Show.objects.filter(status=Show.Status.ENDED)
    assert [show.title.startswith("Replay") for show in ended] == [False, False]
    assert schedule["replays"] == []


@pytest.mark.django_db
def test_demo_seed_again_after_midnight_with_the_demo_show_still_live():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    demo_seed(now=dt.datetime(2026, 11, 23, 23, 40, tzinfo=berlin))
    live = Show.objects.get(status=Show.Status.LIVE)

    demo_seed(now=dt.datetime(2026, 11, 24, 0, 10, tzinfo=berlin))

    assert Show.objects.get(status=Show.Status.LIVE) == live
    yesterday = Show.objects.get(slug="ended-2026-11-23")
    assert yesterday.status == Show.Status.ENDED
    assert (yesterday.actual_start, yesterday.actual_end) == (
        dt.datetime(2026, 11, 23, 19, 0, tzinfo=berlin),
        dt.datetime(2026, 11, 23, 20, 0, tzinfo=berlin),
    )
    assert Show.objects.filter(status=Show.Status.ENDED).count() == 3


@pytest.mark.django_db
def test_demo_seed_after_the_live_demo_show_ended_puts_a_show_live_again():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    demo_seed(now=dt.datetime(2026, 11, 23, 15, 0, tzinfo=berlin))
    first = Show.objects.get(status=Show.Status.LIVE)
    # The stream stopped: the show ended after 20 minutes, its slot runs 40 more.
    show_end(show=first, now=dt.datetime(2026, 11, 23, 15, 10, tzinfo=berlin))

    demo_seed(now=dt.datetime(2026, 11, 23, 15, 15, tzinfo=berlin))

    second = Show.objects.get(status=Show.Status.LIVE)
    first.refresh_from_db()
    assert second != first
    assert first.status == Show.Status.ENDED
    assert (first.scheduled_start, first.scheduled_end) == (
        dt.datetime(2026, 11, 23, 14, 50, tzinfo=berlin),
        dt.datetime(2026, 11, 23, 15, 10, tzinfo=berlin),
    )
    assert (second.scheduled_start, second.scheduled_end) == (
        dt.datetime(2026, 11, 23, 15, 10, tzinfo=berlin),
        dt.datetime(2026, 11, 23, 16, 5, tzinfo=berlin),
    )
    assert second.slug == "live-2026-11-23-1510"
    assert second.lineup.count() == 4


@pytest.mark.django_db
def test_demo_seed_again_within_the_minute_the_live_demo_show_ended():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    now = dt.datetime(2026, 11, 23, 15, 0, 30, tzinfo=berlin)
    demo_seed(now=now)
    first = Show.objects.get(status=Show.Status.LIVE)
    show_end(show=first, now=now)

    demo_seed(now=now)

    second = Show.objects.get(status=Show.Status.LIVE)
    assert second != first
    assert (first.slug, second.slug) == ("live-2026-11-23-1450", "live-2026-11-23-1500")


@pytest.mark.django_db
def test_demo_seed_puts_the_show_due_next_live_when_the_live_demo_show_ended():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    demo_seed(now=dt.datetime(2026, 11, 23, 9, 0, tzinfo=berlin))
    show_end(
        show=Show.objects.get(status=Show.Status.LIVE),
        now=dt.datetime(2026, 11, 23, 9, 30, tzinfo=berlin),
    )
    shows = Show.objects.count()

    # The 11:00 show is due within the stream start window: it goes live itself.
    demo_seed(now=dt.datetime(2026, 11, 23, 10, 40, tzinfo=berlin))

    assert Show.objects.get(status=Show.Status.LIVE).slug == "show-2026-11-23-1100"
    assert Show.objects.count() == shows


@pytest.mark.django_db
@pytest.mark.parametrize("account", DEMO_ACCOUNTS, ids=lambda account: account.username)
def test_every_demo_account_gets_a_token(api_client, account):
    demo_seed()

    response = api_client.post(
        "/api/v1/auth/token",
        {"username": account.username, "password": DEMO_PASSWORD},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["user"]["role"] == account.role


def test_run_command_starts_the_system_and_the_printed_urls_answer(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER"}
    }
    env["LIVESHOP_VAR_DIR"] = str(tmp_path / "var")
    # nginx-rtmp's workers run as nobody when started as root: a folder they can reach.
    video_dir = Path(tempfile.mkdtemp(prefix="liveshop-video-"))
    video_dir.chmod(0o755)
    env["LIVESHOP_VIDEO_DIR"] = str(video_dir)
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--no-input", "-v0"], ["demo_seed"]):
        subprocess.run([*manage, *command], cwd=PROJECT_ROOT, env=env, check=True, timeout=120)
    port = free_port()
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*manage, "liveshop_run", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"{base}/api/v1/schema", timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.5)
            output = log_path.read_text()
            urls = re.findall(rf"{re.escape(base)}\S*", output)

            assert "liveshop mode: embedded" in output
            assert f"{base}/admin/" in urls
            assert f"{base}/api/v1/docs" in urls
            for account in DEMO_ACCOUNTS:
                assert re.search(rf"^\s+{account.username}\s+{account.role}$", output, re.M)
            if media_tools_missing():
                assert f"Install them with: {INSTALL_HINT}" in output
            else:
                server_url = re.search(r"OBS server URL:\s+(rtmp://\S+)", output)
                assert server_url is not None, output
                playlist = re.search(r"Demo show playlist:\s+(http://\S+)", output)
                # The demo show is live but nobody streams yet: nginx answers, no playlist.
                assert httpx.get(playlist.group(1), timeout=10).status_code == 404
            for url in urls:
                response = httpx.get(url, timeout=10)
                assert response.status_code in {200, 302}, (url, response.status_code)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
            shutil.rmtree(video_dir, ignore_errors=True)

    assert process.returncode == 0


@pytest.mark.django_db
def test_the_demo_desk_is_open_now_and_its_advisor_can_take_a_request(api_client):
    demo_seed()
    desk = api_client.get("/api/v1/desks/style-advice").json()
    viewer = User.objects.get(username="viewer")
    staff = User.objects.get(username="staff")

    asked = client_for(viewer).post(
        "/api/v1/desks/style-advice/consultations",
        {"source": "desk", "topic": "sizing"},
        format="json",
    )
    taken = client_for(staff).post("/api/v1/desks/style-advice/take", {}, format="json")

    assert (desk["name"], desk["is_open"]) == ("Style advice", True)
    assert [topic["slug"] for topic in desk["topics"]] == ["sizing", "styling", "delivery"]
    assert asked.status_code == 201
    assert taken.status_code == 200
    assert taken.json()["public_id"] == asked.json()["public_id"]
