"""The composed show snapshot is byte for byte the one the show socket sent before.

``_snapshot_as_before`` is the snapshot builder the show socket used before the snapshot was
composed from the parts that shows, chat and video register (``chat.selectors:
show_snapshot_build``), kept here as the reference. For the team, a viewer, an anonymous
viewer and a muted user of one show with messages of every visibility, a pinned message, an
open product pin and a stream, the composed frame must encode to the same bytes: the same
keys, in the same order, with the same values.
"""

import uuid
from decimal import Decimal

import orjson
import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from chat.models import ChatMessage, ChatSanction
from chat.selectors import (
    chat_settings_get,
    message_payload,
    messages_visible,
    sanction_blocking,
    sanctions_active,
)
from chat.services import (
    chat_message_create,
    chat_settings_update,
    message_pin,
    user_sanction_create,
)
from liveshop.accounts.models import User
from realtime import log
from realtime.rooms import RoomRef
from realtime.wire import iso_utc
from shows.access import show_chat_role
from shows.models import Show, ShowMember
from shows.selectors import show_pins_open_payload, show_status_payload
from shows.services import show_product_pin
from tests import factories
from tests.sockets import show_snapshot
from video.selectors import show_playback_get

pytestmark = pytest.mark.django_db


def _snapshot_as_before(*, show: Show, user, viewers: int, peak: int) -> dict:
    role = show_chat_role(show_id=show.pk, user=user)
    room = log.room_state(room=RoomRef("show", show.pk))
    chat_settings = chat_settings_get(show_id=show.pk)
    authenticated = user is not None and user.is_authenticated
    messages = list(
        messages_visible(show_id=show.pk, user=user, is_team=role.is_team)
        .filter(seq__lte=room.last_seq)
        .select_related("author")
        .order_by("-seq")[: settings.LIVESHOP_CHAT_HISTORY]
    )
    messages.reverse()
    pinned = None
    if chat_settings.pinned_message_id is not None:
        pinned_message = (
            ChatMessage.objects.filter(
                pk=chat_settings.pinned_message_id, state=ChatMessage.State.VISIBLE
            )
            .select_related("author")
            .first()
        )
        pinned = None if pinned_message is None else message_payload(pinned_message)
    muted_until = mute_reason = None
    if authenticated:
        sanction = sanction_blocking(
            sanctions_active(user=user, channel_id=show.channel_id, show_id=show.pk)
        )
        if sanction is not None:
            mute_reason = "banned" if sanction.kind == ChatSanction.Kind.BAN else "timeout"
            muted_until = iso_utc(sanction.expires_at)
    return {
        "type": "snapshot",
        "epoch": str(room.epoch),
        "seq": room.last_seq,
        "show": {
            "public_id": show.public_id,
            "title": show.title,
            "scheduled_start": iso_utc(show.scheduled_start),
            **show_status_payload(show),
            "playback": show_playback_get(show=show, is_team=role.is_team),
        },
        "me": {
            "user_id": user.pk if authenticated else None,
            "username": user.username if authenticated else None,
            "role": role.role,
            "is_team": role.is_team,
            "can_moderate": role.can_moderate,
            "can_answer": role.can_answer,
            "can_post": authenticated and mute_reason is None,
            "muted_until": muted_until,
            "mute_reason": mute_reason,
        },
        "chat": {
            "slow_mode_seconds": chat_settings.slow_mode_seconds,
            "max_length": ChatMessage._meta.get_field("text").max_length,
        },
        "pinned_message": pinned,
        "pins": show_pins_open_payload(show=show),
        "messages": [message_payload(message) for message in messages],
        "viewers": {"count": viewers, "peak": max(peak, room.peak_viewers)},
    }


def _post(show, user, text, **kwargs):
    return chat_message_create(
        show_id=show.pk, user=user, text=text, client_msg_id=uuid.uuid4(), **kwargs
    ).message


@pytest.fixture
def scene():
    show = factories.ShowFactory(status=Show.Status.LIVE)
    factories.ShowStreamFactory(show=show)
    host = factories.UserFactory(role=User.Role.HOST)
    factories.ShowMemberFactory(show=show, user=host, role=ShowMember.Role.HOST)
    viewer = factories.UserFactory()
    muted = factories.UserFactory()
    product = factories.ProductFactory()
    factories.VariantFactory(product=product, price=Decimal("19.00"), stock_quantity=3)
    show_product_pin(show=show, product_id=product.pk, actor=host)
    welcome = _post(show, host, "Welcome!")
    message_pin(actor=host, show=show, message_id=welcome.pk)
    _post(show, viewer, "where do I buy?", is_question=True)
    _post(show, viewer, "see www.example.com")  # held for review: the viewer and the team
    _post(show, muted, "spam spam")
    user_sanction_create(
        actor=host, show=show, user_id=muted.pk, kind="timeout", duration_seconds=600
    )
    chat_settings_update(actor=host, show=show, slow_mode_seconds=30)
    return show, {"team": host, "viewer": viewer, "anonymous": AnonymousUser(), "muted": muted}


@pytest.mark.parametrize("who", ["team", "viewer", "anonymous", "muted"])
def test_the_composed_snapshot_encodes_to_the_same_bytes(scene, who):
    show, users = scene
    user = users[who]

    before = _snapshot_as_before(show=show, user=user, viewers=7, peak=9)
    composed = show_snapshot(show, user, viewers=7, peak=9)

    assert orjson.dumps(composed) == orjson.dumps(before)
    # The scene is what the test claims: each of them sees something the others do not.
    assert before["me"]["mute_reason"] == ("timeout" if who == "muted" else None)
    assert len(before["pins"]) == 1
    assert before["pinned_message"]["text"] == "Welcome!"
    visible = [message["text"] for message in before["messages"]]
    assert ("see www.example.com" in visible) == (who in {"team", "viewer"})
