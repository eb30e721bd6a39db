"""Wall-clock helpers for tests that schedule shows in a channel's time zone."""

import datetime as dt
import zoneinfo

from django.utils import timezone

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def berlin_at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=BERLIN)


def monday_in_berlin(*, weeks_ahead: int) -> dt.date:
    today = timezone.localtime(timezone.now(), BERLIN).date()
    return today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=weeks_ahead)
