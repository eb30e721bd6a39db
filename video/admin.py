"""Admin for video: streams, sessions and recordings (read-only, written by the
media server's callbacks), and the premiere's planned pins inline on the show."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from liveshop.accounts.models import User
from liveshop.accounts.types import admin_user
from liveshop.common.exceptions import ApplicationError
from shows.admin import ShowAdmin, channel_time_display
from shows.models import Show
from video.models import ChannelRotationEntry, IngestSession, PlannedPin, Recording, ShowStream
from video.services import planned_pin_create, planned_pin_delete, planned_pin_update


def _show_channel(obj: Any):
    return obj.show.channel


def _in_show_time(name: str, description: str) -> Any:
    """``name`` in the show's channel time, labelled with the zone (as on the show admin)."""
    return channel_time_display(name, description=description, channel_of=_show_channel)


@admin.register(ShowStream)
class ShowStreamAdmin(admin.ModelAdmin):
    list_display = ["show", "backstage", "rotated"]
    list_select_related = ["show__channel"]
    fields = ["show", "backstage", "rotated"]
    readonly_fields = ["show", "rotated"]
    rotated = _in_show_time("rotated_at", "Key rotated")
    search_fields = ["show__title", "show__public_id"]

    def has_add_permission(self, request) -> bool:
        # Streams are created with their secret on first use (video.services).
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by services only: the media server's callbacks, the rotation API."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IngestSession)
class IngestSessionAdmin(ReadOnlyAdmin):
    list_display = ["show", "provider", "client_id", "state", "started", "playable", "ended"]
    list_filter = ["state", "provider"]
    list_select_related = ["show__channel"]
    started = _in_show_time("started_at", "Started")
    playable = _in_show_time("playable_at", "Playable")
    ended = _in_show_time("ended_at", "Ended")


@admin.register(Recording)
class RecordingAdmin(ReadOnlyAdmin):
    list_display = [
        "show",
        "status",
        "duration_seconds",
        "size_bytes",
        "failure_reason",
        "ready",
    ]
    list_filter = ["status"]
    list_select_related = ["show__channel"]
    ready = _in_show_time("ready_at", "Ready")


@admin.register(ChannelRotationEntry)
class ChannelRotationEntryAdmin(ReadOnlyAdmin):
    """The replays filling a channel's air time, in order; set with
    ``PUT /api/v1/channels/<slug>/rotation`` (checked by ``channel_rotation_set``)."""

    list_display = ["channel", "position", "show"]
    list_filter = ["channel"]
    list_select_related = ["channel", "show"]


class PlannedPinInlineForm(forms.ModelForm):
    offset_seconds = forms.DecimalField(
        min_value=0, max_digits=10, decimal_places=3, help_text="From the video's start."
    )
    duration_seconds = forms.DecimalField(
        min_value=Decimal("0.001"),
        max_digits=10,
        decimal_places=3,
        required=False,
        help_text="Empty: pinned until the premiere ends.",
    )

    class Meta:
        model = PlannedPin
        fields = ("product",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["offset_seconds"] = Decimal(self.instance.offset_ms) / 1000
            if self.instance.duration_ms is not None:
                self.initial["duration_seconds"] = Decimal(self.instance.duration_ms) / 1000


class PlannedPinFormSet(BaseInlineFormSet):
    """Saves through ``video.services``, so the admin refuses what the API refuses.

    A refusal raises ``ValidationError``: the show admin rolls the whole save back
    and says why.
    """

    # Who saves: set by PlannedPinInline.get_formset to the admin's signed-in user. No
    # default: the services check the actor's role, and a formset without one must not save.
    actor: User

    def _plan(self, form: forms.ModelForm) -> dict:
        duration = form.cleaned_data.get("duration_seconds")
        return {
            "show": self.instance,
            "product_id": form.cleaned_data["product"].pk,
            "offset_seconds": float(form.cleaned_data["offset_seconds"]),
            "duration_seconds": None if duration is None else float(duration),
            "actor": self.actor,
        }

    def save_new(self, form: forms.ModelForm, commit: bool = True) -> PlannedPin:
        try:
            return planned_pin_create(**self._plan(form))
        except ApplicationError as error:
            raise ValidationError(f"Planned pin: {error.message}") from error

    def save_existing(self, form: forms.ModelForm, obj: PlannedPin, commit: bool = True):
        try:
            return planned_pin_update(planned_pin_id=obj.pk, **self._plan(form))
        except ApplicationError as error:
            raise ValidationError(f"Planned pin: {error.message}") from error

    def delete_existing(self, obj: PlannedPin, commit: bool = True) -> None:
        try:
            planned_pin_delete(show=self.instance, planned_pin_id=obj.pk, actor=self.actor)
        except ApplicationError as error:
            raise ValidationError(f"Planned pin: {error.message}") from error


class PlannedPinInline(admin.TabularInline):
    """Products pinned on the premiere's video timeline before it airs."""

    model = PlannedPin
    form = PlannedPinInlineForm
    formset = PlannedPinFormSet
    fk_name = "show"
    fields = ("product", "offset_seconds", "duration_seconds", "status", "skip_reason", "pin")
    readonly_fields = ("status", "skip_reason", "pin")
    raw_id_fields = ("product",)
    ordering = ("offset_ms", "pk")
    extra = 0
    verbose_name = "planned pin"
    verbose_name_plural = "planned pins (on the premiere's video, by offset)"

    def get_formset(self, request: HttpRequest, obj: Show | None = None, **kwargs: Any):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"actor": admin_user(request)})

    def has_change_permission(self, request: HttpRequest, obj: Show | None = None) -> bool:
        # The plan is kept as it fired once the premiere has aired.
        aired = obj is not None and obj.status not in (Show.Status.DRAFT, Show.Status.SCHEDULED)
        return not aired and super().has_change_permission(request, obj)

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


admin.site.unregister(Show)


@admin.register(Show)
class ShowVideoAdmin(ShowAdmin):
    """The show admin, with the planned pins inline on premieres (recorded shows)."""

    def get_inlines(self, request: HttpRequest, obj: Show | None) -> tuple:
        if obj is not None and obj.kind == Show.Kind.RECORDED:
            return (*self.inlines, PlannedPinInline)
        return self.inlines
