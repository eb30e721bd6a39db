from django.contrib import admin

from video.models import ChannelRotationEntry, IngestSession, Recording, ShowStream


@admin.register(ShowStream)
class ShowStreamAdmin(admin.ModelAdmin):
    list_display = ["show", "backstage", "rotated_at"]
    list_select_related = ["show"]
    fields = ["show", "backstage", "rotated_at"]
    readonly_fields = ["show", "rotated_at"]
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
    list_display = [
        "show",
        "provider",
        "client_id",
        "state",
        "started_at",
        "playable_at",
        "ended_at",
    ]
    list_filter = ["state", "provider"]
    list_select_related = ["show"]


@admin.register(Recording)
class RecordingAdmin(ReadOnlyAdmin):
    list_display = [
        "show",
        "status",
        "duration_seconds",
        "size_bytes",
        "failure_reason",
        "ready_at",
    ]
    list_filter = ["status"]
    list_select_related = ["show"]


@admin.register(ChannelRotationEntry)
class ChannelRotationEntryAdmin(ReadOnlyAdmin):
    """The replays filling a channel's air time, in order; set with
    ``PUT /api/v1/channels/<slug>/rotation`` (checked by ``channel_rotation_set``)."""

    list_display = ["channel", "position", "show"]
    list_filter = ["channel"]
    list_select_related = ["channel", "show"]
