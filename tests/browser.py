"""Fixtures for tests of the reference web clients in a real browser.

Python playwright drives the system's chromium (Debian's package; playwright's
own browser download is not used). Tests marked ``browser`` skip without it and
fail under CI=true. Screenshots go to ``artifacts/screenshots``.
"""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, servers_running

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A phone: the viewer page is built for 360–430 px wide screens.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
# A laptop: the studio console is used on both.
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PASSWORD = "correct horse battery staple"


def chromium_path() -> str | None:
    return os.environ.get("LIVESHOP_CHROMIUM") or shutil.which("chromium")


# Module scope: playwright's sync API keeps an event loop running in this thread
# while it is started, which would break later tests that run their own loop
# (asyncio.run). Modules of browser tests hold browser tests only.
@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    # The test's own ORM calls between browser steps are plain synchronous calls,
    # made while playwright's loop is parked in this thread.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=chromium_path(), args=CHROMIUM_ARGS
            )
            yield launched
            launched.close()


@pytest.fixture
def site_environment() -> dict[str, str]:
    """More settings for the ``site`` process; a test class may override it."""
    return {}


@pytest.fixture
def site(transactional_db, site_environment) -> Iterator[str]:
    """The base URL of a uvicorn process serving this test's database."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # Add-to-cart links are absolute: they must point at this server.
    with servers_running(
        ("uvicorn",),
        ports={"uvicorn": port},
        LIVESHOP_PRESENCE_INTERVAL_SECONDS="1",
        LIVESHOP_PUBLIC_BASE_URL=base_url,
        **site_environment,
    ):
        yield base_url


def _page_factory(browser, site, options: dict) -> Iterator:
    contexts = []

    def open_page(username: str | None = None):
        context = browser.new_context(base_url=site, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        if username is not None:
            sign_in(page, username)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def phone(browser, site) -> Iterator:
    """A factory of phone-sized pages, each in its own browser context (its own cookies)."""
    yield from _page_factory(browser, site, PHONE)


@pytest.fixture
def desktop(browser, site) -> Iterator:
    """A factory of laptop-sized pages, each in its own browser context."""
    yield from _page_factory(browser, site, DESKTOP)


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^(?!.*/login/)"))


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
