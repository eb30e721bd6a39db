"""Links that leave the site (reminder email, calendar, notification hook) open the viewer page."""

import datetime as dt
import json
import re

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar
from pytest_httpserver import HTTPServer

from shows.models import Show
from shows.notifications import show_cancellation_deliver, show_reminder_deliver
from shows.services import show_cancel
from tests.factories import ChannelFactory, ShowFactory, ShowReminderFactory, UserFactory

pytestmark = pytest.mark.django_db

BASE = "https://live.example.com"
SECRET = "whsec-test-secret"


def _show(start_minutes: float, **kwargs) -> Show:
    start = timezone.now().replace(microsecond=0) + dt.timedelta(minutes=start_minutes)
    return ShowFactory(scheduled_start=start, scheduled_end=start + dt.timedelta(hours=1), **kwargs)


def _page_of(url: str, client) -> str:
    """The viewer page a link opens: its path on this site, fetched with the test client."""
    assert url.startswith(f"{BASE}/")
    response = client.get(url.removeprefix(BASE))
    assert response.status_code == 200
    assert [template.name for template in response.templates][0] == "web/show.html"
    return response.context["public_id"]


def test_the_reminder_email_links_the_viewer_page(settings, client):
    settings.PUBLIC_BASE_URL = BASE
    settings.LIVESHOP_NOTIFICATION_WEBHOOK_URL = ""
    show = _show(10, title="Spring boots")
    reminder = ShowReminderFactory(show=show, user=UserFactory(email="ada@example.com"))

    assert show_reminder_deliver(reminder_id=reminder.pk) is True

    (message,) = mail.outbox
    (link,) = re.findall(r"Watch: (\S+)", message.body)
    assert link == f"{BASE}/shows/{show.public_id}/"
    assert "/api/" not in message.body
    assert _page_of(link, client) == show.public_id


def test_the_hooks_show_url_is_the_viewer_page(
    httpserver: HTTPServer, settings, django_capture_on_commit_callbacks, client
):
    settings.PUBLIC_BASE_URL = BASE
    settings.LIVESHOP_NOTIFICATION_WEBHOOK_URL = httpserver.url_for("/hook")
    settings.LIVESHOP_NOTIFICATION_WEBHOOK_SECRET = SECRET
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    soon = _show(10)
    cancelled = _show(120)
    reminders = [ShowReminderFactory(show=soon), ShowReminderFactory(show=cancelled)]
    with django_capture_on_commit_callbacks():
        show_cancel(show=cancelled, reason="The host is ill.")

    with django_capture_on_commit_callbacks(execute=True):
        assert show_reminder_deliver(reminder_id=reminders[0].pk) is True
        assert show_cancellation_deliver(reminder_id=reminders[1].pk) is True

    bodies = [json.loads(request.get_data()) for request, _response in httpserver.log]
    assert [(body["type"], body["data"]["show"]["url"]) for body in bodies] == [
        ("show.starting_soon", f"{BASE}/shows/{soon.public_id}/"),
        ("show.cancelled", f"{BASE}/shows/{cancelled.public_id}/"),
    ]
    assert _page_of(bodies[1]["data"]["show"]["url"], client) == cancelled.public_id


def test_calendar_urls_are_the_viewer_pages(settings, api_client, client):
    settings.PUBLIC_BASE_URL = BASE
    channel = ChannelFactory(slug="main")
    show = ShowFactory(channel=channel)

    one = api_client.get(f"/api/v1/shows/{show.public_id}/calendar.ics")
    feed = api_client.get("/api/v1/channels/main/schedule.ics")

    for response in (one, feed):
        (event,) = Calendar.from_ical(response.content).walk("VEVENT")
        assert str(event["URL"]) == f"{BASE}/shows/{show.public_id}/"
        assert _page_of(str(event["URL"]), client) == show.public_id
