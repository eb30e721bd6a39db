"""Premieres: pins planned on the video's timeline fire at their offsets, once."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from liveshop.common.exceptions import ApplicationError
from shows.models import Show, ShowEvent, ShowMember, ShowPin
from shows.selectors import show_pin_timeline
from shows.services import show_product_pin
from tests import factories
from tests.conftest import client_for
from tests.test_shows_admin import _show_form
from tests.threads import threads_run
from video.models import PlannedPin
from video.selectors import show_playback_get
from video.services import (
    planned_pin_create,
    planned_pin_update,
    premiere_pins_fire,
    premiere_tick,
)


def _premiere(start: dt.datetime) -> Show:
    """A scheduled recorded show at ``start`` whose 10-minute video is processed."""
    show = factories.ShowFactory(
        kind=Show.Kind.RECORDED,
        status=Show.Status.SCHEDULED,
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(hours=1),
    )
    factories.RecordingFactory(show=show, provider="upload", duration_seconds=600.0)
    return show


@pytest.fixture
def premiere(db):
    return _premiere(timezone.now().replace(microsecond=0) + dt.timedelta(hours=1))


@pytest.fixture
def moderator(premiere):
    return factories.ShowMemberFactory(show=premiere, role=ShowMember.Role.MODERATOR).user


def _events(show) -> list[tuple[str, int | None, float | None]]:
    """Pin events as (type, product id, offset): start offset pinned, end unpinned."""
    events = []
    for event in ShowEvent.objects.filter(show=show).order_by("seq"):
        if event.type == "product.pinned":
            events.append((event.type, event.data["product"]["id"], event.data["start_offset"]))
        elif event.type == "product.unpinned":
            events.append((event.type, event.data["product_id"], event.data["end_offset"]))
        else:
            events.append((event.type, None, None))
    return events


def _plan(show, actor, product, offset, duration=None) -> PlannedPin:
    return planned_pin_create(
        show=show,
        product_id=product.pk,
        offset_seconds=offset,
        duration_seconds=duration,
        actor=actor,
    )


def test_planned_pins_fire_in_order_at_their_offsets_exactly_once(premiere, moderator):
    # Given three products planned on the video: boots 10-30 s, hat from 25 s, scarf 40-45 s
    boots, hat, scarf = (factories.ProductFactory() for _ in range(3))
    _plan(premiere, moderator, scarf, 40, 5)
    _plan(premiere, moderator, boots, 10, 20)
    _plan(premiere, moderator, hat, 25.5)
    start = premiere.scheduled_start

    # When the premiere airs: nothing is due at its start
    assert premiere_tick(now=start) == {"started": 1, "ended": 0, "pins": 0}
    # Then boots fire at 10 s, and a second tick at the same moment does nothing
    assert premiere_tick(now=start + dt.timedelta(seconds=10)) == {
        "started": 0,
        "ended": 0,
        "pins": 1,
    }
    assert premiere_tick(now=start + dt.timedelta(seconds=10)) == {
        "started": 0,
        "ended": 0,
        "pins": 0,
    }
    assert _events(premiere)[3:] == [("product.pinned", boots.pk, 10.0)]
    # And a tick 20 s late fires what was due since, each at its own moment
    assert premiere_tick(now=start + dt.timedelta(seconds=50)) == {
        "started": 0,
        "ended": 0,
        "pins": 2,
    }
    assert _events(premiere)[4:] == [
        ("product.pinned", hat.pk, 25.5),
        ("product.unpinned", boots.pk, 30.0),
        ("product.pinned", scarf.pk, 40.0),
        ("product.unpinned", scarf.pk, 45.0),
    ]
    assert premiere_tick(now=start + dt.timedelta(seconds=55))["pins"] == 0
    assert len(_events(premiere)) == 8

    # When the video has played through, the premiere ends and closes the hat's pin
    played = start + dt.timedelta(seconds=600)
    assert premiere_tick(now=played) == {"started": 0, "ended": 1, "pins": 0}
    assert _events(premiere)[8:] == [
        ("show.status", None, None),
        ("message.created", None, None),
        ("product.unpinned", hat.pk, 600.0),
        ("video.replay", None, None),
    ]

    # Then the timeline holds the three pins at their planned offsets
    premiere.refresh_from_db()
    timeline = show_pin_timeline(show=premiere)
    assert [(p["product"]["id"], p["start_offset"], p["end_offset"]) for p in timeline] == [
        (boots.pk, 10.0, 30.0),
        (hat.pk, 25.5, 600.0),
        (scarf.pk, 40.0, 45.0),
    ]
    assert list(
        PlannedPin.objects.order_by("offset_ms").values_list("product_id", "status", "pin_id")
    ) == [
        (boots.pk, "pinned", timeline[0]["id"]),
        (hat.pk, "pinned", timeline[1]["id"]),
        (scarf.pk, "pinned", timeline[2]["id"]),
    ]
    assert set(ShowPin.objects.values_list("pinned_by", "unpinned_by")) == {(None, None)}
    # And the premiere's replay (its own video) carries them on the same clock
    replay = show_playback_get(show=premiere, is_team=False)["replay"]
    assert [(p["product_id"], p["start_offset"], p["end_offset"]) for p in replay["pins"]] == [
        (boots.pk, 10.0, 30.0),
        (hat.pk, 25.5, 600.0),
        (scarf.pk, 40.0, 45.0),
    ]


def test_a_tick_after_the_end_fires_what_was_due_then_ends_the_premiere(premiere, moderator):
    boots, hat = factories.ProductFactory(), factories.ProductFactory()
    _plan(premiere, moderator, boots, 590, 5)
    _plan(premiere, moderator, hat, 598)
    start = premiere.scheduled_start
    premiere_tick(now=start)

    # A tick that comes long after the video ended
    assert premiere_tick(now=start + dt.timedelta(seconds=700)) == {
        "started": 0,
        "ended": 1,
        "pins": 2,
    }

    premiere.refresh_from_db()
    assert premiere.actual_end == start + dt.timedelta(seconds=600)
    assert _events(premiere)[3:] == [
        ("product.pinned", boots.pk, 590.0),
        ("product.unpinned", boots.pk, 595.0),
        ("product.pinned", hat.pk, 598.0),
        ("show.status", None, None),
        ("message.created", None, None),
        ("product.unpinned", hat.pk, 600.0),
        ("video.replay", None, None),
    ]


def test_a_planned_pin_the_show_refuses_is_skipped_once(premiere, moderator):
    # Given a premiere with room for one pin and a moderator who pins by hand too
    Show.objects.filter(pk=premiere.pk).update(max_pins=1)
    boots, hat = factories.ProductFactory(), factories.ProductFactory()
    _plan(premiere, moderator, boots, 10)
    _plan(premiere, moderator, hat, 20)
    start = premiere.scheduled_start
    premiere_tick(now=start)
    premiere.refresh_from_db()

    premiere_tick(now=start + dt.timedelta(seconds=10))
    # When the hat's moment comes while boots hold the only place
    assert premiere_tick(now=start + dt.timedelta(seconds=20))["pins"] == 0
    assert premiere_tick(now=start + dt.timedelta(seconds=21))["pins"] == 0

    # Then it is skipped with the refusal's code, once, and viewers heard of nothing
    assert list(PlannedPin.objects.order_by("offset_ms").values_list("status", "skip_reason")) == [
        ("pinned", ""),
        ("skipped", "pin_limit_reached"),
    ]
    assert _events(premiere)[3:] == [("product.pinned", boots.pk, 10.0)]
    assert ShowPin.objects.count() == 1


# Threads racing on select_for_update: SQLite has no row locks to race on.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_ticks_fire_each_planned_pin_once():
    # Given an airing premiere with two planned pins due
    start = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=1)
    show = _premiere(start)
    merchandiser = factories.UserFactory(role="merchandiser")
    boots, hat = factories.ProductFactory(), factories.ProductFactory()
    _plan(show, merchandiser, boots, 5, 10)
    _plan(show, merchandiser, hat, 8)
    assert premiere_tick(now=start)["started"] == 1
    due = start + dt.timedelta(seconds=20)

    # When four ticks fire the plan at once
    made = threads_run(
        lambda _: str(premiere_pins_fire(show_id=show.pk, until=due, now=due)), count=4
    )

    # Then each planned pin made one pin, and viewers got each event once
    assert sorted(made) == ["0", "0", "0", "2"]
    assert ShowPin.objects.filter(show=show).count() == 2
    assert _events(show)[3:] == [
        ("product.pinned", boots.pk, 5.0),
        ("product.pinned", hat.pk, 8.0),
        ("product.unpinned", boots.pk, 15.0),
    ]


# --- Planning: REST and refusals ---------------------------------------------------


def _url(show) -> str:
    return f"/api/v1/shows/{show.public_id}/video/planned-pins"


def test_a_moderator_plans_lists_and_removes_pins_over_rest(premiere, moderator):
    product = factories.ProductFactory(title="Boots")
    client = client_for(moderator)

    created = client.post(
        _url(premiere),
        {"product_id": product.pk, "offset_seconds": 12.5, "duration_seconds": 30},
        format="json",
    )

    assert created.status_code == 201
    planned = PlannedPin.objects.get()
    assert created.json() == {
        "id": planned.pk,
        "product_id": product.pk,
        "title": "Boots",
        "offset_seconds": 12.5,
        "duration_seconds": 30.0,
        "status": "planned",
        "skip_reason": "",
        "pin_id": None,
        "fired_at": None,
    }
    assert (planned.offset_ms, planned.duration_ms, planned.created_by) == (12500, 30000, moderator)
    assert client.get(_url(premiere)).json() == {"results": [created.json()]}
    assert client.delete(f"{_url(premiere)}/{planned.pk}").status_code == 204
    assert PlannedPin.objects.count() == 0
    # Viewers learn of a plan only when it fires.
    assert ShowEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"offset_seconds": 600}, 400, "offset_beyond_video"),
        ({"offset_seconds": 9000}, 400, "offset_beyond_video"),
        ({"product_id": 999_999}, 404, "product_not_found"),
        ({"inactive": True}, 404, "product_not_found"),
        ({"offset_seconds": -1}, 400, "min_value"),
        ({"duration_seconds": 0}, 400, "min_value"),
    ],
)
def test_a_plan_refused_changes_nothing(premiere, moderator, body, status, code):
    product = factories.ProductFactory(is_active=not body.pop("inactive", False))
    data = {"product_id": product.pk, "offset_seconds": 10, **body}

    response = client_for(moderator).post(_url(premiere), data, format="json")

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert PlannedPin.objects.count() == 0
    assert ShowEvent.objects.count() == 0


def test_only_the_team_plans_pins_and_only_on_a_premiere_before_it_airs(premiere, moderator):
    product = factories.ProductFactory()
    body = {"product_id": product.pk, "offset_seconds": 10}
    viewer = factories.UserFactory()
    other_moderator = factories.ShowMemberFactory(role=ShowMember.Role.MODERATOR).user
    for user in (viewer, other_moderator):
        refused = client_for(user).post(_url(premiere), body, format="json")
        assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
        assert client_for(user).get(_url(premiere)).status_code == 403
    assert client_for(None).post(_url(premiere), body, format="json").status_code == 401

    live_kind = factories.ShowFactory(status=Show.Status.SCHEDULED)
    merchandiser = factories.UserFactory(role="merchandiser")
    refused = client_for(merchandiser).post(_url(live_kind), body, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "not_recorded_show")

    no_video = factories.ShowFactory(kind=Show.Kind.RECORDED, status=Show.Status.SCHEDULED)
    refused = client_for(merchandiser).post(_url(no_video), body, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "premiere_video_not_ready")

    planned = _plan(premiere, moderator, product, 10)
    premiere_tick(now=premiere.scheduled_start)
    refused = client_for(moderator).post(
        _url(premiere), body | {"offset_seconds": 20}, format="json"
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "premiere_aired")
    deleted = client_for(moderator).delete(f"{_url(premiere)}/{planned.pk}")
    assert (deleted.status_code, deleted.json()["code"]) == (409, "premiere_aired")
    assert list(PlannedPin.objects.values_list("pk", flat=True)) == [planned.pk]
    assert [event.type for event in ShowEvent.objects.order_by("seq")] == [
        "show.status",
        "message.created",
        "video.playable",
    ]


def test_a_plan_changes_only_within_the_rules(premiere, moderator):
    boots, hat = factories.ProductFactory(), factories.ProductFactory()
    planned = _plan(premiere, moderator, boots, 10, 5)
    _plan(premiere, moderator, hat, 30)
    change = {"show": premiere, "planned_pin_id": planned.pk, "actor": moderator}

    planned_pin_update(**change, product_id=hat.pk, offset_seconds=20, duration_seconds=None)

    planned.refresh_from_db()
    assert (planned.product_id, planned.offset_ms, planned.duration_ms) == (hat.pk, 20000, None)
    refusals = [
        ({"offset_seconds": 600.5}, "offset_beyond_video"),
        ({"offset_seconds": 30}, "already_planned"),
        ({"duration_seconds": 0}, "invalid_duration"),
        ({"planned_pin_id": 999_999}, "planned_pin_not_found"),
    ]
    for refusal, code in refusals:
        data = change | {"product_id": hat.pk, "offset_seconds": 25, "duration_seconds": 3}
        with pytest.raises(ApplicationError) as raised:
            planned_pin_update(**data | refusal)
        assert raised.value.code == code
    planned.refresh_from_db()
    assert (planned.product_id, planned.offset_ms, planned.duration_ms) == (hat.pk, 20000, None)
    other = _premiere(premiere.scheduled_start + dt.timedelta(days=1))
    other_url = f"{_url(other)}/{planned.pk}"
    deleted = client_for(factories.UserFactory(role="merchandiser")).delete(other_url)
    assert (deleted.status_code, deleted.json()["code"]) == (404, "planned_pin_not_found")
    assert PlannedPin.objects.count() == 2


def test_a_manual_pin_of_the_planned_product_skips_the_plan(premiere, moderator):
    boots = factories.ProductFactory()
    _plan(premiere, moderator, boots, 10)
    start = premiere.scheduled_start
    premiere_tick(now=start)
    show_product_pin(
        show=premiere, product_id=boots.pk, actor=moderator, now=start + dt.timedelta(seconds=4)
    )

    assert premiere_tick(now=start + dt.timedelta(seconds=10))["pins"] == 0

    planned = PlannedPin.objects.get()
    assert (planned.status, planned.skip_reason, planned.fired_at) == (
        "skipped",
        "already_pinned",
        start + dt.timedelta(seconds=10),
    )
    assert _events(premiere)[3:] == [("product.pinned", boots.pk, 4.0)]


# --- Admin -----------------------------------------------------------------------


def _show_change_form(show, **extra) -> dict:
    """The show's admin change form as it stands, times in the channel's zone, with one
    planned pin row."""
    zone = zoneinfo.ZoneInfo(show.channel.timezone)
    return _show_form(
        channel=show.channel,
        start=timezone.localtime(show.scheduled_start, zone),
        end=timezone.localtime(show.scheduled_end, zone),
        **{
            "title": show.title,
            "slug": show.slug,
            "kind": show.kind,
            "planned_pins-TOTAL_FORMS": "1",
            "planned_pins-INITIAL_FORMS": "0",
            "planned_pins-MIN_NUM_FORMS": "0",
            "planned_pins-MAX_NUM_FORMS": "1000",
            **extra,
        },
    )


def test_a_merchandiser_plans_pins_in_the_show_admin_through_the_service(
    premiere, merchandiser_client
):
    product = factories.ProductFactory()
    url = f"/admin/shows/show/{premiere.pk}/change/"
    assert b"Planned pins (on the premiere" in merchandiser_client.get(url).content

    response = merchandiser_client.post(
        url,
        _show_change_form(
            premiere,
            **{
                "planned_pins-0-product": str(product.pk),
                "planned_pins-0-offset_seconds": "42.250",
                "planned_pins-0-duration_seconds": "",
            },
        ),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(
        PlannedPin.objects.values_list("product_id", "offset_ms", "duration_ms", "created_by")
    ) == [(product.pk, 42250, None, merchandiser_client.user.pk)]
    saved = Show.objects.get(pk=premiere.pk)
    assert (saved.scheduled_start, saved.title) == (premiere.scheduled_start, premiere.title)


def test_the_show_admin_refuses_a_pin_beyond_the_video_and_saves_nothing(
    premiere, merchandiser_client
):
    product = factories.ProductFactory()
    url = f"/admin/shows/show/{premiere.pk}/change/"
    data = _show_change_form(
        premiere,
        title="Renamed",
        **{
            "planned_pins-0-product": str(product.pk),
            "planned_pins-0-offset_seconds": "601",
        },
    )

    response = merchandiser_client.post(url, data, follow=True)

    assert "Nothing was saved: Planned pin: The offset must be within the video" in (
        response.content.decode()
    )
    assert PlannedPin.objects.count() == 0
    premiere.refresh_from_db()
    assert premiere.title != "Renamed"


def test_a_live_show_has_no_planned_pins_inline(merchandiser_client):
    show = factories.ShowFactory()
    assert (
        b"planned pins"
        not in merchandiser_client.get(f"/admin/shows/show/{show.pk}/change/").content
    )


def test_a_pin_due_at_an_odd_millisecond_fires_at_that_tick(premiere, moderator):
    boots = factories.ProductFactory()
    _plan(premiere, moderator, boots, 1.005)
    start = premiere.scheduled_start
    premiere_tick(now=start)

    # 1.005 s is not a whole number of milliseconds in binary floating point.
    assert premiere_tick(now=start + dt.timedelta(milliseconds=1005))["pins"] == 1
    assert _events(premiere)[3:] == [("product.pinned", boots.pk, 1.005)]


def test_a_merchandiser_removes_a_planned_pin_in_the_show_admin_through_the_service(
    premiere, merchandiser_client
):
    planned = _plan(premiere, merchandiser_client.user, factories.ProductFactory(), 42.25)
    url = f"/admin/shows/show/{premiere.pk}/change/"

    response = merchandiser_client.post(
        url,
        _show_change_form(
            premiere,
            **{
                "planned_pins-INITIAL_FORMS": "1",
                "planned_pins-0-id": str(planned.pk),
                "planned_pins-0-show": str(premiere.pk),
                "planned_pins-0-product": str(planned.product_id),
                "planned_pins-0-offset_seconds": "42.250",
                "planned_pins-0-duration_seconds": "",
                "planned_pins-0-DELETE": "on",
            },
        ),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert PlannedPin.objects.count() == 0
