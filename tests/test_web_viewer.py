"""The viewer page in a real browser, against a real server process and Redis."""

import pytest
from playwright.sync_api import expect

from shows.models import Show
from tests import factories
from tests.browser import screenshot

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.browser]


def test_viewer_sees_a_second_viewers_message_within_a_second(phone):
    show = factories.ShowFactory(status=Show.Status.LIVE, title="Autumn layers")
    factories.UserFactory(username="vera")
    factories.UserFactory(username="otto")
    watcher = phone("vera")
    sender = phone("otto")
    for page in (watcher, sender):
        page.goto(f"/shows/{show.public_id}/")
        expect(page.locator("#connection")).to_have_attribute("data-state", "open")
    expect(watcher.locator("#show-title")).to_have_text("Autumn layers")

    sender.get_by_label("Message").fill("Does the coat come in green?")
    sender.get_by_role("button", name="Send").click()
    # The bar: the other viewer sees it within a second.
    expect(watcher.locator("#messages .text")).to_have_text(
        ["Does the coat come in green?"], timeout=1_000
    )
    screenshot(watcher, "viewer-live-chat")
