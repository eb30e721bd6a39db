"""A desk's opening hours: wall times of the desk's zone, weekly, with dated exceptions."""

import datetime as dt

import pytest

from consultations.models import DeskHours, DeskHoursException
from consultations.selectors.hours import (
    LocalInterval,
    desk_calendar_get,
    desk_is_open,
    desk_next_opening,
    local_intervals_overlap,
)
from tests import factories

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MONDAY_WINTER = dt.date(2027, 1, 4)
MONDAY_SUMMER = dt.date(2027, 7, 5)
SPRING_FORWARD = dt.date(2027, 3, 28)  # Berlin: 02:00 CET jumps to 03:00 CEST
FALL_BACK = dt.date(2027, 10, 31)  # Berlin: 03:00 CEST falls back to 02:00 CET


def _desk(zone="Europe/Berlin", hours=()):
    desk = factories.DeskFactory(timezone=zone)
    for weekday, opens, closes in hours:
        DeskHours.objects.create(desk=desk, weekday=weekday, opens=opens, closes=closes)
    return desk


def _at(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=UTC)


def test_weekly_hours_are_wall_times_in_winter_and_in_summer():
    desk = _desk(hours=[(0, dt.time(9), dt.time(18))])

    # 09:00-18:00 Berlin is 08:00-17:00 UTC in winter and 07:00-16:00 UTC in summer.
    assert [
        desk_is_open(desk=desk, at=_at(MONDAY_WINTER, h, m))
        for h, m in [(7, 59), (8, 0), (16, 59), (17, 0)]
    ] == [False, True, True, False]
    assert [
        desk_is_open(desk=desk, at=_at(MONDAY_SUMMER, h, m))
        for h, m in [(6, 59), (7, 0), (15, 59), (16, 0)]
    ] == [False, True, True, False]
    # Tuesday has no hours.
    assert desk_is_open(desk=desk, at=_at(MONDAY_WINTER + dt.timedelta(days=1), 10)) is False


def test_a_time_skipped_in_spring_reads_as_the_end_of_the_gap():
    sunday = SPRING_FORWARD.weekday()
    desk = _desk(
        hours=[(sunday, dt.time(0, 30), dt.time(2, 30)), (sunday, dt.time(2, 30), dt.time(4))]
    )
    calendar = desk_calendar_get(desk=desk)

    day_start, day_end = _at(SPRING_FORWARD, 0) - dt.timedelta(hours=2), _at(SPRING_FORWARD, 12)
    # 00:30 CET = 23:30 UTC the day before; 02:30 does not exist and reads as 03:00 CEST (01:00
    # UTC) for the closing and the opening alike; 04:00 CEST = 02:00 UTC.
    assert calendar.intervals(start=day_start, end=day_end) == [
        (dt.datetime(2027, 3, 27, 23, 30, tzinfo=UTC), _at(SPRING_FORWARD, 1)),
        (_at(SPRING_FORWARD, 1), _at(SPRING_FORWARD, 2)),
    ]
    # The two intervals touch, so the desk stays open straight through the change.
    assert calendar.closes_at(_at(SPRING_FORWARD, 0, 59)) == _at(SPRING_FORWARD, 2)


def test_a_time_repeated_in_autumn_opens_at_its_first_and_closes_at_its_second_occurrence():
    sunday = FALL_BACK.weekday()
    desk = _desk(hours=[(sunday, dt.time(0), dt.time(2, 30)), (sunday, dt.time(2, 30), dt.time(5))])
    calendar = desk_calendar_get(desk=desk)

    intervals = calendar.intervals(
        start=_at(FALL_BACK, 0) - dt.timedelta(hours=3), end=_at(FALL_BACK, 12)
    )
    # 00:00 CEST = 22:00 UTC the day before; closing at 02:30 is the second 02:30 (CET, 01:30
    # UTC); opening at 02:30 is the first (CEST, 00:30 UTC); 05:00 CET = 04:00 UTC.
    assert intervals == [
        (dt.datetime(2027, 10, 30, 22, 0, tzinfo=UTC), _at(FALL_BACK, 1, 30)),
        (_at(FALL_BACK, 0, 30), _at(FALL_BACK, 4)),
    ]


