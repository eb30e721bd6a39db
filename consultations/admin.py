"""The desks in the admin: advisors, topics, weekly hours and their exceptions on one page."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from consultations.models import Desk, DeskAdvisor, DeskHours, DeskHoursException, DeskTopic
from consultations.selectors.desks import user_may_advise
from consultations.selectors.hours import LocalInterval, local_intervals_overlap


class DeskAdvisorInlineForm(forms.ModelForm):
    class Meta:
        model = DeskAdvisor
        fields = ("user", "capacity", "is_supervisor", "is_active")

    def clean_user(self) -> Any:
        user = self.cleaned_data["user"]
        if user is not None and not user_may_advise(user=user):
            raise ValidationError(
                f"{user} cannot advise: give the account the service staff role first."
            )
        return user


class DeskAdvisorInline(admin.TabularInline):
    model = DeskAdvisor
    form = DeskAdvisorInlineForm
    fields = ("user", "capacity", "is_supervisor", "is_active")
    autocomplete_fields = ("user",)
    extra = 0
    verbose_name = "advisor"
    verbose_name_plural = "advisors"


class DeskTopicInline(admin.TabularInline):
    model = DeskTopic
    fields = ("position", "slug", "label")
    prepopulated_fields = {"slug": ("label",)}
    extra = 0


class DeskHoursFormSet(forms.BaseInlineFormSet):
    """Refuses two intervals of one weekday that overlap: the desk would be open twice."""

    def clean(self) -> None:
        super().clean()
        by_day: dict[int, list[LocalInterval]] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or form.errors:
                continue
            if data.get("opens") is None or data.get("closes") is None:
                continue
            by_day.setdefault(data["weekday"], []).append(
                LocalInterval(data["opens"], data["closes"])
            )
        for weekday, intervals in sorted(by_day.items()):
            if local_intervals_overlap(intervals):
                name = DeskHours.Weekday(weekday).label
                raise ValidationError(f"Two opening intervals on {name} overlap.")


class DeskHoursInline(admin.TabularInline):
    model = DeskHours
    formset = DeskHoursFormSet
    fields = ("weekday", "opens", "closes")
    extra = 0
    verbose_name = "weekly opening interval"
    verbose_name_plural = "weekly hours (in the desk's time zone)"


class DeskHoursExceptionInline(admin.TabularInline):
    model = DeskHoursException
    fields = ("date", "is_closed", "opens", "closes", "note")
    extra = 0
    verbose_name = "exception (holiday or special hours)"
    verbose_name_plural = "exceptions (replace the weekday's hours on that date)"


@admin.register(Desk)
class DeskAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "storefront", "channel", "timezone")
    list_select_related = ("storefront", "channel")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (DeskAdvisorInline, DeskTopicInline, DeskHoursInline, DeskHoursExceptionInline)
    fieldsets = (
        (None, {"fields": ("name", "slug", "storefront", "channel", "timezone", "greeting")}),
        ("Queue", {"fields": ("max_waiting", "default_handling_seconds")}),
    )
