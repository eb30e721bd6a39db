"""When a desk is open: weekly hours and their exceptions, in the desk's own time zone.

Hours are wall times of the desk's zone, so an opening at 09:00 stays at 09:00 across a
daylight-saving change. Two wall times need a rule:

- a time that does not exist (the hour skipped in spring) is read as the first wall time after
  the gap, for an opening and a closing alike: a desk that opens at 02:30 opens at 03:00, and
  one that closes at 02:30 stays open until 03:00;
- a time that occurs twice (the hour repeated in autumn) is read as its first occurrence when
  the desk opens and as its second when it closes, so no interval is shortened.
"""

import dataclasses
import datetime as dt
import itertools
import zoneinfo
from collections.abc import Iterable, Sequence

from consultations.models import MIDNIGHT, Desk, DeskHours, DeskHoursException
from shows.timezones import zone_named

# How far desk_next_opening looks ahead: two weeks covers a holiday season's exceptions.
NEXT_OPENING_SEARCH_DAYS = 14

UTC = dt.UTC


@dataclasses.dataclass(frozen=True)
class LocalInterval:
    """An opening interval of one local date; ``closes`` 00:00 means the end of the day."""

    opens: dt.time
    closes: dt.time


def desk_zone(desk: Desk) -> zoneinfo.ZoneInfo:
    """The zone ``desk``'s hours are in (UTC if the zone is unknown to this server)."""
    return zone_named(desk.timezone)


def _wall_time_exists(naive: dt.datetime, zone: zoneinfo.ZoneInfo) -> bool:
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def _instant(day: dt.date, time: dt.time, zone: zoneinfo.ZoneInfo, *, closing: bool) -> dt.datetime:
    """The aware instant of the wall time ``time`` on ``day``, by the rules of the module."""
    if closing and time == MIDNIGHT:
        day, time = day + dt.timedelta(days=1), MIDNIGHT
    naive = dt.datetime.combine(day, time)
    # Skipped wall times: walk to the first minute after the gap (gaps are at most a few hours).
    while not _wall_time_exists(naive, zone):
        naive = (naive + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    return naive.replace(tzinfo=zone, fold=1 if closing else 0)


def local_intervals_overlap(intervals: Iterable[LocalInterval]) -> bool:
    """Whether any two intervals of one day overlap (touching ends do not overlap)."""

    def end(interval: LocalInterval) -> tuple[int, dt.time]:
        return (1, MIDNIGHT) if interval.closes == MIDNIGHT else (0, interval.closes)

    ordered = sorted(intervals, key=lambda interval: interval.opens)
    return any(end(first) > (0, second.opens) for first, second in itertools.pairwise(ordered))


@dataclasses.dataclass(frozen=True)
class DeskCalendar:
    """A desk's hours read once, to answer many questions without more queries."""

    zone: zoneinfo.ZoneInfo
    weekly: dict[int, tuple[LocalInterval, ...]]
    exceptions: dict[dt.date, tuple[LocalInterval, ...]]

    def day(self, day: dt.date) -> tuple[LocalInterval, ...]:
        """The intervals of the local date ``day``: its exception's, else its weekday's."""
        if day in self.exceptions:
            return self.exceptions[day]
        return self.weekly.get(day.weekday(), ())

    def intervals(
        self, *, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        """Open intervals (aware, UTC) that meet [start, end), clipped to it, in order."""
        found: list[tuple[dt.datetime, dt.datetime]] = []
        # One day before: an interval of the previous local date can still be open at start.
        day = start.astimezone(self.zone).date() - dt.timedelta(days=1)
        last = end.astimezone(self.zone).date()
        while day <= last:
            for interval in self.day(day):
                opens = _instant(day, interval.opens, self.zone, closing=False).astimezone(UTC)
                closes = _instant(day, interval.closes, self.zone, closing=True).astimezone(UTC)
                if closes > start and opens < end and opens < closes:
                    found.append((max(opens, start), min(closes, end)))
            day += dt.timedelta(days=1)
        found.sort()
        return found

    def is_open(self, at: dt.datetime) -> bool:
        return bool(self.intervals(start=at, end=at + dt.timedelta(microseconds=1)))

    def next_opening(self, after: dt.datetime) -> dt.datetime | None:
        """The next opening after ``after``; None if there is none in the next two weeks."""
        window = self.intervals(
            start=after, end=after + dt.timedelta(days=NEXT_OPENING_SEARCH_DAYS)
        )
        for opens, _closes in window:
            if opens > after:
                return opens
        return None

    def closes_at(self, at: dt.datetime) -> dt.datetime | None:
        """When the interval open at ``at`` ends (joined with intervals that touch it)."""
        window = self.intervals(start=at, end=at + dt.timedelta(days=NEXT_OPENING_SEARCH_DAYS))
        if not window or window[0][0] > at:
            return None
        closes = window[0][1]
        for opens, later_closes in window[1:]:
            if opens > closes:
                break
            closes = max(closes, later_closes)
        return closes


def _weekly(rows: Sequence[DeskHours]) -> dict[int, tuple[LocalInterval, ...]]:
    weekly: dict[int, list[LocalInterval]] = {}
    for row in rows:
        weekly.setdefault(row.weekday, []).append(LocalInterval(row.opens, row.closes))
    return {weekday: tuple(intervals) for weekday, intervals in weekly.items()}


def _exceptions(rows: Sequence[DeskHoursException]) -> dict[dt.date, tuple[LocalInterval, ...]]:
    exceptions: dict[dt.date, tuple[LocalInterval, ...]] = {}
    for row in rows:
        if row.is_closed or row.opens is None or row.closes is None:
            exceptions[row.date] = ()
        else:
            exceptions[row.date] = (LocalInterval(row.opens, row.closes),)
    return exceptions


def desk_calendar_get(*, desk: Desk) -> DeskCalendar:
    """``desk``'s weekly hours and exceptions, in two queries (one with a prefetch)."""
    return DeskCalendar(
        zone=desk_zone(desk),
        weekly=_weekly(list(DeskHours.objects.filter(desk=desk))),
        exceptions=_exceptions(list(DeskHoursException.objects.filter(desk=desk))),
    )


def desk_is_open(*, desk: Desk, at: dt.datetime) -> bool:
    """Whether ``desk`` is open at the instant ``at``."""
    return desk_calendar_get(desk=desk).is_open(at)


def desk_next_opening(*, desk: Desk, after: dt.datetime) -> dt.datetime | None:
    """When ``desk`` next opens after ``after`` (UTC), or None if not in the next two weeks."""
    return desk_calendar_get(desk=desk).next_opening(after)
