"""The viewer's page shells as Django renders them, and the JSON their scripts read."""

import datetime as dt

import pytest
from django.utils import timezone

from shows.models import Show
from tests import factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_a_cancelled_shows_page_says_so_and_why(client, merchandiser):
    start = timezone.now() + dt.timedelta(hours=2)
    show = factories.ShowFactory(scheduled_start=start, scheduled_end=start + dt.timedelta(hours=1))
    factories.ShowReminderFactory(show=show)
    client_for(merchandiser).post(
        f"/api/v1/shows/{show.public_id}/cancel", {"reason": "The host is ill."}, format="json"
    )

    page = client.get(f"/shows/{show.public_id}/")
    detail = client.get(f"/api/v1/shows/{show.public_id}").json()

    assert page.status_code == 200
    html = page.content.decode()
    # viewer.js shows this note in the "cancelled" mode and fills the reason from the detail.
    assert '<div id="cancelled-note" class="cancelled-note" role="status" hidden>' in html
    assert "<p>This show was cancelled.</p>" in html
    assert '<p id="cancellation-reason" class="cancellation-reason"></p>' in html
    assert (detail["status"], detail["cancellation_reason"]) == ("cancelled", "The host is ill.")
    assert detail["cancelled_at"] is not None


def test_the_home_page_shows_the_channel_the_setting_names(client, settings):
    settings.LIVESHOP_DEMO_CHANNEL_SLUG = "house-channel"

    home = client.get("/").content.decode()
    other = client.get("/channels/main/").content.decode()

    # schedule.js reads the schedule of the channel named here.
    assert 'data-channel-slug="house-channel"' in home
    assert 'data-channel-slug="main"' in other


def test_the_schedule_page_has_a_part_for_cancelled_shows(client):
    channel = factories.ChannelFactory(slug="main")
    start = timezone.now() + dt.timedelta(hours=2)
    cancelled = factories.ShowFactory(
        channel=channel,
        status=Show.Status.CANCELLED,
        cancellation_reason="Moved to spring.",
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(hours=1),
    )

    html = client.get("/channels/main/").content.decode()
    schedule = client.get("/api/v1/channels/main/schedule").json()

    # schedule.js fills #cancelled from "cancelled", never #upcoming (no countdown, no reminder).
    assert '<ol id="cancelled" class="show-list"></ol>' in html
    assert [show["public_id"] for show in schedule["cancelled"]] == [cancelled.public_id]
    assert schedule["cancelled"][0]["cancellation_reason"] == "Moved to spring."
    assert schedule["upcoming"] == []
