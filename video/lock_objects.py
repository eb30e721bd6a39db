"""Row locks of the video app, in liveshop's one lock order.

The order is in docs/architecture.md ("Lock order"): a path that locks a
stream, an ingest session, a recording or a planned pin has locked the
channel (when it may change the channel's live show) and the show before,
through ``shows.lock_objects``; the channel's ``ChannelAir`` row comes last of
all. Every lock here is ``FOR NO KEY UPDATE`` on the model's own table only,
for the reasons given in ``shows.lock_objects``; querysets are ordered by
primary key, so several rows of one type are locked in that order.
"""

from django.db.models import QuerySet

from video.models import ChannelAir, IngestSession, PlannedPin, Recording, ShowStream


def show_stream_lock(*, show_id: int) -> ShowStream:
    """Lock the show's stream settings (after the show).

    Callers lock a stream they know exists (``show_stream_ensure``, or read it
    first); raises ``ShowStream.DoesNotExist`` otherwise.
    """
    return ShowStream.objects.select_for_update(of=("self",), no_key=True).get(show_id=show_id)


def ingest_sessions_qs_select_for_update() -> QuerySet[IngestSession]:
    """Ingest sessions to filter and evaluate under lock (after their show)."""
    return IngestSession.objects.order_by("pk").select_for_update(of=("self",), no_key=True)


def recordings_qs_select_for_update() -> QuerySet[Recording]:
    """Recordings to filter and evaluate under lock (after their session)."""
    return Recording.objects.order_by("pk").select_for_update(of=("self",), no_key=True)


def planned_pins_qs_select_for_update() -> QuerySet[PlannedPin]:
    """A premiere's planned pins to filter and evaluate under lock (after the show)."""
    return PlannedPin.objects.order_by("pk").select_for_update(of=("self",), no_key=True)


def channel_air_lock(*, channel_id: int) -> ChannelAir:
    """Lock the channel's now-playing row: the last lock any path takes.

    Only the ``ChannelAir`` row: its channel row is left alone, because a show's
    transition reaches here holding the show's locks, which come after the
    channel's in the lock order.
    """
    return (
        ChannelAir.objects.select_for_update(of=("self",), no_key=True)
        .select_related("channel")
        .get(channel_id=channel_id)
    )
