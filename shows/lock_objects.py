"""Row locks of the shows app, in liveshop's one lock order.

Every service that locks a channel, a show or a reminder takes the lock here,
and takes its locks in the order of docs/architecture.md ("Lock order"):
Channel, then Show, then the rows below them; several rows of one type by
primary key. Two paths that lock the same rows in the same order wait for
each other instead of deadlocking.

The locks are ``FOR NO KEY UPDATE`` (``no_key=True``): nothing here deletes
the row or changes its key, and a row inserted under the lock that refers to
it (a message, an event, a pin: ``FOR KEY SHARE`` on the parent) must not wait
for it, or the inserter, already holding the show's room for its seq, and the
locker, wanting that room next, would deadlock. SQLite ignores row locks: its
writers are serialised by the database lock.
"""

from django.db.models import QuerySet

from shows.models import Channel, NotificationHookPost, Show, ShowEvent, ShowReminder


def channel_lock(*, channel_id: int) -> Channel:
    """Lock the channel row: first in the lock order. Raises ``Channel.DoesNotExist``."""
    return Channel.objects.select_for_update(of=("self",), no_key=True).get(pk=channel_id)


def show_lock(*, show_id: int) -> Show:
    """Lock the show row; its channel's row, if needed, must be locked before."""
    return Show.objects.select_for_update(of=("self",), no_key=True).get(pk=show_id)


def show_reminder_lock(*, reminder_id: int) -> ShowReminder | None:
    """Lock one reminder row only (not its show: a notice must not wait for a transition)."""
    return (
        ShowReminder.objects.select_for_update(of=("self",), no_key=True)
        .select_related("show__channel", "user")
        .filter(pk=reminder_id)
        .first()
    )


def notification_hook_post_lock(*, hook_id: int) -> NotificationHookPost | None:
    """Lock one stored notification hook (after its reminder, if a path holds both)."""
    return (
        NotificationHookPost.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk=hook_id)
        .first()
    )


def show_events_qs_select_for_update() -> QuerySet[ShowEvent]:
    """Events of the show's log to filter and evaluate under lock (after the chat's messages,
    before its settings and the room, which every append locks with its seq ``UPDATE``)."""
    return ShowEvent.objects.order_by("pk").select_for_update(of=("self",), no_key=True)
