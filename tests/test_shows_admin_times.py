"""Every time a merchandiser sees or types in the admin is in the channel's zone, labelled.

The forms are read back from the rendered page, as a browser would send them,
so a time shown in one zone and read in another is caught.
"""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from shows.models import Show, ShowEvent, ShowMember, ShowProduct
from tests import factories
from tests.htmlforms import form_values
from video.models import IngestSession, PlannedPin

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/shows/show/add/"
CHANGELIST_URL = "/admin/shows/show/"

# Clocks in Berlin: CEST (UTC+2) in July, CET (UTC+1) in January.
SUMMER = dt.date(2099, 7, 6)
WINTER = dt.date(2099, 1, 12)


def _database() -> dict[str, list]:
    return {
        "shows": list(Show.objects.order_by("pk").values()),
        "lineup": list(ShowProduct.objects.order_by("pk").values()),
        "team": list(ShowMember.objects.order_by("pk").values()),
        "planned_pins": list(PlannedPin.objects.order_by("pk").values()),
        "events": list(ShowEvent.objects.order_by("pk").values()),
    }


def _show(*, zone_name: str, day: dt.date, kind: str, status: str) -> Show:
    zone = zoneinfo.ZoneInfo(zone_name)
    channel = factories.ChannelFactory(name="Sneakers", timezone=zone_name)
    show = factories.ShowFactory(
        channel=channel,
        title="Winter boots",
        kind=kind,
        status=status,
        description="Two lines:\nboots and socks.",
        scheduled_start=dt.datetime.combine(day, dt.time(15), tzinfo=zone),
        scheduled_end=dt.datetime.combine(day, dt.time(16, 30), tzinfo=zone),
    )
    factories.ShowProductFactory(show=show, position=1, show_price=Decimal("29.90"))
    factories.ShowMemberFactory(show=show, user=factories.UserFactory(role="host"), role="host")
    if kind == Show.Kind.RECORDED:
        PlannedPin.objects.create(
            show=show, product=factories.ProductFactory(), offset_ms=42_250, duration_ms=10_000
        )
    return show


@pytest.mark.parametrize(
    ("zone_name", "day", "utc_start"),
    [
        ("Europe/Berlin", SUMMER, dt.datetime(2099, 7, 6, 13, tzinfo=dt.UTC)),
        ("Europe/Berlin", WINTER, dt.datetime(2099, 1, 12, 14, tzinfo=dt.UTC)),
        ("UTC", WINTER, dt.datetime(2099, 1, 12, 15, tzinfo=dt.UTC)),
    ],
    ids=["berlin-summer", "berlin-winter", "utc"],
)
@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (Show.Kind.LIVE, Show.Status.SCHEDULED),
        (Show.Kind.LIVE, Show.Status.DRAFT),
        (Show.Kind.RECORDED, Show.Status.SCHEDULED),
        (Show.Kind.LIVE, Show.Status.LIVE),
    ],
    ids=["scheduled", "draft", "premiere-with-planned-pin", "live-read-only-times"],
)
def test_a_show_change_form_saved_unchanged_changes_nothing(
    merchandiser_client, zone_name, day, utc_start, kind, status
):
    # Given a show at 15:00 in its channel's zone, with a lineup and a team
    show = _show(zone_name=zone_name, day=day, kind=kind, status=status)
    assert show.scheduled_start == utc_start
    url = f"/admin/shows/show/{show.pk}/change/"
    page = merchandiser_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    data = form_values(html, form_id="show_form")
    if status == Show.Status.LIVE:
        assert "scheduled_start_1" not in data
    else:
        # The form shows the channel's wall time, and says which zone it is
        assert (data["scheduled_start_0"], data["scheduled_start_1"]) == (
            [f"{day:%Y-%m-%d}"],
            ["15:00:00"],
        )
        assert f"In {zone_name} time, the channel's time zone." in html
    before = _database()

    # When the merchandiser saves it as it is, twice
    for _ in range(2):
        response = merchandiser_client.post(url, {**data, "_continue": "Save"})
        assert response.status_code == 302, response.content.decode()[:3000]
        data = form_values(merchandiser_client.get(url).content.decode(), form_id="show_form")

    # Then nothing changed in the database, and nothing was announced
    assert _database() == before


