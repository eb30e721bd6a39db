"""Advice desks: the teams of advisors a viewer reaches in one click.

A desk serves a storefront or a channel. Its advisors take consultations from its queue, within
its weekly opening hours (in the desk's own time zone) and their exceptions. The consultations
themselves and their rooms come with the queue (docs/design/consultations.md, section 2).
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from shows.models import timezone_validate

MIDNIGHT = dt.time(0, 0)


def hours_validate(*, opens: dt.time | None, closes: dt.time | None) -> None:
    """An interval of one day: it opens before it closes; closing at 00:00 means midnight."""
    if opens is None or closes is None:
        return
    if closes != MIDNIGHT and closes <= opens:
        raise ValidationError(
            "A desk must open before it closes on the same day (close at 00:00 for midnight)."
        )


class Desk(models.Model):
    """A team of advisors for a storefront or a channel, with its hours and its queue."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    storefront = models.ForeignKey(
        "catalog.Storefront",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="desks",
        help_text="The shop whose customers this desk advises (its products can be pushed).",
    )
    channel = models.ForeignKey(
        "shows.Channel",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="desks",
        help_text="The channel whose viewers this desk advises (invitations from its shows).",
    )
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[timezone_validate],
        help_text="The zone the opening hours are given in, e.g. Europe/Berlin.",
    )
    greeting = models.CharField(
        max_length=500,
        blank=True,
        help_text="Sent to the viewer when an advisor takes the consultation.",
    )
    default_handling_seconds = models.PositiveIntegerField(
        default=300,
        validators=[MinValueValidator(30), MaxValueValidator(4 * 3600)],
        help_text="Assumed length of a consultation for wait estimates until there is history.",
    )
    max_waiting = models.PositiveIntegerField(
        default=200,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Requests waiting at most; a full queue refuses new ones.",
    )
    next_ticket = models.PositiveBigIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(storefront__isnull=False) | Q(channel__isnull=False),
                name="consultations_desk_serves_something",
                violation_error_message="A desk serves a storefront, a channel or both.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class DeskTopic(models.Model):
    """What a viewer can ask a desk about ("sizing", "delivery", ...)."""

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="topics")
    slug = models.SlugField(max_length=60)
    label = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["desk", "slug"], name="consultations_topic_unique_slug")
        ]

    def __str__(self) -> str:
        return self.label


class DeskAdvisor(models.Model):
    """A user who takes a desk's consultations, and how many at once."""

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="advisors")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_advisories"
    )
    capacity = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="Consultations this advisor takes at the same time.",
    )
    is_supervisor = models.BooleanField(
        default=False,
        help_text="May join any of the desk's consultations and read all its reports.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["desk", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["desk", "user"], name="consultations_advisor_unique_user"
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=1, capacity__lte=10),
                name="consultations_advisor_capacity_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.desk}"


class DeskHours(models.Model):
    """One opening interval of a weekday, in the desk's zone; a day may have several."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["desk", "weekday", "opens", "pk"]
        verbose_name_plural = "desk hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self) -> None:
        hours_validate(opens=self.opens, closes=self.closes)


class DeskHoursException(models.Model):
    """A date whose hours replace the weekday's: a holiday (closed) or special hours."""

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="hours_exceptions")
    date = models.DateField(help_text="A date in the desk's zone.")
    is_closed = models.BooleanField(default=True)
    opens = models.TimeField(null=True, blank=True)
    closes = models.TimeField(
        null=True, blank=True, help_text="00:00 means midnight at the end of the day."
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["desk", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["desk", "date"], name="consultations_hours_exception_unique_date"
            )
        ]

    def __str__(self) -> str:
        if self.is_closed:
            return f"{self.date}: closed"
        return f"{self.date}: {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self) -> None:
        if self.is_closed:
            return
        if self.opens is None or self.closes is None:
            raise ValidationError("Special hours need an opening and a closing time.")
        hours_validate(opens=self.opens, closes=self.closes)


class Consultation(models.Model):
    """One viewer's request for an advisor, from the queue to its outcome.

    ``waiting`` in the desk's queue (ordered by ``ticket``), ``active`` once an advisor took it,
    then ``ended`` by the advisor, ``left`` by the viewer, or ``abandoned`` when the viewer
    stopped waiting without leaving (docs/design/consultations.md, section 4).
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        ACTIVE = "active", "In progress"
        ENDED = "ended", "Ended"
        LEFT = "left", "Left by the viewer"
        ABANDONED = "abandoned", "Abandoned"

    class Source(models.TextChoices):
        SHOW = "show", "From a show"
        PRODUCT = "product", "From a product page"
        QUESTION = "question", "Invited from a question"
        DESK = "desk", "From the desk's page"

    class Mode(models.TextChoices):
        CHAT = "chat", "Chat"
        VIDEO = "video", "Video"

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", "Question answered"
        SALE = "sale", "Sold"
        FOLLOW_UP = "follow_up", "Follow-up needed"
        NO_SOLUTION = "no_solution", "Could not help"
        VIEWER_LEFT = "viewer_left", "Viewer left"

    OPEN_STATUSES = (Status.WAITING, Status.ACTIVE)

    public_id = models.UUIDField(unique=True, editable=False)
    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, related_name="consultations")
    ticket = models.PositiveBigIntegerField(help_text="Place in the desk's queue, in order asked.")
    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consultations"
    )
    topic = models.ForeignKey(
        DeskTopic, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    show = models.ForeignKey(
        "shows.Show", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    question_id = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="The show question (a chat message) the consultation was invited from.",
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.CHAT)
    first_message = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consultations_advised",
    )
    requested_at = models.DateTimeField()
    taken_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    viewer_seen_at = models.DateTimeField(
        help_text="Last sign of the waiting viewer (a poll or a socket); stale means abandoned."
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    outcome_note = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["desk", "ticket"]
        constraints = [
            models.UniqueConstraint(
                fields=["desk", "ticket"], name="consultations_consultation_unique_ticket"
            ),
            # Asking twice returns the open request instead of queueing a second one.
            models.UniqueConstraint(
                fields=["desk", "viewer"],
                condition=Q(status__in=["waiting", "active"]),
                name="consultations_consultation_one_open_per_viewer",
            ),
        ]
        indexes = [
            models.Index(fields=["desk", "status", "ticket"], name="consultations_queue"),
            models.Index(fields=["advisor", "status"], name="consultations_advisor_open"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket} at {self.desk}"


class CallbackRequest(models.Model):
    """A viewer who found the desk closed asks to be contacted at a preferred time."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled by the viewer"

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="callbacks")
    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="callback_requests"
    )
    topic = models.ForeignKey(
        DeskTopic, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.CharField(max_length=500, blank=True)
    preferred_start = models.DateTimeField()
    preferred_end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["preferred_start", "pk"]
        constraints = [
            # Asking again replaces the open request's time instead of adding a second one.
            models.UniqueConstraint(
                fields=["desk", "viewer"],
                condition=Q(status="open"),
                name="consultations_callback_one_open_per_viewer",
            ),
            models.CheckConstraint(
                condition=Q(preferred_end__gt=F("preferred_start")),
                name="consultations_callback_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"callback for {self.viewer} at {self.desk}"
