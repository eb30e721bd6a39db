from django.urls import path, register_converter

from shows import apis


class PublicIdConverter:
    # Only what public_id_generate can produce, so garbage (NUL bytes, huge
    # strings) is answered 404 before it reaches the database.
    regex = "[A-Za-z0-9_-]{1,16}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(PublicIdConverter, "public_id")

urlpatterns = [
    path("channels", apis.ChannelListApi.as_view(), name="channel-list"),
    path(
        "channels/<slug:slug>/schedule",
        apis.ChannelScheduleApi.as_view(),
        name="channel-schedule",
    ),
    path(
        "channels/<slug:slug>/schedule.ics",
        apis.ChannelCalendarApi.as_view(),
        name="channel-calendar",
    ),
    path("shows/<public_id:public_id>", apis.ShowDetailApi.as_view(), name="show-detail"),
    path(
        "shows/<public_id:public_id>/calendar.ics",
        apis.ShowCalendarApi.as_view(),
        name="show-calendar",
    ),
    path(
        "shows/<public_id:public_id>/reminder", apis.ShowReminderApi.as_view(), name="show-reminder"
    ),
    path("shows/<public_id:public_id>/publish", apis.ShowPublishApi.as_view(), name="show-publish"),
    path("shows/<public_id:public_id>/cancel", apis.ShowCancelApi.as_view(), name="show-cancel"),
    path("shows/<public_id:public_id>/go-live", apis.ShowGoLiveApi.as_view(), name="show-go-live"),
    path("shows/<public_id:public_id>/end", apis.ShowEndApi.as_view(), name="show-end"),
]