@pytest.mark.parametrize(
    ("day", "utc_start"),
    [
        (SUMMER, dt.datetime(2099, 7, 6, 18, tzinfo=dt.UTC)),
        (WINTER, dt.datetime(2099, 1, 12, 19, tzinfo=dt.UTC)),
    ],
    ids=["summer", "winter"],
)
def test_add_from_the_sidebar_reads_the_times_in_the_chosen_channels_zone(
    merchandiser_client, day, utc_start
):
    # Given the add form opened from the sidebar (no channel in the address)
    berlin = factories.ChannelFactory(name="Sneakers", timezone="Europe/Berlin")
    factories.ChannelFactory(name="London", timezone="Europe/London")
    page = merchandiser_client.get(ADD_URL)
    html = page.content.decode()
    # It says how the times are read, and each channel shows its zone
    assert "In the time zone of the channel chosen above (shown after its name)." in html
    assert f'<option value="{berlin.pk}">Sneakers (Europe/Berlin)</option>' in html
    data = form_values(html, form_id="show_form")

    # When the merchandiser picks the Berlin channel and types 20:00–21:00
    data.update(
        {
            "channel": str(berlin.pk),
            "title": "Sneaker drop",
            "scheduled_start_0": f"{day:%Y-%m-%d}",
            "scheduled_start_1": "20:00",
            "scheduled_end_0": f"{day:%Y-%m-%d}",
            "scheduled_end_1": "21:00",
        }
    )
    response = merchandiser_client.post(ADD_URL, {**data, "_save": "Save"})

    # Then the show starts at 20:00 Berlin time
    assert response.status_code == 302, response.content.decode()[:3000]
    show = Show.objects.get()
    assert show.channel == berlin
    assert show.scheduled_start == utc_start
    assert show.scheduled_end == utc_start + dt.timedelta(hours=1)


def test_add_with_a_channel_in_the_address_reads_the_times_in_the_channel_picked(
    merchandiser_client,
):
    # Given the add form opened from the Berlin schedule
    berlin = factories.ChannelFactory(name="Sneakers", timezone="Europe/Berlin")
    london = factories.ChannelFactory(name="London", timezone="Europe/London")
    url = f"{ADD_URL}?channel={berlin.pk}"
    data = form_values(merchandiser_client.get(url).content.decode(), form_id="show_form")
    assert data["channel"] == [str(berlin.pk)]

    # When the merchandiser switches to the London channel and types 20:00
    data.update(
        {
            "channel": str(london.pk),
            "title": "Tea time",
            "scheduled_start_0": f"{WINTER:%Y-%m-%d}",
            "scheduled_start_1": "20:00",
            "scheduled_end_0": f"{WINTER:%Y-%m-%d}",
            "scheduled_end_1": "21:00",
        }
    )
    response = merchandiser_client.post(url, {**data, "_save": "Save"})

    # Then 20:00 is London time, the zone of the channel the show is on
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Show.objects.get().scheduled_start == dt.datetime(2099, 1, 12, 20, tzinfo=dt.UTC)


def test_the_show_list_shows_each_show_in_its_channels_zone_with_the_zone(merchandiser_client):
    berlin = factories.ChannelFactory(name="Sneakers", timezone="Europe/Berlin")
    utc = factories.ChannelFactory(name="World", timezone="UTC")
    factories.ShowFactory(
        channel=berlin,
        title="Summer",
        scheduled_start=dt.datetime(2099, 7, 6, 13, tzinfo=dt.UTC),
        scheduled_end=dt.datetime(2099, 7, 6, 14, tzinfo=dt.UTC),
    )
    factories.ShowFactory(
        channel=berlin,
        title="Winter",
        scheduled_start=dt.datetime(2099, 1, 12, 14, tzinfo=dt.UTC),
        scheduled_end=dt.datetime(2099, 1, 12, 15, tzinfo=dt.UTC),
    )
    factories.ShowFactory(
        channel=utc,
        title="Anywhere",
        scheduled_start=dt.datetime(2099, 1, 13, 15, tzinfo=dt.UTC),
        scheduled_end=dt.datetime(2099, 1, 13, 16, tzinfo=dt.UTC),
    )

    response = merchandiser_client.get(CHANGELIST_URL)

    assert response.status_code == 200
    html = response.content.decode()
    for cells in (
        ("Mon 6 Jul 2099 15:00 CEST", "Mon 6 Jul 2099 16:00 CEST"),
        ("Mon 12 Jan 2099 15:00 CET", "Mon 12 Jan 2099 16:00 CET"),
        ("Tue 13 Jan 2099 15:00 UTC", "Tue 13 Jan 2099 16:00 UTC"),
    ):
        assert (
            f'<td class="field-starts">{cells[0]}</td><td class="field-ends">{cells[1]}</td>'
            in html
        )
    assert "Starts (channel time)" in html