def test_a_holiday_closes_the_day_and_special_hours_replace_the_weekdays():
    desk = _desk(hours=[(0, dt.time(9), dt.time(18))])
    holiday = MONDAY_WINTER
    special = MONDAY_WINTER + dt.timedelta(days=7)
    DeskHoursException.objects.create(desk=desk, date=holiday, is_closed=True, note="New Year")
    DeskHoursException.objects.create(
        desk=desk, date=special, is_closed=False, opens=dt.time(12), closes=dt.time(14)
    )

    assert desk_is_open(desk=desk, at=_at(holiday, 10)) is False
    assert desk_is_open(desk=desk, at=_at(special, 10)) is False
    assert desk_is_open(desk=desk, at=_at(special, 11)) is True  # 12:00 CET
    assert desk_is_open(desk=desk, at=_at(special, 13)) is False  # 14:00 CET
    # From the Sunday before the holiday, the next opening is the special Monday's noon.
    assert desk_next_opening(desk=desk, after=_at(holiday, 0) - dt.timedelta(days=1)) == _at(
        special, 11
    )


def test_a_lunch_break_closes_the_desk_between_two_intervals():
    desk = _desk(hours=[(0, dt.time(9), dt.time(12)), (0, dt.time(13), dt.time(18))])

    assert desk_is_open(desk=desk, at=_at(MONDAY_WINTER, 10, 59)) is True
    assert desk_is_open(desk=desk, at=_at(MONDAY_WINTER, 11, 30)) is False
    assert desk_next_opening(desk=desk, after=_at(MONDAY_WINTER, 11, 30)) == _at(MONDAY_WINTER, 12)
    assert desk_calendar_get(desk=desk).closes_at(_at(MONDAY_WINTER, 10)) == _at(MONDAY_WINTER, 11)


def test_closing_at_midnight_keeps_the_desk_open_to_the_end_of_the_day():
    friday = MONDAY_WINTER + dt.timedelta(days=4)
    desk = _desk(zone="America/Sao_Paulo", hours=[(4, dt.time(20), dt.time(0))])

    # São Paulo is UTC-3 all year: 20:00-24:00 local is 23:00-03:00 UTC.
    assert desk_is_open(desk=desk, at=_at(friday, 22, 59)) is False
    assert desk_is_open(desk=desk, at=_at(friday, 23)) is True
    assert desk_is_open(desk=desk, at=_at(friday + dt.timedelta(days=1), 2, 59)) is True
    assert desk_is_open(desk=desk, at=_at(friday + dt.timedelta(days=1), 3)) is False
    # The next opening after Friday night is the Friday after.
    assert desk_next_opening(desk=desk, after=_at(friday + dt.timedelta(days=1), 4)) == _at(
        friday + dt.timedelta(days=7), 23
    )


def test_no_opening_in_the_next_two_weeks_is_none():
    desk = _desk(hours=[])
    assert desk_next_opening(desk=desk, after=_at(MONDAY_WINTER, 0)) is None
    assert desk_is_open(desk=desk, at=_at(MONDAY_WINTER, 10)) is False


def test_a_zone_the_server_does_not_know_reads_as_utc():
    desk = _desk(hours=[(0, dt.time(9), dt.time(18))])
    type(desk).objects.filter(pk=desk.pk).update(timezone="Mars/Olympus_Mons")
    desk.refresh_from_db()

    assert desk_is_open(desk=desk, at=_at(MONDAY_WINTER, 9)) is True
    assert desk_is_open(desk=desk, at=_at(MONDAY_WINTER, 8, 59)) is False


def test_intervals_overlap_unless_they_only_touch():
    def day(*pairs):
        return [LocalInterval(dt.time(*a), dt.time(*b)) for a, b in pairs]

    assert local_intervals_overlap(day(((9,), (12,)), ((13,), (18,)))) is False
    assert local_intervals_overlap(day(((9,), (12,)), ((12,), (18,)))) is False
    assert local_intervals_overlap(day(((9,), (12, 1)), ((12,), (18,)))) is True
    assert local_intervals_overlap(day(((20,), (0,)), ((9,), (21,)))) is True
    assert local_intervals_overlap(day(((13,), (0,)), ((9,), (10,)))) is False


def test_the_calendar_is_read_in_two_queries(django_assert_num_queries):
    desk = _desk(hours=[(0, dt.time(9), dt.time(12)), (0, dt.time(13), dt.time(18))])
    DeskHoursException.objects.create(desk=desk, date=MONDAY_WINTER, is_closed=True)

    with django_assert_num_queries(2):
        calendar = desk_calendar_get(desk=desk)
    assert calendar.is_open(_at(MONDAY_WINTER + dt.timedelta(days=7), 9)) is True
    assert calendar.is_open(_at(MONDAY_WINTER, 9)) is False
