"""Settings come from the environment; these run Django in a child process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENGINE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "LIVESHOP_NOTIFICATION_WEBHOOK_URL",
    "LIVESHOP_NOTIFICATION_WEBHOOK_SECRET",
    "LIVESHOP_VIDEO_DIR",
)


def run_django(tmp_path, code: str, **environment: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ENGINE_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="liveshop.settings",
        LIVESHOP_VAR_DIR=str(tmp_path / "var"),
        **environment,
    )
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_refuses_to_start_without_secret_key_when_debug_is_off(tmp_path):
    result = run_django(tmp_path, "print('started')", DJANGO_DEBUG="false")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr
    assert "started" not in result.stdout


def test_starts_with_debug_off_and_a_secret_key(tmp_path):
    result = run_django(
        tmp_path,
        "from django.conf import settings; print(settings.DEBUG)",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="a-long-random-production-key-for-this-test-only",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_no_environment_means_embedded_mode(tmp_path):
    result = run_django(
        tmp_path,
        "from liveshop.runtime import runtime_mode_describe; print(runtime_mode_describe())",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("liveshop mode: embedded (SQLite at ")
    assert "in-process event broker (one server process only)" in result.stdout


def test_database_and_redis_urls_select_the_real_engines(tmp_path):
    result = run_django(
        tmp_path,
        "from django.conf import settings; from liveshop.runtime import runtime_mode_describe; "
        "print(hasattr(settings, 'CHANNEL_LAYERS')); print(settings.CELERY_BROKER_URL); "
        "print(runtime_mode_describe())",
        DATABASE_URL="postgres://liveshop@db.example:5432/shop",
        REDIS_URL="redis://cache.example:6379/2",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "False",
        "redis://cache.example:6379/2",
        "liveshop mode: Redis/PostgreSQL (PostgreSQL at db.example:5432/shop; show events over "
        "Redis pub/sub, Redis cache, Celery broker on Redis)",
    ]


def test_each_database_keeps_its_video_files_in_its_own_folder(tmp_path):
    code = "from django.conf import settings; print(settings.LIVESHOP_VIDEO_DIR)"
    embedded = run_django(tmp_path, code)
    postgres = run_django(tmp_path, code, DATABASE_URL="postgres://liveshop@db.example:5432/shop")
    other = run_django(tmp_path, code, DATABASE_URL="postgres://liveshop@db.example:5432/shop_2")

    assert [result.stdout.strip() for result in (embedded, postgres, other)] == [
        str(tmp_path / "var" / "video" / "sqlite"),
        str(tmp_path / "var" / "video" / "postgres-shop"),
        str(tmp_path / "var" / "video" / "postgres-shop_2"),
    ]


def test_the_demo_channel_slug_comes_from_the_environment(tmp_path):
    code = "from django.conf import settings; print(settings.LIVESHOP_DEMO_CHANNEL_SLUG)"
    unset = run_django(tmp_path, code)
    empty = run_django(tmp_path, code, LIVESHOP_DEMO_CHANNEL_SLUG="")
    named = run_django(tmp_path, code, LIVESHOP_DEMO_CHANNEL_SLUG="house-channel")

    assert [result.stdout.strip() for result in (unset, empty, named)] == [
        "liveshop-tv",
        "liveshop-tv",
        "house-channel",
    ]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DATABASE_URL", "mysql://root@localhost/shop", "DATABASE_URL must point at PostgreSQL"),
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG must be one of true/false"),
        (
            "LIVESHOP_NOTIFICATION_WEBHOOK_URL",
            "https://push.example.com/hook",
            "LIVESHOP_NOTIFICATION_WEBHOOK_SECRET must be set",
        ),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(tmp_path, variable, value, message):
    result = run_django(tmp_path, "print('started')", **{variable: value})

    assert result.returncode != 0
    assert message in result.stderr
