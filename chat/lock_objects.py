"""Row locks of the chat app, in liveshop's one lock order.

The order is in docs/architecture.md ("Lock order"): sanctions, blocked
terms, then messages, then their events, then the show's room row, which
every event append also locks (its seq ``UPDATE``); a path that locks the
channel or the show (``shows.lock_objects``) does so before any of these.
Locks are ``FOR NO KEY UPDATE`` on the model's own table, for the reasons in
``shows.lock_objects``, except a blocked term's: it is deleted under its lock.
"""

from django.db.models import QuerySet

from chat.models import BlockedTerm, ChatMessage, ChatSanction, ShowEvent, ShowRoom
from shows.events import show_room_ensure


def chat_sanctions_qs_select_for_update() -> QuerySet[ChatSanction]:
    """Sanctions to filter and evaluate under lock."""
    return ChatSanction.objects.order_by("pk").select_for_update(of=("self",), no_key=True)


def blocked_term_lock(*, channel_id: int, term_id: int) -> BlockedTerm | None:
    """Lock one blocked term of the channel for deletion (``FOR UPDATE``)."""
    return (
        BlockedTerm.objects.select_for_update(of=("self",))
        .filter(pk=term_id, channel_id=channel_id)
        .first()
    )


def chat_messages_qs_select_for_update() -> QuerySet[ChatMessage]:
    """Chat messages to filter and evaluate under lock (before their events and room)."""
    return ChatMessage.objects.order_by("pk").select_for_update(of=("self",), no_key=True)


def show_events_qs_select_for_update() -> QuerySet[ShowEvent]:
    """Events of the show's log to filter and evaluate under lock (before the room)."""
    return ShowEvent.objects.order_by("pk").select_for_update(of=("self",), no_key=True)


def show_room_lock(*, show_id: int) -> ShowRoom:
    """Lock the show's room row (created if missing): the last of the show's locks.

    The seq allocation of ``realtime.log`` takes the same row lock with its ``UPDATE``.
    """
    show_room_ensure(show_id=show_id)
    return ShowRoom.objects.select_for_update(of=("self",), no_key=True).get(show_id=show_id)
