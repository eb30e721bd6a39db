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


class RowIdConverter:
    # At most 18 digits, so ids past the database's integers are a 404, not a crash.
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(PublicIdConverter, "public_id")
register_converter(RowIdConverter, "row_id")

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
    path("shows/<public_id:public_id>/pins", apis.ShowPinListApi.as_view(), name="show-pins"),
    path(
        "shows/<public_id:public_id>/pins/<row_id:pin_id>",
        apis.ShowPinDetailApi.as_view(),
        name="show-pin-detail",
    ),
    path("shows/<public_id:public_id>/report", apis.ShowReportApi.as_view(), name="show-report"),
    path(
        "products/<row_id:product_id>/appearances",
        apis.ProductAppearanceListApi.as_view(),
        name="product-appearances",
    ),
]
