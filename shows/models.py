import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from realtime.models import RoomEvent, RoomState


def timezone_validate(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            f"{value!r} is not a known time zone (use a name like Europe/Berlin)."
        )


def public_id_generate() -> str:
    # 12 URL-safe characters: unguessable enough for private show links and
    # short enough for an RTMP stream name.
    return secrets.token_urlsafe(9)


class Channel(models.Model):
    """A brand's stream: one show at a time, scheduled in its own time zone."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[timezone_validate])
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Show(models.Model):
    class Kind(models.TextChoices):
        LIVE = "live", "Live"
        RECORDED = "recorded", "Recorded (premiere)"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"
        CANCELLED = "cancelled", "Cancelled"

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="shows")
    public_id = models.CharField(
        max_length=16, unique=True, default=public_id_generate, editable=False
    )
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120)
    description = models.TextField(blank=True)
    cover_image_url = models.URLField(max_length=500, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LIVE)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, editable=False
    )
    scheduled_start = models.DateTimeField()
    scheduled_end = models.DateTimeField()
    actual_start = models.DateTimeField(null=True, blank=True, editable=False)
    actual_end = models.DateTimeField(null=True, blank=True, editable=False)
    is_test = models.BooleanField(
        default=False, help_text="Test shows are seen only by their team and merchandisers."
    )
    is_private = models.BooleanField(
        default=False,
        help_text="Private shows are left out of schedules and feeds; the link still works.",
    )
    replay_allowed = models.BooleanField(default=True)
    max_pins = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="How many products may be pinned to the stream at once (1 to 10).",
    )
    show_price_while_pinned_only = models.BooleanField(
        default=False,
        help_text="Show prices apply only while the product is pinned (else while live).",
    )
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancellation_reason = models.CharField(max_length=300, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scheduled_start", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "slug"], name="shows_show_unique_slug_per_channel"
            ),
            models.CheckConstraint(
                condition=Q(scheduled_end__gt=F("scheduled_start")),
                name="shows_show_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "scheduled_start"], name="shows_show_channel_start")
        ]

    def __str__(self) -> str:
        return self.title


class ShowProduct(models.Model):
    """One product in a show's ordered lineup, with an optional show-only price."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="lineup")
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="show_appearances"
    )
    position = models.PositiveIntegerField(default=0)
    show_price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Price while the show is live; empty means the normal price.",
    )

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["show", "product"], name="shows_showproduct_unique_product"
            ),
            models.CheckConstraint(
                condition=Q(show_price__isnull=True) | Q(show_price__gte=0),
                name="shows_showproduct_price_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.show} #{self.position}: {self.product}"


class ShowMember(models.Model):
    """Someone with power over one show: a host, a moderator or service staff."""

    class Role(models.TextChoices):
        HOST = "host", "Host"
        MODERATOR = "moderator", "Moderator"
        SERVICE_STAFF = "service_staff", "Service staff"

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="show_memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["show", "user", "role"], name="shows_showmember_unique_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) on {self.show}"


class ShowReminder(models.Model):
    """A viewer's "remind me": one "starting soon" notice, sent once."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="reminders")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="show_reminders"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    cancellation_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["show", "user"], name="shows_showreminder_unique_user")
        ]
        indexes = [models.Index(fields=["show", "reminded_at"], name="shows_reminder_due")]

    def __str__(self) -> str:
        return f"{self.user} wants a reminder for {self.show}"


class NotificationHookPost(models.Model):
    """One POST to the notification hook, stored with the notice it belongs to.

    Written in the transaction that sends the email, so the hook is pending in the
    database until it is posted (``sent_at``): a task message lost to a broker
    outage is enqueued again by the beat sweep.
    """

    event_type = models.CharField(max_length=40)
    data = models.JSONField()
    idempotency_key = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["sent_at", "created_at"], name="shows_hook_pending")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.idempotency_key}"


class ShowPin(models.Model):
    """One product pinned to the stream, with its time on the show's own clock.

    Offsets count from the show's actual start, so a replay can show the
    product at the same moment; ``end_offset_ms`` is empty while pinned.
    """

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="pins")
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="show_pins"
    )
    pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    unpinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pinned_at = models.DateTimeField()
    unpinned_at = models.DateTimeField(null=True, blank=True)
    start_offset_ms = models.PositiveBigIntegerField()
    end_offset_ms = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["pinned_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["show", "product"],
                condition=Q(unpinned_at__isnull=True),
                name="shows_showpin_one_open_pin_per_product",
            )
        ]
        indexes = [models.Index(fields=["product", "unpinned_at"], name="shows_showpin_product")]

    def __str__(self) -> str:
        return f"{self.product} pinned in {self.show}"


class ShowRoom(RoomState):
    """The show's room: its log position and aggregates (``realtime.models.RoomState``).

    The table keeps the name it had when the room was chat's.
    """

    show = models.OneToOneField(
        Show, on_delete=models.CASCADE, primary_key=True, related_name="room"
    )

    class Meta:
        db_table = "chat_showroom"

    def __str__(self) -> str:
        return f"room of show {self.show_id}"


class ShowEvent(RoomEvent):
    """One entry of a show's durable, sequenced event log (``realtime.models.RoomEvent``).

    ``subject_id`` is the chat message a message event is about; its column keeps the name
    it had as a foreign key, ``message_id``, and the table the name it had as chat's.
    """

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="events")
    subject_id = models.BigIntegerField(
        null=True, blank=True, db_index=True, db_column="message_id"
    )

    class Meta:
        db_table = "chat_showevent"
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
