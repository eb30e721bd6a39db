import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q


def stream_secret_generate() -> str:
    return secrets.token_urlsafe(24)


class ShowStream(models.Model):
    """A show's ingest credentials and video settings; created on first use."""

    show = models.OneToOneField("shows.Show", on_delete=models.CASCADE, related_name="stream")
    secret = models.CharField(max_length=64, unique=True, default=stream_secret_generate)
    backstage = models.BooleanField(
        default=False,
        help_text=(
            "A new stream first goes backstage: playable for the show's team only, "
            "until a moderator takes it live."
        ),
    )
    rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Stream of {self.show}"


class IngestSession(models.Model):
    """One publish the media server accepted for a show."""

    class State(models.TextChoices):
        BACKSTAGE = "backstage", "Backstage"
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"

    show = models.ForeignKey("shows.Show", on_delete=models.CASCADE, related_name="ingest_sessions")
    provider = models.CharField(max_length=20)
    client_id = models.CharField(max_length=100)
    state = models.CharField(max_length=10, choices=State.choices)
    # False for a client id liveshop only heard end (a publish_done that overtook
    # its on_publish): kept so a late on_publish for it is refused.
    accepted = models.BooleanField(default=True)
    # Set by hosted providers, whose playback URL is not derived from the show.
    playback_url = models.URLField(max_length=500, blank=True)
    started_at = models.DateTimeField()
    playable_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["show", "provider", "client_id"], name="video_session_unique_client"
            ),
            # One publisher per show: the second is refused, never stored.
            models.UniqueConstraint(
                fields=["show"], condition=~Q(state="ended"), name="video_session_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} client {self.client_id} on {self.show}"


class Recording(models.Model):
    """A recorded file of an ingest session, and the replay made from it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    show = models.ForeignKey("shows.Show", on_delete=models.CASCADE, related_name="recordings")
    session = models.ForeignKey(
        IngestSession, on_delete=models.SET_NULL, null=True, blank=True, related_name="recordings"
    )
    provider = models.CharField(max_length=20)
    source = models.CharField(max_length=500, help_text="File path or URL of the recording.")
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(max_length=300, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    playlist_path = models.CharField(max_length=300, blank=True)
    # A hosted provider's VOD; empty for recordings liveshop processed itself.
    playback_url = models.URLField(max_length=500, blank=True)
    thumbnail_url = models.URLField(max_length=500, blank=True)
    thumbnail_path = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "source"], name="video_recording_unique_source"
            )
        ]

    def __str__(self) -> str:
        return f"Recording {self.pk} of {self.show} ({self.status})"


class ChannelRotationEntry(models.Model):
    """One show whose replay fills a channel's air time between scheduled shows."""

    channel = models.ForeignKey("shows.Channel", on_delete=models.CASCADE, related_name="rotation")
    show = models.ForeignKey("shows.Show", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "show"], name="video_rotation_unique_show"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.position}: {self.show}"


class PlannedPin(models.Model):
    """A product pinned in advance on a premiere's video timeline.

    When the airing premiere reaches ``offset_ms`` the beat tick pins the product
    through the same pin service as a moderator (``pin`` is the live pin it made),
    and unpins it after ``duration_ms`` (empty: pinned until the premiere ends).
    ``status`` says whether it fired; a pin the show refused (the product is pinned
    already, the pin limit) is ``skipped`` with the refusal's code.
    """

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        PINNED = "pinned", "Pinned"
        SKIPPED = "skipped", "Skipped"

    show = models.ForeignKey("shows.Show", on_delete=models.CASCADE, related_name="planned_pins")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    offset_ms = models.PositiveBigIntegerField(help_text="From the video's start.")
    duration_ms = models.PositiveBigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    skip_reason = models.CharField(max_length=40, blank=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    # One live pin per planned pin, however many ticks fire at once.
    pin = models.OneToOneField(
        "shows.ShowPin",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="planned",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["offset_ms", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["show", "product", "offset_ms"], name="video_plannedpin_unique_moment"
            ),
            models.CheckConstraint(
                condition=Q(duration_ms__isnull=True) | Q(duration_ms__gt=0),
                name="video_plannedpin_duration_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} at {self.offset_ms / 1000:g} s in {self.show}"


class ChannelAir(models.Model):
    """What a channel's socket last announced: one row per channel, locked to publish once.

    ``key`` identifies the programme item (what plays, not how far into it),
    ``version`` counts the announcements (the ``now_playing`` frames' ``version``),
    ``changes_at`` is when a replay slot ends (empty: no time-based change is due).
    """

    channel = models.OneToOneField("shows.Channel", on_delete=models.CASCADE, related_name="air")
    key = models.CharField(max_length=64, blank=True)
    version = models.PositiveBigIntegerField(default=0)
    changes_at = models.DateTimeField(null=True, blank=True, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"On air on {self.channel}: version {self.version}"
