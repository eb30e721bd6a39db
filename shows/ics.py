"""iCalendar (RFC 5545) rendering of shows for "add to calendar" and feeds."""

import datetime as dt
from collections.abc import Iterable

from icalendar import Calendar, Event

from shows.models import Channel, Show
from shows.selectors import show_page_url

ICS_CONTENT_TYPE = "text/calendar; charset=utf-8"
PRODID = "-//liveshop//shows//EN"


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def show_event_build(*, show: Show) -> Event:
    """One VEVENT; the UID stays the same across edits so calendars update in place."""
    event = Event()
    event.add("uid", f"{show.public_id}@liveshop")
    event.add("dtstamp", _utc(show.updated_at))
    event.add("last-modified", _utc(show.updated_at))
    event.add("dtstart", _utc(show.scheduled_start))
    event.add("dtend", _utc(show.scheduled_end))
    event.add("summary", show.title)
    description = show.description
    if show.status == Show.Status.CANCELLED and show.cancellation_reason:
        description = f"{description}\n\n{show.cancellation_reason}".strip()
    event.add("description", description)
    event.add("url", show_page_url(show=show))
    event.add("status", "CANCELLED" if show.status == Show.Status.CANCELLED else "CONFIRMED")
    return event


def calendar_render(*, shows: Iterable[Show], name: str, timezone_name: str = "UTC") -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", timezone_name)
    for show in shows:
        calendar.add_component(show_event_build(show=show))
    return calendar.to_ical()


def channel_calendar_render(*, channel: Channel, shows: Iterable[Show]) -> bytes:
    return calendar_render(shows=shows, name=channel.name, timezone_name=channel.timezone)


def show_calendar_render(*, show: Show) -> bytes:
    return calendar_render(shows=[show], name=show.title, timezone_name=show.channel.timezone)
