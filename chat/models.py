"""The per-show real-time channel: its event log, chat, questions and moderation.

See docs/protocol.md for what clients see and docs/realtime.md for the design.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from realtime.models import Audience


class ShowRoom(models.Model):
    """The live state of one show's channel: its log position and chat settings.

    ``last_seq`` is advanced only by ``realtime.log.event_append``, inside the
    writing transaction, which serialises every writer of the show on this row.
    """

    show = models.OneToOneField(
        "shows.Show", on_delete=models.CASCADE, primary_key=True, related_name="room"
    )
    last_seq = models.BigIntegerField(default=0)
    # A new epoch tells resuming clients that positions from before are meaningless.
    epoch = models.UUIDField(default=uuid.uuid4)
    slow_mode_seconds = models.PositiveIntegerField(default=0)
    hold_links = models.BooleanField(
        default=True, help_text="Hold messages with links from non-team users for review."
    )
    pinned_message = models.ForeignKey(
        "chat.ChatMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    peak_viewers = models.PositiveIntegerField(default=0)
    reaction_count = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"room of show {self.show_id}"


class ShowEvent(models.Model):
    """One entry of a show's durable, sequenced event log."""

    show = models.ForeignKey("shows.Show", on_delete=models.CASCADE, related_name="events")
    seq = models.BigIntegerField()
    type = models.CharField(max_length=40)
    data = models.JSONField()
    audience = models.CharField(max_length=8, choices=Audience.choices, default=Audience.PUBLIC)
    audience_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    message = models.ForeignKey(
        "chat.ChatMessage", on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["show", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["show", "seq"], name="chat_showevent_unique_seq"),
            models.CheckConstraint(
                condition=Q(audience="user", audience_user__isnull=False)
                | (~Q(audience="user") & Q(audience_user__isnull=True)),
                name="chat_showevent_user_audience_has_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.show_id}#{self.seq} {self.type}"


class ChatMessage(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        ANSWER = "answer", "Staff answer"
        SYSTEM = "system", "System"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Everyone"
        PRIVATE = "private", "The asker and the team"
        HELD = "held", "Held for review"
        SHADOW = "shadow", "Shadow-hidden (author and team)"

    class State(models.TextChoices):
        VISIBLE = "visible", "Visible"
        HIDDEN = "hidden", "Hidden by a moderator"
        DELETED = "deleted", "Deleted by a moderator"
        DENIED = "denied", "Denied in review"

    class QuestionStatus(models.TextChoices):
        OPEN = "open", "Open"
        CLAIMED = "claimed", "Claimed"
        ANSWERED = "answered", "Answered"

    show = models.ForeignKey("shows.Show", on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="chat_messages",
    )
    author_role = models.CharField(max_length=16, default="viewer")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEXT)
    text = models.CharField(max_length=500)
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.VISIBLE)
    reply_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    answer_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="answers"
    )
    links_clickable = models.BooleanField(default=False)
    is_question = models.BooleanField(default=False)
    question_status = models.CharField(
        max_length=8, choices=QuestionStatus.choices, null=True, blank=True
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    client_msg_id = models.UUIDField(null=True, blank=True)
    seq = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["show", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["show", "author", "client_msg_id"],
                condition=Q(client_msg_id__isnull=False),
                name="chat_message_unique_client_msg_id",
            ),
        ]
        indexes = [
            models.Index(
                fields=["show", "question_status", "created_at"],
                name="chat_message_question_queue",
                condition=Q(is_question=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author_id}: {self.text[:40]}"

    @property
    def response_seconds(self) -> float | None:
        """Seconds from asking to the first staff response, for answered questions."""
        if self.first_response_at is None:
            return None
        return (self.first_response_at - self.created_at).total_seconds()


class ChatSanction(models.Model):
    """A timeout (one show), a ban or a shadow-hide (a whole channel) of one user."""

    class Kind(models.TextChoices):
        TIMEOUT = "timeout", "Timeout"
        BAN = "ban", "Ban"
        SHADOW = "shadow", "Shadow-hide"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    channel = models.ForeignKey("shows.Channel", on_delete=models.CASCADE, related_name="+")
    show = models.ForeignKey(
        "shows.Show", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_sanctions"
    )
    reason = models.CharField(max_length=300, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "channel"], name="chat_sanction_user_channel")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.user_id}"


class BlockedTerm(models.Model):
    class Action(models.TextChoices):
        REJECT = "reject", "Reject with an error"
        HOLD = "hold", "Hold for review"

    channel = models.ForeignKey(
        "shows.Channel", on_delete=models.CASCADE, related_name="blocked_terms"
    )
    term = models.CharField(max_length=100)
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.REJECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["term"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "term"], name="chat_blockedterm_unique")
        ]

    def __str__(self) -> str:
        return self.term


class ModerationAction(models.Model):
    """The audit log: every moderation action, who took it, on what, why, until when."""

    class Action(models.TextChoices):
        HIDE = "hide", "Hide message"
        DELETE = "delete", "Delete message"
        APPROVE = "approve", "Approve held message"
        DENY = "deny", "Deny held message"
        PIN = "pin", "Pin message"
        UNPIN = "unpin", "Unpin message"
        TIMEOUT = "timeout", "Time out user"
        BAN = "ban", "Ban user"
        SHADOW = "shadow", "Shadow-hide user"
        REVOKE = "revoke", "Lift sanction"
        SLOW_MODE = "slow_mode", "Set slow mode"
        HOLD_LINKS = "hold_links", "Set holding of links"
        BLOCKED_TERM_ADD = "term_add", "Add blocked term"
        BLOCKED_TERM_REMOVE = "term_remove", "Remove blocked term"

    show = models.ForeignKey(
        "shows.Show", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    channel = models.ForeignKey("shows.Channel", on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target_message = models.ForeignKey(
        ChatMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id}"
