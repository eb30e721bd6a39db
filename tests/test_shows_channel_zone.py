"""A channel's zone has one definition (``shows.timezones``): a zone name the server does
not know reads as UTC everywhere, in the admin, the schedule checks and the programme."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from shows.models import Channel
from shows.services import show_duplicate_slots_require, show_schedule_validate
from shows.timezones import channel_time, channel_time_label, channel_zone, zone_named
from tests import factories

pytestmark = pytest.mark.django_db

UNKNOWN_ZONE = "Mars/Olympus_Mons"


@pytest.fixture
def lost_channel() -> Channel:
    channel = factories.ChannelFactory()
    # Bypasses the model's validator, as a zone dropped from the tz database would.
    Channel.objects.filter(pk=channel.pk).update(timezone=UNKNOWN_ZONE)
    channel.refresh_from_db()
    return channel


def test_an_unknown_zone_name_is_utc():
    moment = dt.datetime(2099, 7, 6, 13, 0, tzinfo=dt.UTC)
    berlin = factories.ChannelFactory.build(timezone="Europe/Berlin")
    lost = factories.ChannelFactory.build(timezone=UNKNOWN_ZONE)
    assert zone_named(UNKNOWN_ZONE).key == "UTC"
    assert zone_named("").key == "UTC"
    assert channel_zone(None).key == "UTC"
    assert channel_zone(lost).key == "UTC"
    assert channel_time(moment, berlin).isoformat() == "2099-07-06T15:00:00+02:00"
    assert channel_time(moment, lost).isoformat() == "2099-07-06T13:00:00+00:00"
    assert channel_time_label(moment, berlin) == "Mon 6 Jul 2099 15:00 CEST"
    assert channel_time_label(moment, lost) == "Mon 6 Jul 2099 13:00 UTC"


def test_schedule_clash_of_a_channel_with_an_unknown_zone_is_told_in_utc(lost_channel):
    show = factories.ShowFactory(
        channel=lost_channel,
        title="Night market",
        scheduled_start=dt.datetime(2099, 7, 6, 13, 0, tzinfo=dt.UTC),
        scheduled_end=dt.datetime(2099, 7, 6, 14, 0, tzinfo=dt.UTC),
    )
    with pytest.raises(ValidationError) as refused:
        show_schedule_validate(
            channel_id=lost_channel.pk,
            start=show.scheduled_start + dt.timedelta(minutes=30),
            end=show.scheduled_end + dt.timedelta(minutes=30),
        )
    assert refused.value.message_dict["scheduled_start"] == [
        'This time overlaps "Night market" (2099-07-06 13:00–14:00 UTC) on the same channel.'
        " Pick a time when the channel is free."
    ]


def test_duplicate_slots_of_a_channel_with_an_unknown_zone_are_labelled_in_utc(lost_channel):
    show = factories.ShowFactory(
        channel=lost_channel,
        scheduled_start=dt.datetime(2099, 7, 6, 13, 0, tzinfo=dt.UTC),
        scheduled_end=dt.datetime(2099, 7, 6, 14, 0, tzinfo=dt.UTC),
    )
    with pytest.raises(ValidationError) as refused:
        show_duplicate_slots_require(show=show, starts=[show.scheduled_start])
    assert refused.value.messages == [
        "2099-07-06 13:00 UTC: This time overlaps "
        f'"{show.title}" (2099-07-06 13:00–14:00 UTC) on the same channel.'
        " Pick a time when the channel is free."
    ]


def test_programme_of_a_channel_with_an_unknown_zone_is_a_utc_day(api_client, lost_channel):
    response = api_client.get(
        reverse("channel-programme", kwargs={"slug": lost_channel.slug}), {"date": "2099-07-06"}
    )
    assert response.status_code == 200
    slots = response.json()
    assert slots[0]["starts_at"] == "2099-07-06T00:00:00Z"
    assert slots[-1]["ends_at"] == "2099-07-07T00:00:00Z"


def test_programme_today_of_a_channel_with_an_unknown_zone_answers(api_client, lost_channel):
    response = api_client.get(reverse("channel-programme", kwargs={"slug": lost_channel.slug}))
    assert response.status_code == 200
    today = timezone.localtime(timezone.now(), dt.UTC).date().isoformat()
    assert response.json()[0]["starts_at"] == f"{today}T00:00:00Z"
