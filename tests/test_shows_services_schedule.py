"""Scheduling services: duplicating shows, moving them, overlaps under concurrency."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from liveshop.common.exceptions import ConflictError
from shows.models import Show, ShowMember, ShowProduct
from shows.services import (
    SHOW_DUPLICATE_MAX_COPIES,
    ShowTransitionError,
    show_create,
    show_duplicate,
    show_go_live,
    show_update,
    show_weekly_starts,
)
from tests import factories
from tests.timeutil import BERLIN, berlin_at, monday_in_berlin


def _show_with_lineup_and_team(*, start: dt.datetime) -> Show:
    channel = factories.ChannelFactory(timezone="Europe/Berlin")
    show = factories.ShowFactory(
        channel=channel,
        title="Sneaker Sunday",
        description="Fresh drops.",
        cover_image_url="https://images.example.com/cover.jpg",
        kind=Show.Kind.RECORDED,
        is_test=True,
        is_private=True,
        replay_allowed=False,
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(minutes=90),
    )
    factories.ShowProductFactory(show=show, position=0, show_price=Decimal("49.00"))
    factories.ShowProductFactory(show=show, position=1, show_price=None)
    factories.ShowMemberFactory(show=show, role=ShowMember.Role.HOST)
    factories.ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR)
    return show


def _snapshot() -> tuple[list, list, list]:
    return (
        list(Show.objects.order_by("pk").values_list("pk", "status", "scheduled_start")),
        list(ShowProduct.objects.order_by("pk").values_list("pk", "show_id")),
        list(ShowMember.objects.order_by("pk").values_list("pk", "show_id")),
    )


@pytest.mark.django_db
def test_show_duplicate_copies_fields_lineup_and_team_as_drafts():
    # Given a show with a lineup (one show price) and a team of two
    monday = monday_in_berlin(weeks_ahead=2)
    show = _show_with_lineup_and_team(start=berlin_at(monday, 20))
    merchandiser = factories.UserFactory(role="merchandiser")
    starts = [
        berlin_at(monday + dt.timedelta(days=7), 20),
        berlin_at(monday + dt.timedelta(days=3), 9),
    ]

    # When it is duplicated to two dates given out of order
    copies = show_duplicate(show=show, starts=starts, created_by=merchandiser)

    # Then two drafts exist in time order with everything copied
    assert [copy.scheduled_start for copy in copies] == sorted(starts)
    for copy in copies:
        copy.refresh_from_db()
        assert copy.pk != show.pk
        assert copy.status == Show.Status.DRAFT
        assert copy.channel_id == show.channel_id
        assert copy.title == "Sneaker Sunday"
        assert copy.description == "Fresh drops."
        assert copy.cover_image_url == "https://images.example.com/cover.jpg"
        assert copy.kind == Show.Kind.RECORDED
        assert (copy.is_test, copy.is_private, copy.replay_allowed) == (True, True, False)
        assert copy.scheduled_end - copy.scheduled_start == dt.timedelta(minutes=90)
        assert copy.created_by == merchandiser
        assert copy.public_id != show.public_id
        assert list(copy.lineup.values_list("product_id", "position", "show_price")) == list(
            show.lineup.values_list("product_id", "position", "show_price")
        )
        assert sorted(copy.members.values_list("user_id", "role")) == sorted(
            show.members.values_list("user_id", "role")
        )
    assert [copy.slug for copy in copies] == ["sneaker-sunday", "sneaker-sunday-2"]
    assert Show.objects.count() == 3


@pytest.mark.django_db
def test_show_duplicate_with_clashes_creates_nothing_and_reports_every_clash():
    # Given a show and two other shows in the way of weeks 2 and 4
    monday = monday_in_berlin(weeks_ahead=2)
    show = _show_with_lineup_and_team(start=berlin_at(monday, 20))
    factories.ShowFactory(
        channel=show.channel,
        title="Week two blocker",
        scheduled_start=berlin_at(monday + dt.timedelta(weeks=2), 21),
        scheduled_end=berlin_at(monday + dt.timedelta(weeks=2), 22),
    )
    factories.ShowFactory(
        channel=show.channel,
        title="Week four blocker",
        status=Show.Status.DRAFT,
        scheduled_start=berlin_at(monday + dt.timedelta(weeks=4), 19),
        scheduled_end=berlin_at(monday + dt.timedelta(weeks=4), 20, 30),
    )
    before = _snapshot()
    starts = show_weekly_starts(
        first_start=berlin_at(monday + dt.timedelta(weeks=1), 20),
        weeks=4,
        timezone_name="Europe/Berlin",
    )

    # When it is duplicated weekly for four weeks
    with pytest.raises(ValidationError) as caught:
        show_duplicate(show=show, starts=starts, created_by=None)

    # Then both clashing dates are named and nothing was written
    week2 = monday + dt.timedelta(weeks=2)
    week4 = monday + dt.timedelta(weeks=4)
    assert caught.value.messages == [
        f'{week2:%Y-%m-%d} 20:00 Europe/Berlin: This time overlaps "Week two blocker" '
        f"({week2:%Y-%m-%d} 21:00–22:00 Europe/Berlin) on the same channel. "
        "Pick a time when the channel is free.",
        f'{week4:%Y-%m-%d} 20:00 Europe/Berlin: This time overlaps "Week four blocker" '
        f"({week4:%Y-%m-%d} 19:00–20:30 Europe/Berlin) on the same channel. "
        "Pick a time when the channel is free.",
    ]
    assert _snapshot() == before


@pytest.mark.django_db
def test_show_duplicate_ignores_cancelled_shows_in_the_way():
    monday = monday_in_berlin(weeks_ahead=2)
    show = _show_with_lineup_and_team(start=berlin_at(monday, 20))
    target = berlin_at(monday + dt.timedelta(weeks=1), 20)
    factories.ShowFactory(
        channel=show.channel,
        status=Show.Status.CANCELLED,
        scheduled_start=target,
        scheduled_end=target + dt.timedelta(hours=1),
    )

    copies = show_duplicate(show=show, starts=[target], created_by=None)

    assert [copy.scheduled_start for copy in copies] == [target]


@pytest.mark.django_db
def test_show_duplicate_refuses_copies_overlapping_each_other_and_past_times():
    monday = monday_in_berlin(weeks_ahead=2)
    show = _show_with_lineup_and_team(start=berlin_at(monday, 20))
    before = _snapshot()
    first = berlin_at(monday + dt.timedelta(days=1), 20)
    past = timezone.now() - dt.timedelta(days=1)

    with pytest.raises(ValidationError) as caught:
        show_duplicate(
            show=show, starts=[first, first + dt.timedelta(minutes=30), past], created_by=None
        )

    assert caught.value.messages == [
        f"{timezone.localtime(past, BERLIN):%Y-%m-%d %H:%M} Europe/Berlin: "
        "this time has already passed.",
        f"{first.date():%Y-%m-%d} 20:30 Europe/Berlin: overlaps the copy before it.",
    ]
    assert _snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("starts", "message"),
    [
        ([], "Pick at least one date for the copies."),
        (
            "too many",
            f"At most {SHOW_DUPLICATE_MAX_COPIES} copies can be made at once.",
        ),
        ("naive", "Copy start times must carry a time zone."),
    ],
)
def test_show_duplicate_refuses_malformed_start_lists(starts, message):
    show = _show_with_lineup_and_team(start=berlin_at(monday_in_berlin(weeks_ahead=2), 20))
    far = timezone.now() + dt.timedelta(days=400)
    if starts == "too many":
        starts = [far + dt.timedelta(days=n) for n in range(SHOW_DUPLICATE_MAX_COPIES + 1)]
    elif starts == "naive":
        starts = [far.replace(tzinfo=None)]
    before = _snapshot()

    with pytest.raises(ValidationError) as caught:
        show_duplicate(show=show, starts=starts, created_by=None)

    assert caught.value.messages == [message]
    assert _snapshot() == before


def test_show_weekly_starts_keeps_local_wall_time_across_daylight_saving():
    # 2027-03-28 is the night clocks go forward in Berlin.
    first = berlin_at(dt.date(2027, 3, 21), 20)

    starts = show_weekly_starts(first_start=first, weeks=3, timezone_name="Europe/Berlin")

    assert starts == [
        dt.datetime(2027, 3, 21, 19, 0, tzinfo=dt.UTC),
        dt.datetime(2027, 3, 28, 18, 0, tzinfo=dt.UTC),
        dt.datetime(2027, 4, 4, 18, 0, tzinfo=dt.UTC),
    ]


@pytest.mark.django_db
def test_show_update_refuses_to_move_a_live_show():
    show = factories.ShowFactory(status=Show.Status.LIVE, title="On air")
    before = _snapshot()

    with pytest.raises(ShowTransitionError) as caught:
        show_update(
            show=show,
            data={
                "scheduled_start": show.scheduled_start + dt.timedelta(hours=1),
                "scheduled_end": show.scheduled_end + dt.timedelta(hours=1),
                "title": "Moved",
            },
        )

    assert caught.value.message == "A live show cannot be moved to another time."
    assert caught.value.code == "invalid_transition"
    assert _snapshot() == before
    show.refresh_from_db()
    assert show.title == "On air"


@pytest.mark.django_db
def test_show_update_may_rename_a_live_show_without_moving_it():
    show = factories.ShowFactory(status=Show.Status.LIVE, title="On air")

    updated = show_update(
        show=show, data={"title": "Still on air", "scheduled_start": show.scheduled_start}
    )

    assert updated.title == "Still on air"
    show.refresh_from_db()
    assert (show.title, show.status) == ("Still on air", Show.Status.LIVE)


@pytest.mark.django_db
def test_show_update_refuses_an_overlapping_move():
    channel = factories.ChannelFactory(timezone="UTC")
    first = factories.ShowFactory(channel=channel, title="First")
    second = factories.ShowFactory(channel=channel, title="Second")
    before = _snapshot()

    with pytest.raises(ValidationError) as caught:
        show_update(
            show=second,
            data={
                "scheduled_start": first.scheduled_start + dt.timedelta(minutes=30),
                "scheduled_end": first.scheduled_end + dt.timedelta(minutes=30),
            },
        )

    assert list(caught.value.message_dict) == ["scheduled_start"]
    assert _snapshot() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_show_create_lets_exactly_one_through():
    # Given one channel and two merchandisers saving overlapping shows at once
    channel = factories.ChannelFactory(timezone="UTC")
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
    barrier = threading.Barrier(2)
    results: list[str] = []
    lock = threading.Lock()

    def create(offset_minutes: int) -> None:
        try:
            barrier.wait(timeout=10)
            show_create(
                channel=channel,
                title=f"Race {offset_minutes}",
                scheduled_start=start + dt.timedelta(minutes=offset_minutes),
                scheduled_end=start + dt.timedelta(minutes=offset_minutes + 60),
            )
        except ValidationError as error:
            outcome = f"refused: {list(error.message_dict)}"
        else:
            outcome = "created"
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=create, args=(offset,)) for offset in (0, 30)]

    # When both run
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then the channel lock let exactly one through
    assert sorted(results) == ["created", "refused: ['scheduled_start']"]
    assert Show.objects.filter(channel=channel).count() == 1


@pytest.mark.django_db
def test_go_live_is_refused_while_another_show_of_the_channel_is_live():
    channel = factories.ChannelFactory()
    on_air = factories.ShowFactory(channel=channel, title="On air", status=Show.Status.LIVE)
    next_show = factories.ShowFactory(channel=channel, status=Show.Status.SCHEDULED)

    with pytest.raises(ConflictError) as caught:
        show_go_live(show=next_show)

    assert caught.value.code == "channel_busy"
    assert caught.value.message == '"On air" is live on this channel; end it before going live.'
    next_show.refresh_from_db()
    assert next_show.status == Show.Status.SCHEDULED
    assert next_show.actual_start is None
    on_air.refresh_from_db()
    assert on_air.status == Show.Status.LIVE


@pytest.mark.django_db
def test_go_live_is_allowed_once_the_other_show_ended():
    channel = factories.ChannelFactory()
    factories.ShowFactory(channel=channel, status=Show.Status.ENDED)
    next_show = factories.ShowFactory(channel=channel, status=Show.Status.SCHEDULED)

    live = show_go_live(show=next_show)

    assert live.status == Show.Status.LIVE
    assert live.actual_start is not None
