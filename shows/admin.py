"""Admin for channels and shows: a thin adapter over ``shows.services``.

Shows are created, changed, published, cancelled and duplicated only through
the services, so the admin refuses exactly what the API refuses (overlaps,
illegal status moves) and triggers the same side effects.
"""

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import urlencode

from liveshop.accounts.types import admin_user
from shows.models import Channel, Show, ShowMember, ShowProduct
from shows.selectors import show_schedule_list
from shows.services import (
    EDITABLE_FIELDS,
    SHOW_DUPLICATE_MAX_COPIES,
    ShowTransitionError,
    product_pins_refresh,
    show_cancel,
    show_create,
    show_duplicate,
    show_publish,
    show_schedule_validate,
    show_update,
    show_weekly_starts,
)
from shows.timezones import channel_time, channel_time_label, channel_zone


@cache
def _timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


# --- channel time -------------------------------------------------------------
#
# One rule for the whole admin: every time a merchandiser sees or types is in
# the zone of the show's channel, and says which zone it is. ``shows.timezones``
# is the only place that turns an instant into a channel's wall time.


def channel_label(channel: Channel) -> str:
    """A channel with its zone, so a form that reads times in it says which zone that is."""
    return f"{channel.name} ({channel.timezone})"


def channel_time_display(
    name: str, *, description: str, channel_of: Any = lambda obj: obj.channel
) -> Any:
    """A list column or read-only field showing the datetime ``name`` in channel time.

    ``channel_of`` finds the channel of a row (a show's own by default).
    """

    @admin.display(description=description, ordering=name)
    def display(model_admin: admin.ModelAdmin, obj: Any) -> str:
        # obj is None on an add form's read-only fields.
        moment = getattr(obj, name, None)
        if moment is None:
            return model_admin.get_empty_value_display()
        return channel_time_label(moment, channel_of(obj))

    display.__name__ = f"{name}_in_channel_time"
    return display


def _show_channel(show: Show) -> Channel | None:
    return show.channel if show.channel_id is not None else None


class ChannelAdminForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        choices=_timezone_choices,
        initial="UTC",
        help_text="Shows on this channel are scheduled and listed in this time zone.",
    )

    class Meta:
        model = Channel
        fields = ("name", "slug", "timezone", "description")


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelAdminForm
    list_display = ("name", "slug", "timezone", "created")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created",)
    created = channel_time_display(
        "created_at", description="Created", channel_of=lambda channel: channel
    )


class ShowProductInlineForm(forms.ModelForm):
    # The database refuses negative prices too; this names the field instead
    # of the constraint.
    show_price = forms.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="Price while the show is live; empty means the normal price.",
    )

    class Meta:
        model = ShowProduct
        fields = ("position", "product", "show_price")


class ShowProductInline(admin.TabularInline):
    model = ShowProduct
    form = ShowProductInlineForm
    fields = ("position", "product", "show_price")
    # ProductAdmin lives with the catalog; a raw id keeps this inline free of
    # any dependency on its search fields.
    raw_id_fields = ("product",)
    ordering = ("position", "pk")
    extra = 0
    verbose_name = "lineup product"
    verbose_name_plural = "lineup (in order of position)"


class ShowMemberInline(admin.TabularInline):
    model = ShowMember
    fields = ("user", "role")
    autocomplete_fields = ("user",)
    extra = 0
    verbose_name = "team member"
    verbose_name_plural = "team"


class ChannelChoiceField(forms.ModelChoiceField):
    """The channel picker: each channel with its zone (``channel_label``)."""

    def label_from_instance(self, obj: Channel) -> str:
        return channel_label(obj)


