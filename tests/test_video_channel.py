"""The 24/7 channel: now playing (live, premiere, rotation of replays) and the day's programme."""

import datetime as dt
import zoneinfo

import pytest

from shows.models import Show, ShowPin
from tests import factories
from tests.conftest import client_for
from video.channels import channel_now_playing_get, channel_programme_get
from video.models import ChannelRotationEntry
from video.services import channel_rotation_set

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
DAY = dt.date(2026, 11, 24)
MIDNIGHT = dt.datetime.combine(DAY, dt.time.min, tzinfo=BERLIN)


@pytest.fixture
def rotation(media_dir, channel):
    """Two replays on the channel: 600 s, then 1200 s."""
    shows = []
    for seconds, hour in ((600.0, 1), (1200.0, 3)):
        start = MIDNIGHT - dt.timedelta(days=2, hours=hour)
        show = factories.ShowFactory(
            channel=channel,
            status=Show.Status.ENDED,
            scheduled_start=start,
            scheduled_end=start + dt.timedelta(hours=1),
        )
        factories.RecordingFactory(show=show, duration_seconds=seconds)
        shows.append(show)
    channel_rotation_set(channel=channel, shows=shows)
    return shows


def test_the_rotation_plays_between_shows_from_local_midnight(rotation, channel, viewer):
    product = factories.ProductFactory(title="Boots")
    pin = ShowPin.objects.create(
        show=rotation[1],
        product=product,
        pinned_at=rotation[1].scheduled_start,
        start_offset_ms=5000,
        end_offset_ms=9500,
    )
    now = MIDNIGHT + dt.timedelta(seconds=700)
    playing = channel_now_playing_get(channel=channel, user=viewer, now=now)
    assert playing["kind"] == "replay"
    assert playing["show"]["public_id"] == rotation[1].public_id
    assert playing["offset_seconds"] == 100.0
    assert playing["ends_at"] == now + dt.timedelta(seconds=1100)
    assert playing["playback"]["hls_url"].endswith("/index.m3u8")
    # The replay's products come with it, on its clock.
    assert playing["playback"]["pins"] == [
        {
            "pin_id": pin.pk,
            "product_id": product.pk,
            "title": "Boots",
            "start_offset": 5.0,
            "end_offset": 9.5,
        }
    ]
    # One cycle (1800 s) later the same replay plays at the same offset.
    again = channel_now_playing_get(channel=channel, user=viewer, now=now + dt.timedelta(hours=1))
    assert again["show"] == playing["show"]
    assert again["offset_seconds"] == 100.0


def test_a_live_show_takes_the_air(rotation, channel, viewer):
    now = MIDNIGHT + dt.timedelta(hours=10, minutes=5)
    live = factories.ShowFactory(
        channel=channel,
        status=Show.Status.LIVE,
        scheduled_start=MIDNIGHT + dt.timedelta(hours=10),
        scheduled_end=MIDNIGHT + dt.timedelta(hours=11),
        actual_start=MIDNIGHT + dt.timedelta(hours=10, minutes=1),
    )
    playing = channel_now_playing_get(channel=channel, user=viewer, now=now)
    assert playing["kind"] == "live"
    assert playing["show"] == {"public_id": live.public_id, "title": live.title, "status": "live"}
    assert playing["offset_seconds"] == 240.0


def test_a_channel_without_rotation_or_show_is_off_air(media_dir, channel, viewer):
    playing = channel_now_playing_get(channel=channel, user=viewer, now=MIDNIGHT)
    assert playing == {
        "kind": "off_air",
        "show": None,
        "playback": None,
        "offset_seconds": 0,
        "ends_at": None,
    }


def test_the_programme_covers_the_day_and_agrees_with_now_playing(rotation, channel, viewer):
    show = factories.ShowFactory(
        channel=channel,
        scheduled_start=MIDNIGHT + dt.timedelta(hours=10),
        scheduled_end=MIDNIGHT + dt.timedelta(hours=11),
    )
    slots = channel_programme_get(channel=channel, user=viewer, day=DAY)
    assert slots[0]["starts_at"] == MIDNIGHT
    assert slots[-1]["ends_at"] == MIDNIGHT + dt.timedelta(days=1)
    for before, after in zip(slots, slots[1:], strict=False):
        assert before["ends_at"] == after["starts_at"]
    live = [slot for slot in slots if slot["kind"] == "live"]
    assert live == [
        {
            "kind": "live",
            "starts_at": show.scheduled_start,
            "ends_at": show.scheduled_end,
            "show": {"public_id": show.public_id, "title": show.title, "status": "scheduled"},
            "offset_seconds": 0,
        }
    ]
    # 10:00 is 20 cycles of 1800 s: the show cuts in as the first replay begins.
    assert slots[slots.index(live[0]) - 1]["ends_at"] == show.scheduled_start
    for moment in (MIDNIGHT + dt.timedelta(seconds=700), MIDNIGHT + dt.timedelta(hours=17)):
        slot = next(s for s in slots if s["starts_at"] <= moment < s["ends_at"])
        playing = channel_now_playing_get(channel=channel, user=viewer, now=moment)
        offset = slot["offset_seconds"] + (moment - slot["starts_at"]).total_seconds()
        assert (slot["show"], offset) == (playing["show"], playing["offset_seconds"])


def test_the_programme_endpoint_and_now_playing_answer_anyone(rotation, channel):
    client = client_for(None)
    response = client.get(f"/api/v1/channels/{channel.slug}/programme?date={DAY.isoformat()}")
    assert response.status_code == 200
    assert response.json()[0]["starts_at"] == "2026-11-23T23:00:00Z"  # Berlin midnight
    assert client.get(f"/api/v1/channels/{channel.slug}/now-playing").json()["kind"] == "replay"
    bad = client.get(f"/api/v1/channels/{channel.slug}/programme?date=yesterday")
    assert bad.status_code == 400
    for edge, code in (("0001-01-01", "min_value"), ("9999-12-31", "max_value")):
        out_of_range = client.get(f"/api/v1/channels/{channel.slug}/programme?date={edge}")
        assert (out_of_range.status_code, out_of_range.json()["code"]) == (400, code)
    assert client.get("/api/v1/channels/nope/now-playing").status_code == 404


def test_only_merchandisers_set_the_rotation_and_only_with_its_own_replays(
    rotation, channel, merchandiser, viewer
):
    url = f"/api/v1/channels/{channel.slug}/rotation"
    order = [rotation[1].public_id, rotation[0].public_id]
    assert client_for(viewer).put(url, {"shows": order}, format="json").status_code == 403
    other = factories.ShowFactory(status=Show.Status.ENDED)
    refused = client_for(merchandiser).put(url, {"shows": [*order, other.public_id]}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_rotation"
    before = [rotation[0].pk, rotation[1].pk]
    assert list(ChannelRotationEntry.objects.values_list("show_id", flat=True)) == before
    response = client_for(merchandiser).put(url, {"shows": order}, format="json")
    assert response.json() == {"shows": order}
    assert list(ChannelRotationEntry.objects.values_list("show_id", flat=True)) == before[::-1]
