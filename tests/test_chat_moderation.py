"""Moderation services: each action's effect, its audit row, and every refusal."""

import datetime as dt
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from chat.models import (
    BlockedTerm,
    ChatMessage,
    ChatSanction,
    ModerationAction,
    ShowEvent,
    ShowRoom,
)
from chat.services import (
    ChatRefusal,
    blocked_term_add,
    blocked_term_remove,
    chat_message_create,
    chat_settings_update,
    message_approve,
    message_delete,
    message_deny,
    message_hide,
    message_pin,
    message_unpin,
    user_sanction_create,
    user_sanction_revoke,
)
from liveshop.common.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from shows.events import show_room_ensure
from shows.models import Show, ShowMember
from tests.factories import (
    BlockedTermFactory,
    ChannelFactory,
    ChatSanctionFactory,
    ShowFactory,
    ShowMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def show():
    return ShowFactory(status=Show.Status.LIVE)


@pytest.fixture
def moderator(show):
    return ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user


@pytest.fixture
def author():
    return UserFactory()


def post(show, user, text="hello everyone", **fields) -> ChatMessage:
    return chat_message_create(
        show_id=show.pk, user=user, text=text, client_msg_id=uuid.uuid4(), **fields
    ).message


def events(show) -> list[tuple[str, dict, str, int | None]]:
    return [
        (event.type, event.data, event.audience, event.audience_user_id)
        for event in ShowEvent.objects.filter(show=show).order_by("seq")
    ]


def state_of(show) -> tuple:
    """Everything a refused action could have changed."""
    show_room_ensure(show_id=show.pk)
    room = ShowRoom.objects.get(show=show)
    return (
        list(
            ChatMessage.objects.filter(show=show).values_list("pk", "state", "visibility", "text")
        ),
        list(ShowEvent.objects.filter(show=show).values_list("seq", "type", "data")),
        room.last_seq,
        room.pinned_message_id,
        room.slow_mode_seconds,
        room.hold_links,
        list(ChatSanction.objects.values_list("pk", "revoked_at")),
        list(BlockedTerm.objects.values_list("pk", "term")),
        ModerationAction.objects.count(),
    )


def test_hide_removes_message_for_everyone_redacts_log_and_is_audited(
    show, moderator, author, django_capture_on_commit_callbacks
):
    message = post(show, author, "buy cheap boots at my shop")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        hidden = message_hide(actor=moderator, show=show, message_id=message.pk, reason="spam")

    assert len(callbacks) == 1
    message.refresh_from_db()
    assert (message.state, message.text) == ("hidden", "buy cheap boots at my shop")
    assert hidden.pk == message.pk
    created, removed = events(show)
    assert created[0] == "message.created"
    assert created[1]["text"] == ""
    assert created[1]["removed"] == "hidden"
    assert removed == ("message.removed", {"id": message.pk, "reason": "hidden"}, "public", None)
    action = ModerationAction.objects.get()
    assert (
        action.show_id,
        action.channel_id,
        action.actor_id,
        action.action,
        action.target_user_id,
        action.target_message_id,
        action.reason,
        action.detail,
        action.expires_at,
    ) == (
        show.pk,
        show.channel_id,
        moderator.pk,
        "hide",
        author.pk,
        message.pk,
        "spam",
        {"text": "buy cheap boots at my shop"},
        None,
    )


def test_delete_erases_the_text_but_the_audit_row_keeps_it(show, moderator, author):
    message = post(show, author, "something rude")

    message_delete(actor=moderator, show=show, message_id=message.pk, reason="rude")

    message.refresh_from_db()
    assert (message.state, message.text) == ("deleted", "")
    assert events(show)[-1] == (
        "message.removed",
        {"id": message.pk, "reason": "deleted"},
        "public",
        None,
    )
    action = ModerationAction.objects.get()
    assert (action.action, action.detail) == ("delete", {"text": "something rude"})


def test_hiding_the_pinned_message_unpins_it_and_redacts_the_pin_event(show, moderator, author):
    message = post(show, author)
    message_pin(actor=moderator, show=show, message_id=message.pk)

    message_hide(actor=moderator, show=show, message_id=message.pk)

    assert ShowRoom.objects.get(show=show).pinned_message_id is None
    types = [event[0] for event in events(show)]
    assert types == ["message.created", "message.pinned", "message.unpinned", "message.removed"]
    pinned = ShowEvent.objects.get(show=show, type="message.pinned")
    assert (pinned.data["message"]["text"], pinned.data["message"]["removed"]) == ("", "hidden")


def test_removing_a_held_message_tells_only_its_author_and_the_team(show, moderator, author):
    message = post(show, author, "see www.example.com")
    assert message.visibility == "held"

    message_hide(actor=moderator, show=show, message_id=message.pk)

    assert events(show)[-1] == (
        "message.removed",
        {"id": message.pk, "reason": "hidden"},
        "user",
        author.pk,
    )


@pytest.mark.parametrize("action", [message_hide, message_delete, message_pin])
def test_message_actions_refuse_a_message_of_another_show(show, moderator, author, action):
    other_message = post(ShowFactory(status=Show.Status.LIVE), author)
    post(show, author)
    before = state_of(show)

    with pytest.raises(NotFoundError):
        action(actor=moderator, show=show, message_id=other_message.pk)

    assert state_of(show) == before
    other_message.refresh_from_db()
    assert other_message.state == "visible"


def test_hiding_twice_is_a_conflict_and_changes_nothing(
    show, moderator, author, django_capture_on_commit_callbacks
):
    message = post(show, author)
    message_hide(actor=moderator, show=show, message_id=message.pk)
    before = state_of(show)

    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(ConflictError) as refused:
            message_delete(actor=moderator, show=show, message_id=message.pk)

    assert refused.value.code == "already_removed"
    assert callbacks == []
    assert state_of(show) == before


@pytest.mark.parametrize(
    "who", ["viewer", "service_staff", "other_show_moderator", "author", "anonymous"]
)
def test_only_the_show_moderators_may_moderate(
    show, author, who, django_capture_on_commit_callbacks
):

    message = post(show, author)
    actor = {
        "viewer": lambda: UserFactory(),
        "service_staff": lambda: (
            ShowMemberFactory(show=show, role=ShowMember.Role.SERVICE_STAFF).user
        ),
        "other_show_moderator": lambda: (
            ShowMemberFactory(
                show=ShowFactory(channel=show.channel), role=ShowMember.Role.MODERATOR
            ).user
        ),
        "author": lambda: author,
        "anonymous": AnonymousUser,
    }[who]()
    before = state_of(show)

    with django_capture_on_commit_callbacks() as callbacks:
        for attempt in (
            lambda: message_hide(actor=actor, show=show, message_id=message.pk),
            lambda: message_delete(actor=actor, show=show, message_id=message.pk),
            lambda: message_pin(actor=actor, show=show, message_id=message.pk),
            lambda: message_unpin(actor=actor, show=show),
            lambda: user_sanction_create(
                actor=actor, show=show, user_id=author.pk, kind="timeout", duration_seconds=60
            ),
            lambda: chat_settings_update(actor=actor, show=show, slow_mode_seconds=30),
        ):
            with pytest.raises(PermissionDeniedError):
                attempt()

    assert callbacks == []
    assert state_of(show) == before


@pytest.mark.parametrize("who", ["host", "moderator", "merchandiser", "admin"])
def test_hosts_moderators_merchandisers_and_admins_may_moderate(show, author, who):
    if who in {"host", "moderator"}:
        actor = ShowMemberFactory(show=show, role=who).user
    else:
        actor = UserFactory(role=who)
    message = post(show, author)

    message_hide(actor=actor, show=show, message_id=message.pk)

    assert ChatMessage.objects.get(pk=message.pk).state == "hidden"
    assert ModerationAction.objects.get().actor_id == actor.pk


def test_approve_publishes_a_held_message_again_with_a_new_seq(show, moderator, author):
    message = post(show, author, "my shop: www.example.com")
    held_seq = message.seq

    message_approve(actor=moderator, show=show, message_id=message.pk)

    message.refresh_from_db()
    assert message.visibility == "public"
    assert message.seq > held_seq
    (held_type, held_data, held_audience, held_user), last = events(show)
    assert (held_type, held_data["visibility"], held_audience, held_user) == (
        "message.created",
        "held",
        "user",
        author.pk,
    )
    assert last[0] == "message.created"
    assert (last[1]["id"], last[1]["seq"], last[1]["visibility"], last[2]) == (
        message.pk,
        message.seq,
        "public",
        "public",
    )
    action = ModerationAction.objects.get()
    assert (action.action, action.target_message_id, action.detail) == (
        "approve",
        message.pk,
        {"visibility": "public"},
    )


def test_approving_a_message_of_a_since_shadow_hidden_author_keeps_it_shadowed(
    show, moderator, author
):
    message = post(show, author, "www.example.com")
    ChatSanctionFactory(
        kind="shadow", show=None, channel=show.channel, user=author, expires_at=None
    )

    message_approve(actor=moderator, show=show, message_id=message.pk)

    message.refresh_from_db()
    assert message.visibility == "shadow"
    assert events(show)[-1][2:] == ("user", author.pk)


def test_deny_drops_a_held_message_and_tells_only_its_author(show, moderator, author):
    message = post(show, author, "www.example.com")

    message_deny(actor=moderator, show=show, message_id=message.pk, reason="advertising")

    message.refresh_from_db()
    assert (message.state, message.visibility) == ("denied", "held")
    created, removed = events(show)
    assert (created[1]["text"], created[1]["removed"]) == ("", "denied")
    assert removed == ("message.removed", {"id": message.pk, "reason": "denied"}, "user", author.pk)
    action = ModerationAction.objects.get()
    assert (action.action, action.reason) == ("deny", "advertising")


@pytest.mark.parametrize("action", [message_approve, message_deny])
def test_approve_and_deny_refuse_messages_not_held(show, moderator, author, action):
    message = post(show, author)
    before = state_of(show)

    with pytest.raises(ConflictError) as refused:
        action(actor=moderator, show=show, message_id=message.pk)

    assert refused.value.code == "not_held"
    assert state_of(show) == before


def test_pin_and_unpin(show, moderator, author):
    first, second = post(show, author, "first"), post(show, author, "second")

    message_pin(actor=moderator, show=show, message_id=first.pk)
    message_pin(actor=moderator, show=show, message_id=second.pk)
    unpinned = message_unpin(actor=moderator, show=show)

    assert unpinned == second
    assert ShowRoom.objects.get(show=show).pinned_message_id is None
    pin_events = [event for event in events(show) if event[0] != "message.created"]
    assert [(kind, audience) for kind, _, audience, _ in pin_events] == [
        ("message.pinned", "public"),
        ("message.pinned", "public"),
        ("message.unpinned", "public"),
    ]
    assert pin_events[1][1]["message"]["text"] == "second"
    assert pin_events[2][1] == {"id": second.pk}
    assert list(ModerationAction.objects.order_by("pk").values_list("action", flat=True)) == [
        "pin",
        "pin",
        "unpin",
    ]


def test_pinning_the_pinned_message_again_or_unpinning_nothing_changes_nothing(
    show, moderator, author
):
    message = post(show, author)
    assert message_unpin(actor=moderator, show=show) is None
    message_pin(actor=moderator, show=show, message_id=message.pk)
    before = state_of(show)

    message_pin(actor=moderator, show=show, message_id=message.pk)

    assert state_of(show) == before


def test_only_public_messages_may_be_pinned(show, moderator, author):
    held = post(show, author, "www.example.com")
    before = state_of(show)

    with pytest.raises(ConflictError) as refused:
        message_pin(actor=moderator, show=show, message_id=held.pk)

    assert refused.value.code == "not_pinnable"
    assert state_of(show) == before


def test_timeout_blocks_sending_in_this_show_only_and_tells_the_user(show, moderator, author):
    before = timezone.now()

    sanction = user_sanction_create(
        actor=moderator,
        show=show,
        user_id=author.pk,
        kind="timeout",
        duration_seconds=600,
        reason="spam",
    )

    assert (sanction.kind, sanction.show_id, sanction.channel_id, sanction.created_by_id) == (
        "timeout",
        show.pk,
        show.channel_id,
        moderator.pk,
    )
    assert before + dt.timedelta(seconds=600) <= sanction.expires_at
    assert sanction.expires_at <= timezone.now() + dt.timedelta(seconds=600)
    until = sanction.expires_at.isoformat().replace("+00:00", "Z")
    assert events(show) == [
        (
            "user.sanctioned",
            {"user_id": author.pk, "kind": "timeout", "until": until, "reason": "spam"},
            "user",
            author.pk,
        )
    ]
    action = ModerationAction.objects.get()
    assert (
        action.action,
        action.target_user_id,
        action.reason,
        action.expires_at,
        action.detail,
    ) == (
        "timeout",
        author.pk,
        "spam",
        sanction.expires_at,
        {
            "sanction_id": sanction.pk,
            "duration_seconds": 600,
        },
    )
    with pytest.raises(ChatRefusal) as refused:
        post(show, author)
    assert (refused.value.code, refused.value.until) == ("timed_out", sanction.expires_at)
    other_show = ShowFactory(channel=show.channel, status=Show.Status.LIVE)
    assert post(other_show, author).visibility == "public"


def test_ban_is_channel_wide_and_may_be_permanent(show, moderator, author):
    user_sanction_create(actor=moderator, show=show, user_id=author.pk, kind="ban")

    sanction = ChatSanction.objects.get()
    assert (sanction.show_id, sanction.expires_at) == (None, None)
    assert events(show)[0][1] == {
        "user_id": author.pk,
        "kind": "banned",
        "until": None,
        "reason": "",
    }
    with pytest.raises(ChatRefusal) as refused:
        post(ShowFactory(channel=show.channel, status=Show.Status.LIVE), author)
    assert (refused.value.code, refused.value.until) == ("banned", None)
    assert post(ShowFactory(status=Show.Status.LIVE), author).visibility == "public"


def test_shadow_hide_is_told_only_to_the_team_and_leaves_earlier_messages(show, moderator, author):
    earlier = post(show, author, "before")

    user_sanction_create(actor=moderator, show=show, user_id=author.pk, kind="shadow")

    assert events(show)[-1] == (
        "user.sanctioned",
        {"user_id": author.pk, "kind": "shadow", "until": None, "reason": ""},
        "team",
        None,
    )
    earlier.refresh_from_db()
    assert earlier.visibility == "public"
    later = post(show, author, "after")
    assert later.visibility == "shadow"
    assert events(show)[-1][2:] == ("user", author.pk)


def test_a_new_sanction_of_the_same_kind_replaces_the_one_in_force(show, moderator, author):
    first = user_sanction_create(
        actor=moderator, show=show, user_id=author.pk, kind="timeout", duration_seconds=60
    )

    second = user_sanction_create(
        actor=moderator, show=show, user_id=author.pk, kind="timeout", duration_seconds=3600
    )

    first.refresh_from_db()
    assert first.revoked_at is not None
    assert second.revoked_at is None
    with pytest.raises(ChatRefusal) as refused:
        post(show, author)
    assert refused.value.until == second.expires_at


@pytest.mark.parametrize(
    ("kind", "duration", "code"),
    [
        ("timeout", None, "invalid_duration"),
        ("timeout", 9, "invalid_duration"),
        ("timeout", 86401, "invalid_duration"),
        ("timeout", -5, "invalid_duration"),
        ("ban", 0, "invalid_duration"),
        ("ban", 365 * 86400 + 1, "invalid_duration"),
        ("mute", 60, "invalid_kind"),
    ],
)
def test_sanctions_out_of_bounds_are_refused(show, moderator, author, kind, duration, code):
    before = state_of(show)

    with pytest.raises(ApplicationError) as refused:
        user_sanction_create(
            actor=moderator, show=show, user_id=author.pk, kind=kind, duration_seconds=duration
        )

    assert refused.value.code == code
    assert state_of(show) == before


@pytest.mark.parametrize("duration", [10, 86400])
def test_timeout_bounds_are_inclusive(show, moderator, author, duration):
    sanction = user_sanction_create(
        actor=moderator, show=show, user_id=author.pk, kind="timeout", duration_seconds=duration
    )

    assert sanction.expires_at - sanction.created_at == pytest.approx(
        dt.timedelta(seconds=duration), abs=dt.timedelta(seconds=1)
    )


@pytest.mark.parametrize("target", ["host", "service_staff", "merchandiser", "unknown"])
def test_the_team_and_unknown_users_cannot_be_sanctioned(show, moderator, target):
    if target == "merchandiser":
        user_id = UserFactory(role="merchandiser").pk
    elif target == "unknown":
        user_id = 10**12
    else:
        user_id = ShowMemberFactory(show=show, role=target).user_id
    before = state_of(show)

    with pytest.raises(ApplicationError) as refused:
        user_sanction_create(actor=moderator, show=show, user_id=user_id, kind="ban")

    assert refused.value.code == ("not_found" if target == "unknown" else "target_is_team")
    assert state_of(show) == before


def test_revoke_lifts_a_sanction_and_tells_the_user(show, moderator, author):
    sanction = user_sanction_create(
        actor=moderator, show=show, user_id=author.pk, kind="timeout", duration_seconds=600
    )

    user_sanction_revoke(actor=moderator, show=show, sanction_id=sanction.pk)

    sanction.refresh_from_db()
    assert sanction.revoked_at is not None
    assert events(show)[-1] == (
        "user.unsanctioned",
        {"user_id": author.pk, "kind": "timeout"},
        "user",
        author.pk,
    )
    action = ModerationAction.objects.order_by("pk").last()
    assert (action.action, action.target_user_id, action.detail) == (
        "revoke",
        author.pk,
        {"sanction_id": sanction.pk, "kind": "timeout"},
    )
    assert post(show, author).visibility == "public"


def test_lifting_a_shadow_hide_is_told_only_to_the_team(show, moderator, author):
    sanction = user_sanction_create(actor=moderator, show=show, user_id=author.pk, kind="shadow")

    user_sanction_revoke(actor=moderator, show=show, sanction_id=sanction.pk)

    assert events(show)[-1][2:] == ("team", None)


def test_revoke_refuses_lifted_expired_and_foreign_sanctions(show, moderator, author):
    lifted = ChatSanctionFactory(show=show, user=author, revoked_at=timezone.now())
    expired = ChatSanctionFactory(
        show=show, user=author, expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    other_channel = ChatSanctionFactory(user=author)
    other_show_timeout = ChatSanctionFactory(show=ShowFactory(channel=show.channel), user=author)
    before = state_of(show)

    for sanction, error, code in [
        (lifted, ConflictError, "not_active"),
        (expired, ConflictError, "not_active"),
        (other_channel, NotFoundError, "not_found"),
        (other_show_timeout, NotFoundError, "not_found"),
    ]:
        with pytest.raises(error) as refused:
            user_sanction_revoke(actor=moderator, show=show, sanction_id=sanction.pk)
        assert refused.value.code == code

    assert state_of(show) == before


def test_slow_mode_on_and_off_is_announced_with_a_system_message(show, moderator):
    chat_settings_update(actor=moderator, show=show, slow_mode_seconds=30)
    chat_settings_update(actor=moderator, show=show, slow_mode_seconds=0)

    assert [(kind, data.get("text", data)) for kind, data, _, _ in events(show)] == [
        ("chat.settings", {"slow_mode_seconds": 30}),
        ("message.created", "Slow mode is on: one message every 30 s."),
        ("chat.settings", {"slow_mode_seconds": 0}),
        ("message.created", "Slow mode is off."),
    ]
    assert ShowRoom.objects.get(show=show).slow_mode_seconds == 0
    assert list(ModerationAction.objects.order_by("pk").values_list("action", "detail")) == [
        ("slow_mode", {"from": 0, "to": 30}),
        ("slow_mode", {"from": 30, "to": 0}),
    ]


def test_slow_mode_refuses_a_second_message_from_a_viewer_but_not_from_the_team(
    show, moderator, author
):
    chat_settings_update(actor=moderator, show=show, slow_mode_seconds=60)
    post(show, author, "one")

    with pytest.raises(ChatRefusal) as refused:
        post(show, author, "two")

    assert refused.value.code == "slow_mode"
    assert refused.value.until is not None
    post(show, moderator, "one")
    post(show, moderator, "two")


def test_hold_links_change_is_audited_without_an_event(show, moderator):
    chat_settings_update(actor=moderator, show=show, hold_links=False)

    assert ShowRoom.objects.get(show=show).hold_links is False
    assert events(show) == []
    assert list(ModerationAction.objects.values_list("action", "detail")) == [
        ("hold_links", {"from": True, "to": False})
    ]


@pytest.mark.parametrize("seconds", [-1, 3601])
def test_slow_mode_out_of_bounds_is_refused(show, moderator, seconds):
    chat_settings_update(actor=moderator, show=show, hold_links=True)
    before = state_of(show)

    with pytest.raises(ApplicationError) as refused:
        chat_settings_update(actor=moderator, show=show, slow_mode_seconds=seconds)

    assert refused.value.code == "invalid_slow_mode"
    assert state_of(show) == before


def test_setting_what_is_already_set_changes_nothing(show, moderator):
    chat_settings_update(actor=moderator, show=show, hold_links=True)
    before = state_of(show)

    chat_settings_update(actor=moderator, show=show, slow_mode_seconds=0, hold_links=True)

    assert state_of(show) == before


@pytest.mark.parametrize(
    "who", ["merchandiser", "moderator_of_scheduled_show", "host_of_live_show"]
)
def test_blocked_terms_are_managed_by_merchandisers_and_current_moderators(who):
    channel = ChannelFactory()
    if who == "merchandiser":
        actor = UserFactory(role="merchandiser")
    elif who == "moderator_of_scheduled_show":
        actor = ShowMemberFactory(show=ShowFactory(channel=channel), role="moderator").user
    else:
        actor = ShowMemberFactory(
            show=ShowFactory(channel=channel, status=Show.Status.LIVE), role="host"
        ).user

    term = blocked_term_add(actor=actor, channel=channel, term="  Scam  ", action="hold")
    blocked_term_remove(actor=actor, channel=channel, term_id=term.pk)

    assert (term.term, term.action, term.channel_id) == ("Scam", "hold", channel.pk)
    assert not BlockedTerm.objects.exists()
    assert list(
        ModerationAction.objects.order_by("pk").values_list(
            "action", "channel_id", "show_id", "detail"
        )
    ) == [
        ("term_add", channel.pk, None, {"term_id": term.pk, "term": "Scam", "action": "hold"}),
        ("term_remove", channel.pk, None, {"term_id": term.pk, "term": "Scam", "action": "hold"}),
    ]


@pytest.mark.parametrize(
    "who", ["viewer", "service_staff", "moderator_of_ended_show", "moderator_on_other_channel"]
)
def test_others_may_not_manage_blocked_terms(who):
    channel = ChannelFactory()
    existing = BlockedTermFactory(channel=channel)
    if who == "viewer":
        actor = UserFactory()
    elif who == "service_staff":
        actor = ShowMemberFactory(show=ShowFactory(channel=channel), role="service_staff").user
    elif who == "moderator_of_ended_show":
        actor = ShowMemberFactory(
            show=ShowFactory(channel=channel, status=Show.Status.ENDED), role="moderator"
        ).user
    else:
        actor = ShowMemberFactory(role="moderator").user

    with pytest.raises(PermissionDeniedError):
        blocked_term_add(actor=actor, channel=channel, term="scam", action="reject")
    with pytest.raises(PermissionDeniedError):
        blocked_term_remove(actor=actor, channel=channel, term_id=existing.pk)

    assert list(BlockedTerm.objects.values_list("pk", flat=True)) == [existing.pk]
    assert not ModerationAction.objects.exists()


def test_blocked_term_refusals():
    channel = ChannelFactory()
    merchandiser = UserFactory(role="merchandiser")
    existing = BlockedTermFactory(channel=channel, term="Scam")
    foreign = BlockedTermFactory()

    for call, code in [
        (
            lambda: blocked_term_add(
                actor=merchandiser, channel=channel, term="sCAM", action="reject"
            ),
            "term_exists",
        ),
        (
            lambda: blocked_term_add(
                actor=merchandiser, channel=channel, term="   ", action="reject"
            ),
            "invalid_term",
        ),
        (
            lambda: blocked_term_add(
                actor=merchandiser, channel=channel, term="x" * 101, action="reject"
            ),
            "invalid_term",
        ),
        (
            lambda: blocked_term_add(
                actor=merchandiser, channel=channel, term="ok", action="shout"
            ),
            "invalid_action",
        ),
        (
            lambda: blocked_term_remove(actor=merchandiser, channel=channel, term_id=foreign.pk),
            "not_found",
        ),
    ]:
        with pytest.raises(ApplicationError) as refused:
            call()
        assert refused.value.code == code

    assert sorted(BlockedTerm.objects.values_list("pk", flat=True)) == sorted(
        [existing.pk, foreign.pk]
    )
    assert not ModerationAction.objects.exists()


def test_blocked_terms_reject_or_hold_messages_from_outside_the_team(show, moderator, author):
    BlockedTermFactory(channel=show.channel, term="scam", action="reject")
    BlockedTermFactory(channel=show.channel, term="cheap", action="hold")

    with pytest.raises(ChatRefusal) as refused:
        post(show, author, "what a SCAM")

    assert refused.value.code == "blocked_term"
    assert post(show, author, "so cheap").visibility == "held"
    assert post(show, moderator, "not a scam").visibility == "public"


def test_links_are_clickable_only_in_messages_from_the_team(show, moderator, author):
    show_room_ensure(show_id=show.pk)
    ShowRoom.objects.filter(show=show).update(hold_links=False)

    from_viewer = post(show, author, "see https://example.com")
    from_team = post(show, moderator, "see https://example.com")

    assert (from_viewer.visibility, from_viewer.links_clickable) == ("public", False)
    assert (from_team.visibility, from_team.links_clickable) == ("public", True)
    assert [event[1]["links_clickable"] for event in events(show)] == [False, True]


def test_a_retry_in_slow_mode_is_answered_as_the_duplicate_it_is(show, moderator, author):
    chat_settings_update(actor=moderator, show=show, slow_mode_seconds=30)
    client_msg_id = uuid.uuid4()
    first = chat_message_create(
        show_id=show.pk, user=author, text="first", client_msg_id=client_msg_id
    )
    events = ShowEvent.objects.count()

    retry = chat_message_create(
        show_id=show.pk, user=author, text="first", client_msg_id=client_msg_id
    )

    assert (retry.status, retry.message.pk) == ("duplicate", first.message.pk)
    assert ChatMessage.objects.filter(show=show, author=author).count() == 1
    assert ShowEvent.objects.count() == events


def test_a_new_message_in_slow_mode_is_still_refused(show, moderator, author):
    chat_settings_update(actor=moderator, show=show, slow_mode_seconds=30)
    chat_message_create(show_id=show.pk, user=author, text="first", client_msg_id=uuid.uuid4())
    events = ShowEvent.objects.count()

    with pytest.raises(ChatRefusal) as refusal:
        chat_message_create(show_id=show.pk, user=author, text="second", client_msg_id=uuid.uuid4())

    assert refusal.value.code == "slow_mode"
    assert ChatMessage.objects.filter(show=show, author=author).count() == 1
    assert ShowEvent.objects.count() == events


def test_a_retry_after_a_ban_returns_the_message_stored_before_it(show, moderator, author):
    client_msg_id = uuid.uuid4()
    first = chat_message_create(
        show_id=show.pk, user=author, text="before", client_msg_id=client_msg_id
    )
    user_sanction_create(actor=moderator, show=show, user_id=author.pk, kind="ban")
    events = ShowEvent.objects.count()

    retry = chat_message_create(
        show_id=show.pk, user=author, text="before", client_msg_id=client_msg_id
    )

    assert (retry.status, retry.message.pk) == ("duplicate", first.message.pk)
    assert ShowEvent.objects.count() == events
    with pytest.raises(ChatRefusal) as refusal:
        chat_message_create(show_id=show.pk, user=author, text="after", client_msg_id=uuid.uuid4())
    assert refusal.value.code == "banned"


def test_the_chat_of_a_cancelled_show_is_closed(author):
    show = ShowFactory(status=Show.Status.CANCELLED)

    with pytest.raises(ChatRefusal) as refusal:
        post(show, author)

    assert (refusal.value.code, refusal.value.message) == (
        "chat_closed",
        "The chat is closed: this show was cancelled.",
    )
    assert ChatMessage.objects.filter(show=show).count() == 0