def test_a_live_shows_read_only_times_are_in_the_channels_zone_with_the_zone(
    merchandiser_client,
):
    show = _show(
        zone_name="Europe/Berlin", day=SUMMER, kind=Show.Kind.LIVE, status=Show.Status.LIVE
    )
    Show.objects.filter(pk=show.pk).update(
        actual_start=dt.datetime(2099, 7, 6, 13, 2, tzinfo=dt.UTC)
    )

    html = merchandiser_client.get(f"/admin/shows/show/{show.pk}/change/").content.decode()

    assert '<div class="readonly">Mon 6 Jul 2099 15:00 CEST</div>' in html
    assert '<div class="readonly">Mon 6 Jul 2099 16:30 CEST</div>' in html
    assert '<div class="readonly">Mon 6 Jul 2099 15:02 CEST</div>' in html


@pytest.mark.parametrize(
    ("zone_name", "day"),
    [("Europe/Berlin", SUMMER), ("Europe/Berlin", WINTER), ("UTC", WINTER)],
    ids=["berlin-summer", "berlin-winter", "utc"],
)
def test_the_duplicate_form_posted_as_offered_copies_at_the_same_wall_time(
    merchandiser_client, zone_name, day
):
    show = _show(zone_name=zone_name, day=day, kind=Show.Kind.LIVE, status=Show.Status.SCHEDULED)
    url = f"/admin/shows/show/{show.pk}/duplicate/"
    data = form_values(merchandiser_client.get(url).content.decode(), form_id="duplicate_form")
    assert (data["start_date"], data["start_time"]) == (
        [f"{day + dt.timedelta(weeks=1):%Y-%m-%d}"],
        ["15:00"],
    )

    response = merchandiser_client.post(url, data)

    assert response.status_code == 302
    copy = Show.objects.exclude(pk=show.pk).get()
    zone = zoneinfo.ZoneInfo(zone_name)
    assert copy.scheduled_start == dt.datetime.combine(
        day + dt.timedelta(weeks=1), dt.time(15), tzinfo=zone
    )
    assert copy.scheduled_end == dt.datetime.combine(
        day + dt.timedelta(weeks=1), dt.time(16, 30), tzinfo=zone
    )


def test_video_lists_show_their_times_in_the_shows_channel_zone(admin_client):
    show = _show(
        zone_name="Europe/Berlin", day=WINTER, kind=Show.Kind.LIVE, status=Show.Status.LIVE
    )
    IngestSession.objects.create(
        show=show,
        provider="nginx_rtmp",
        client_id="7",
        state=IngestSession.State.LIVE,
        started_at=dt.datetime(2099, 1, 12, 13, 58, tzinfo=dt.UTC),
        playable_at=dt.datetime(2099, 1, 12, 13, 59, tzinfo=dt.UTC),
    )
    factories.ShowStreamFactory(
        show=show, rotated_at=dt.datetime(2099, 1, 12, 12, 0, tzinfo=dt.UTC)
    )

    sessions = admin_client.get("/admin/video/ingestsession/").content.decode()
    streams = admin_client.get("/admin/video/showstream/").content.decode()

    assert (
        '<td class="field-started">Mon 12 Jan 2099 14:58 CET</td>'
        '<td class="field-playable">Mon 12 Jan 2099 14:59 CET</td>'
        '<td class="field-ended">-</td>'
    ) in sessions
    assert '<td class="field-rotated">Mon 12 Jan 2099 13:00 CET</td>' in streams
