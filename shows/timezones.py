"""A channel's time zone: the one place that turns an instant into a channel's wall time.

Every show and programme time a merchandiser or a viewer reads is in the zone of
the show's channel. A zone name the server does not know (a channel saved before
its zone was removed from the tz database, or written around the model's
validator) falls back to UTC, so times stay readable instead of failing the
page, the schedule check or the programme.
"""

import datetime as dt
import zoneinfo

from django.utils import timezone

from shows.models import Channel

UTC = zoneinfo.ZoneInfo("UTC")


def zone_named(name: str) -> zoneinfo.ZoneInfo:
    """The zone called ``name``; UTC if there is no such zone."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def channel_zone(channel: Channel | None) -> zoneinfo.ZoneInfo:
    """The zone ``channel``'s times are shown and typed in; UTC without a channel."""
    return UTC if channel is None else zone_named(channel.timezone)


def channel_time(moment: dt.datetime, channel: Channel | None) -> dt.datetime:
    """``moment`` as the wall time of ``channel``'s zone (aware, in that zone)."""
    return timezone.localtime(moment, channel_zone(channel))


def channel_time_label(moment: dt.datetime, channel: Channel | None) -> str:
    """``moment`` as "Mon 6 Jul 2099 15:00 CEST": channel time with its zone's abbreviation."""
    local = channel_time(moment, channel)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M %Z}"