class ShowAdminForm(forms.ModelForm):
    cover_image_url = forms.URLField(
        max_length=500, required=False, assume_scheme="https", label="Cover image URL"
    )

    class Meta:
        model = Show
        fields = ("channel", *EDITABLE_FIELDS)
        field_classes = {"channel": ChannelChoiceField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "channel" in self.fields and self.instance.pk is not None:
            # Disabled rather than read-only: the field stays in the form, so
            # the per-channel slug constraint is still checked here instead of
            # failing later in show_update.
            channel_field = self.fields["channel"]
            channel_field.disabled = True
            channel_field.help_text = (
                "A show stays on its channel; duplicate it to schedule it on another."
            )
        if "slug" in self.fields and self.instance.pk is None:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = "Leave empty to derive it from the title."
        # The admin reads and shows these in the channel's zone (ShowAdmin.changeform_view).
        if self.instance.pk is not None:
            zone = channel_zone(_show_channel(self.instance)).key
            help_text = f"In {zone} time, the channel's time zone."
        else:
            help_text = "In the time zone of the channel chosen above (shown after its name)."
        for name in ("scheduled_start", "scheduled_end"):
            if name in self.fields:
                self.fields[name].help_text = help_text

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        channel = cleaned.get("channel") or (
            self.instance.channel if self.instance.channel_id else None
        )
        start = cleaned.get("scheduled_start")
        end = cleaned.get("scheduled_end")
        if channel is not None and start is not None and end is not None:
            show_schedule_validate(
                channel_id=channel.pk, start=start, end=end, exclude_show_id=self.instance.pk
            )
        return cleaned


@dataclass
class ScheduleEntry:
    show: Show
    starts: dt.datetime
    ends: dt.datetime
    change_url: str


@dataclass
class ScheduleDay:
    date: dt.date
    url: str = ""
    entries: list[ScheduleEntry] = field(default_factory=list)


class ShowDuplicateForm(forms.Form):
    ONCE = "once"
    WEEKLY = "weekly"

    repeat = forms.ChoiceField(
        choices=[(ONCE, "Once, at the date and time below"), (WEEKLY, "Weekly, starting then")],
        initial=ONCE,
        widget=forms.RadioSelect,
    )
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    weeks = forms.IntegerField(
        min_value=1,
        max_value=SHOW_DUPLICATE_MAX_COPIES,
        initial=4,
        required=False,
        help_text=f"For weekly copies: how many weeks (1 to {SHOW_DUPLICATE_MAX_COPIES}).",
    )

    def __init__(self, *args: Any, show: Show, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.show = show
        self.zone = channel_zone(show.channel)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        day, time = cleaned.get("start_date"), cleaned.get("start_time")
        if day is None or time is None:
            return cleaned
        local = dt.datetime.combine(day, time, tzinfo=self.zone)
        # A wall time skipped by a daylight-saving change does not survive the
        # round trip through UTC; refuse it rather than silently shift it.
        if local.astimezone(dt.UTC).astimezone(self.zone).replace(tzinfo=None) != local.replace(
            tzinfo=None
        ):
            raise ValidationError(
                {"start_time": f"{time:%H:%M} does not exist on {day} in {self.zone.key}."}
            )
        if cleaned.get("repeat") == self.WEEKLY:
            if "weeks" in self.errors:
                return cleaned
            if cleaned.get("weeks") is None:
                raise ValidationError({"weeks": "Say for how many weeks."})
            cleaned["starts"] = show_weekly_starts(
                first_start=local, weeks=cleaned["weeks"], timezone_name=self.zone.key
            )
        else:
            cleaned["starts"] = [local.astimezone(dt.UTC)]
        return cleaned


# Set by the services as the show moves through its life; never typed in.
HISTORY_FIELDS = (
    "actual_start",
    "actual_end",
    "cancelled_at",
    "cancellation_reason",
    "created_by",
    "created_at",
    "updated_at",
)

SCHEDULE_EARLIEST_DATE = dt.date(1, 1, 15)
SCHEDULE_LATEST_DATE = dt.date(9999, 12, 15)


class ShowCancelForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Sent to everyone who asked to be reminded.",
    )


@admin.register(Show)
class ShowAdmin(admin.ModelAdmin):
    form = ShowAdminForm
    inlines = (ShowProductInline, ShowMemberInline)
    list_display = ("title", "channel", "status", "starts", "ends", "is_test", "is_private")
    list_filter = ("status", "channel", "kind", "is_test", "is_private", "scheduled_start")
    list_select_related = ("channel",)
    search_fields = ("title", "slug", "public_id", "channel__name")
    date_hierarchy = "scheduled_start"
    ordering = ("-scheduled_start", "pk")
    actions = ("publish_selected", "cancel_selected", "duplicate_selected")
    fieldsets = (
        (None, {"fields": ("channel", "title", "slug", "kind", "description", "cover_image_url")}),
        ("Schedule", {"fields": ("scheduled_start", "scheduled_end", "status", "public_id")}),
        ("Visibility", {"fields": ("is_test", "is_private", "replay_allowed")}),
        ("Shopping", {"fields": ("max_pins", "show_price_while_pinned_only")}),
        (
            "History",
            {
                "classes": ("collapse",),
                "fields": HISTORY_FIELDS,
            },
        ),
    )
    base_readonly_fields = ("status", "public_id", *HISTORY_FIELDS)

    starts = channel_time_display("scheduled_start", description="Starts (channel time)")
    ends = channel_time_display("scheduled_end", description="Ends (channel time)")
    # Read-only times are shown by these, in channel time with the zone, instead
    # of by the model field (which would print them unlabelled); see _shown_as.
    scheduled_start_in_channel_time = channel_time_display(
        "scheduled_start", description="Scheduled start"
    )
    scheduled_end_in_channel_time = channel_time_display(
        "scheduled_end", description="Scheduled end"
    )
    actual_start_in_channel_time = channel_time_display("actual_start", description="Went live")
    actual_end_in_channel_time = channel_time_display("actual_end", description="Ended")
    cancelled_at_in_channel_time = channel_time_display("cancelled_at", description="Cancelled")
    created_at_in_channel_time = channel_time_display("created_at", description="Created")
    updated_at_in_channel_time = channel_time_display("updated_at", description="Updated")

    def _read_only_names(self, request: HttpRequest, obj: Show | None) -> tuple[str, ...]:
        readonly: tuple[str, ...] = self.base_readonly_fields
        if obj is not None and obj.status not in (Show.Status.DRAFT, Show.Status.SCHEDULED):
            # show_update moves only drafts and scheduled shows; offer no
            # field it would refuse anyway.
            readonly = (*readonly, "scheduled_start", "scheduled_end")
        return readonly

    def _shown_as(self, name: str, readonly: tuple[str, ...]) -> str:
        display = f"{name}_in_channel_time"
        return display if name in readonly and hasattr(self, display) else name

    def get_readonly_fields(self, request: HttpRequest, obj: Show | None = None) -> tuple:
        readonly = self._read_only_names(request, obj)
        return tuple(self._shown_as(name, readonly) for name in readonly)

    def get_fieldsets(self, request: HttpRequest, obj: Show | None = None) -> list:
        readonly = self._read_only_names(request, obj)
        return [
            (
                title,
                {
                    **options,
                    # A row of several fields (a tuple) is kept as it is.
                    "fields": [
                        self._shown_as(f, readonly) if isinstance(f, str) else f
                        for f in options["fields"]
                    ],
                },
            )
            for title, options in super().get_fieldsets(request, obj)
        ]

    # --- add and change through the services ---------------------------------

    def _form_channel(self, request: HttpRequest, object_id: str | None) -> Channel | None:
        """The channel whose zone the form's times are shown and read in.

        On change, the show's (a show never changes channel). On add, the
        channel the show is being added to: the one posted, as the form's help
        text says; before that, the one preselected by ``?channel=``.
        """
        if object_id is not None:
            show_id = _row_id(object_id)
            show = (
                Show.objects.select_related("channel").filter(pk=show_id).first()
                if show_id is not None
                else None
            )
            return show.channel if show is not None else None
        chosen = request.POST.get("channel", "") if request.method == "POST" else ""
        channel_id = _row_id(chosen or request.GET.get("channel", ""))
        return Channel.objects.filter(pk=channel_id).first() if channel_id is not None else None

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        with timezone.override(channel_zone(self._form_channel(request, object_id))):
            try:
                response = super().changeform_view(request, object_id, form_url, extra_context)
            except (ValidationError, ShowTransitionError) as error:
                # The slot or status changed between the form check and the
                # save (another merchandiser, or the show went live); the
                # whole save was rolled back.
                text = error.message if isinstance(error, ShowTransitionError) else error.messages
                self.message_user(
                    request, f"Nothing was saved: {' '.join(_as_list(text))}", messages.ERROR
                )
                return HttpResponseRedirect(request.get_full_path())
            # A TemplateResponse renders after the view returns, by default
            # outside this block: the form would show its times in UTC and read
            # them back in the channel's zone, moving the show on every save.
            if isinstance(response, TemplateResponse):
                response.render()
            return response

    def save_model(self, request: HttpRequest, obj: Show, form: forms.ModelForm, change: bool):
        if change:
            data = {
                name: form.cleaned_data[name]
                for name in EDITABLE_FIELDS
                if name in form.cleaned_data and name in form.changed_data
            }
            show_update(show=obj, data=data)
            return
        created = show_create(
            channel=form.cleaned_data["channel"],
            title=form.cleaned_data["title"],
            scheduled_start=form.cleaned_data["scheduled_start"],
            scheduled_end=form.cleaned_data["scheduled_end"],
            created_by=admin_user(request),
            slug=form.cleaned_data.get("slug") or "",
            description=form.cleaned_data.get("description", ""),
            cover_image_url=form.cleaned_data.get("cover_image_url", ""),
            kind=form.cleaned_data.get("kind") or Show.Kind.LIVE,
            is_test=form.cleaned_data.get("is_test", False),
            is_private=form.cleaned_data.get("is_private", False),
            replay_allowed=form.cleaned_data.get("replay_allowed", True),
            max_pins=form.cleaned_data.get("max_pins") or 3,
            show_price_while_pinned_only=form.cleaned_data.get(
                "show_price_while_pinned_only", False
            ),
        )
        # The inline formsets already hold ``obj``: it must become the saved
        # row so the lineup and team attach to it.
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        # A show price edited while the product is pinned reaches viewers at once.
        product_pins_refresh(show_id=form.instance.pk)

    # --- actions ---------------------------------------------------------------

    def _apply_each(
        self, request: HttpRequest, shows: Iterable[Show], *, service: Any, done: str
    ) -> None:
        succeeded = 0
        for show in shows:
            try:
                service(show=show)
            except (ShowTransitionError, ValidationError) as error:
                text = error.message if isinstance(error, ShowTransitionError) else error.messages
                self.message_user(
                    request, f'"{show.title}": {" ".join(_as_list(text))}', messages.ERROR
                )
            else:
                succeeded += 1
        if succeeded:
            noun = "show" if succeeded == 1 else "shows"
            self.message_user(request, f"{succeeded} {noun} {done}.", messages.SUCCESS)

    @admin.action(description="Publish selected shows (draft → scheduled)", permissions=["change"])
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[Show]) -> None:
        self._apply_each(request, _in_time_order(queryset), service=show_publish, done="published")

    @admin.action(description="Cancel selected shows…", permissions=["change"])
    def cancel_selected(
        self, request: HttpRequest, queryset: QuerySet[Show]
    ) -> HttpResponse | None:
        # Cancelling tells every subscriber and cannot be undone, so it is
        # confirmed on its own page first, like Django's delete action.
        shows = list(_in_time_order(queryset))
        if request.POST.get("post") == "yes":
            form = ShowCancelForm(request.POST)
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                self._apply_each(
                    request,
                    shows,
                    service=lambda show: show_cancel(show=show, reason=reason),
                    done="cancelled",
                )
                return None
        else:
            form = ShowCancelForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Cancel shows",
            "entries": [
                ScheduleEntry(
                    show=show,
                    starts=channel_time(show.scheduled_start, show.channel),
                    ends=channel_time(show.scheduled_end, show.channel),
                    change_url=reverse("admin:shows_show_change", args=[show.pk]),
                )
                for show in shows
            ],
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/shows/show/cancel_confirmation.html", context)

    @admin.action(description="Duplicate the selected show…", permissions=["add"])
    def duplicate_selected(
        self, request: HttpRequest, queryset: QuerySet[Show]
    ) -> HttpResponse | None:
        shows = list(queryset.select_related("channel")[:2])
        if len(shows) != 1:
            self.message_user(request, "Select exactly one show to duplicate.", messages.ERROR)
            return None
        return HttpResponseRedirect(reverse("admin:shows_show_duplicate", args=[shows[0].pk]))

    def duplicate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        show_id = _row_id(object_id)
        if show_id is None:
            raise Http404("No such show.")
        show = get_object_or_404(Show.objects.select_related("channel"), pk=show_id)
        zone = channel_zone(show.channel)
        if request.method == "POST":
            form = ShowDuplicateForm(request.POST, show=show)
            if form.is_valid():
                try:
                    copies = show_duplicate(
                        show=show,
                        starts=form.cleaned_data["starts"],
                        created_by=admin_user(request),
                    )
                except ValidationError as error:
                    for message in error.messages:
                        form.add_error(None, message)
                else:
                    noun = "copy" if len(copies) == 1 else "copies"
                    self.message_user(
                        request,
                        f'{len(copies)} draft {noun} of "{show.title}" created.',
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:shows_show_changelist")
                        + "?"
                        + urlencode(
                            {"channel__id__exact": str(show.channel_id), "status__exact": "draft"}
                        )
                    )
        else:
            next_week = channel_time(show.scheduled_start, show.channel) + dt.timedelta(weeks=1)
            form = ShowDuplicateForm(
                initial={
                    "repeat": ShowDuplicateForm.ONCE,
                    "start_date": next_week.date(),
                    "start_time": next_week.time().replace(second=0, microsecond=0),
                    "weeks": 4,
                },
                show=show,
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f'Duplicate "{show.title}"',
            "show": show,
            "show_starts": channel_time(show.scheduled_start, show.channel),
            "show_ends": channel_time(show.scheduled_end, show.channel),
            "zone": zone.key,
            "form": form,
            "lineup_count": show.lineup.count(),
            "team_count": show.members.count(),
        }
        return TemplateResponse(request, "admin/shows/show/duplicate.html", context)

    # --- schedule ---------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "schedule/",
                self.admin_site.admin_view(self.schedule_view),
                name="shows_show_schedule",
            ),
            path(
                "<str:object_id>/duplicate/",
                self.admin_site.admin_view(self.duplicate_view),
                name="shows_show_duplicate",
            ),
        ]
        return custom + super().get_urls()

    def schedule_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        channels = list(Channel.objects.order_by("name", "pk"))
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Show schedule",
            "channels": channels,
            "has_add_permission": self.has_add_permission(request),
        }
        if not channels:
            return TemplateResponse(request, "admin/shows/show/schedule.html", context)
        slug = request.GET.get("channel")
        if slug:
            channel = next((each for each in channels if each.slug == slug), None)
            if channel is None:
                raise Http404("No such channel.")
        else:
            channel = channels[0]
        zone = channel_zone(channel)
        view = request.GET.get("view", "week")
        if view not in ("day", "week"):
            view = "week"
        today = channel_time(timezone.now(), channel).date()
        try:
            day = dt.date.fromisoformat(request.GET.get("date", ""))
        except ValueError:
            day = today
        # The week and its previous/next links must stay inside what dates can hold.
        if not SCHEDULE_EARLIEST_DATE <= day <= SCHEDULE_LATEST_DATE:
            day = today
        if view == "week":
            first = day - dt.timedelta(days=day.weekday())
            length = 7
        else:
            first = day
            length = 1
        days = [ScheduleDay(date=first + dt.timedelta(days=n)) for n in range(length)]
        range_start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
        range_end = dt.datetime.combine(first + dt.timedelta(days=length), dt.time.min, tzinfo=zone)
        by_date = {each.date: each for each in days}
        for show in show_schedule_list(channel_id=channel.pk, start=range_start, end=range_end):
            starts = channel_time(show.scheduled_start, channel)
            # A show that began the evening before still belongs on the
            # first day of the range it is visible in.
            column = by_date.get(starts.date(), days[0])
            column.entries.append(
                ScheduleEntry(
                    show=show,
                    starts=starts,
                    ends=channel_time(show.scheduled_end, channel),
                    change_url=reverse("admin:shows_show_change", args=[show.pk]),
                )
            )

        def link(**params: str) -> str:
            query = {"channel": channel.slug, "view": view, "date": day.isoformat()}
            query.update(params)
            return "?" + urlencode(query)

        for each in days:
            each.url = link(view="day", date=each.date.isoformat())
        step = dt.timedelta(days=length)
        context.update(
            {
                "channel": channel,
                "zone": zone.key,
                "view": view,
                "days": days,
                "first": first,
                "last": first + dt.timedelta(days=length - 1),
                "today": today,
                "previous_url": link(date=(first - step).isoformat()),
                "next_url": link(date=(first + step).isoformat()),
                "today_url": link(date=today.isoformat()),
                "day_url": link(view="day"),
                "week_url": link(view="week"),
                "add_url": reverse("admin:shows_show_add")
                + "?"
                + urlencode({"channel": channel.pk}),
            }
        )
        return TemplateResponse(request, "admin/shows/show/schedule.html", context)


def _row_id(text: str) -> int | None:
    """``text`` as a primary key, or None for anything a bigint column cannot hold."""
    if not re.fullmatch(r"[0-9]{1,18}", text):
        return None
    return int(text)


def _in_time_order(queryset: QuerySet[Show]) -> QuerySet[Show]:
    return queryset.select_related("channel").order_by("scheduled_start", "pk")


def _as_list(text: str | list[str]) -> list[str]:
    return [text] if isinstance(text, str) else list(text)
