"""REST adapters for viewers and show staff: parse, call one selector or service, serialize.

Show identifiers in URLs are ``public_id``. Who may see or act on a show is
decided in ``shows.access``.
"""

from collections.abc import Mapping
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from liveshop.accounts.types import AuthenticatedRequest
from liveshop.common.exceptions import NotFoundError, PermissionDeniedError
from liveshop.common.pagination import PagePagination, page_serializer_build
from liveshop.common.schema import ERROR_RESPONSE
from shows.access import ShowAction, show_access_act, show_access_view, show_chat_role
from shows.ics import ICS_CONTENT_TYPE, channel_calendar_render, show_calendar_render
from shows.models import Channel, Show, ShowMember, ShowPin
from shows.selectors import (
    channel_calendar_show_list,
    channel_get,
    channel_list,
    channel_schedule_get,
    product_appearance_list,
    show_attribution_report,
    show_detail_prefetch,
    show_pin_payload_get,
    show_pin_timeline,
    show_starts_in_seconds,
)
from shows.services import (
    show_cancel,
    show_end,
    show_go_live,
    show_product_pin,
    show_product_unpin,
    show_publish,
    show_reminder_subscribe,
    show_reminder_unsubscribe,
)


class ICalendarRenderer(BaseRenderer):
    """Lets calendar clients that send ``Accept: text/calendar`` through negotiation.

    Feeds are returned as ready ``HttpResponse`` objects; only error bodies
    reach this renderer, and those stay JSON.
    """

    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


class CalendarApi(APIView):
    """Base for the feeds: errors are JSON whatever the client asked for."""

    renderer_classes = [JSONRenderer, ICalendarRenderer]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response) and response.status_code >= 400:
            # Labelling a JSON error body text/calendar would break calendar clients.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def _channel_or_404(*, slug: str) -> Channel:
    channel = channel_get(slug=slug)
    if channel is None:
        raise NotFoundError("No channel with this slug.")
    return channel


class ChannelSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    timezone = serializers.CharField()
    description = serializers.CharField()


class ShowFieldsSerializer(serializers.Serializer):
    """What a show's summary and its detail share; needs ``now`` in the context."""

    public_id = serializers.CharField()
    title = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    cover_image_url = serializers.CharField()
    kind = serializers.ChoiceField(choices=Show.Kind.choices)
    status = serializers.ChoiceField(choices=Show.Status.choices)
    scheduled_start = serializers.DateTimeField()
    scheduled_end = serializers.DateTimeField()
    actual_start = serializers.DateTimeField(allow_null=True)
    actual_end = serializers.DateTimeField(allow_null=True)
    starts_in_seconds = serializers.SerializerMethodField()
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancellation_reason = serializers.CharField(
        help_text="Why the show was cancelled, as the merchandiser put it; may be empty."
    )
    is_reminded = serializers.BooleanField()

    def get_starts_in_seconds(self, show: Show) -> int:
        return show_starts_in_seconds(show=show, now=self.context["now"])


class ShowSummarySerializer(ShowFieldsSerializer):
    """A show as listed in schedules; needs ``now`` in the context for the countdown."""

    lineup_count = serializers.IntegerField()


class ShowStatusSerializer(serializers.Serializer):
    public_id = serializers.CharField()
    status = serializers.ChoiceField(choices=Show.Status.choices)
    actual_start = serializers.DateTimeField(allow_null=True)
    actual_end = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancellation_reason = serializers.CharField()


class ChannelListApi(APIView):
    """Every channel, by name."""

    @extend_schema_serializer(component_name="ChannelListItem")
    class OutputSerializer(ChannelSerializer):
        pass

    @extend_schema_serializer(component_name="ChannelPage")
    class PageSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        next = serializers.URLField(allow_null=True)
        previous = serializers.URLField(allow_null=True)
        results = ChannelSerializer(many=True)

    @extend_schema(
        operation_id="channel_list",
        parameters=[
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="At most 100."),
        ],
        responses={200: PageSerializer, 404: ERROR_RESPONSE},
    )
    def get(self, request: Request) -> Response:
        paginator = PagePagination()
        page = paginator.paginate_queryset(channel_list(), request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class ChannelScheduleApi(APIView):
    """A channel's schedule: live now, upcoming and cancelled within ``days``, and replays."""

    @extend_schema_serializer(component_name="ChannelScheduleFilter")
    class FilterSerializer(serializers.Serializer):
        days = serializers.IntegerField(min_value=1, max_value=31, default=7)
        replays_limit = serializers.IntegerField(min_value=0, max_value=100, default=20)

    @extend_schema_serializer(component_name="ChannelSchedule")
    class OutputSerializer(serializers.Serializer):
        server_time = serializers.DateTimeField()
        channel = ChannelSerializer()
        live = ShowSummarySerializer(many=True)
        upcoming = ShowSummarySerializer(many=True)
        cancelled = ShowSummarySerializer(many=True)
        replays = ShowSummarySerializer(many=True)

    @extend_schema(
        operation_id="channel_schedule_retrieve",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    def get(self, request: Request, slug: str) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        schedule = channel_schedule_get(
            channel=_channel_or_404(slug=slug), user=request.user, **filters.validated_data
        )
        output = self.OutputSerializer(schedule, context={"now": schedule.server_time})
        return Response(output.data)


class ChannelCalendarApi(CalendarApi):
    """The channel's public shows as an iCalendar feed (never private or test shows)."""

    @extend_schema(
        operation_id="channel_calendar_retrieve",
        responses={(200, "text/calendar"): OpenApiTypes.STR, 404: ERROR_RESPONSE},
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        channel = _channel_or_404(slug=slug)
        body = channel_calendar_render(
            channel=channel, shows=channel_calendar_show_list(channel=channel)
        )
        return HttpResponse(body, content_type=ICS_CONTENT_TYPE)


class LineupItemSerializer(serializers.Serializer):
    """A lineup item from ``show_detail_prefetch``."""

    product_id = serializers.IntegerField()
    position = serializers.IntegerField()
    title = serializers.CharField(source="product.title")
    image_url = serializers.CharField(source="first_image_url", allow_null=True)
    currency = serializers.CharField(source="product.storefront.currency")
    price_min = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    price_max = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    show_price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    show_price_applies = serializers.BooleanField(
        help_text="The show price is what the cart charges for it now."
    )


class TeamMemberSerializer(serializers.Serializer):
    display_name = serializers.SerializerMethodField()
    role = serializers.ChoiceField(choices=ShowMember.Role.choices)

    def get_display_name(self, member: ShowMember) -> str:
        # Never the username or email: either may identify the person off-stage.
        return member.user.display_name or member.get_role_display()


class ShowDetailApi(APIView):
    """One show with its channel, lineup in order, team and the viewer's reminder."""

    @extend_schema_serializer(component_name="ShowDetail")
    class OutputSerializer(ShowFieldsSerializer):
        channel = ChannelSerializer()
        is_private = serializers.BooleanField()
        is_test = serializers.BooleanField()
        replay_allowed = serializers.BooleanField()
        lineup = LineupItemSerializer(many=True, source="lineup_items")
        team = TeamMemberSerializer(many=True, source="team_members")

    @extend_schema(
        operation_id="show_retrieve",
        responses={200: OutputSerializer, 404: ERROR_RESPONSE},
    )
    def get(self, request: Request, public_id: str) -> Response:
        show = show_detail_prefetch(show=show_access_view(user=request.user, public_id=public_id))
        return Response(self.OutputSerializer(show, context={"now": timezone.now()}).data)


class ShowCalendarApi(CalendarApi):
    """One show as an iCalendar file for "add to calendar"."""

    @extend_schema(
        operation_id="show_calendar_retrieve",
        responses={(200, "text/calendar"): OpenApiTypes.STR, 404: ERROR_RESPONSE},
    )
    def get(self, request: Request, public_id: str) -> HttpResponse:
        show = show_access_view(user=request.user, public_id=public_id)
        response = HttpResponse(show_calendar_render(show=show), content_type=ICS_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{show.slug}.ics"'
        return response


class ShowReminderApi(APIView):
    """POST asks for a "starting soon" notice, DELETE withdraws it."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="ShowReminder")
    class OutputSerializer(serializers.Serializer):
        show = serializers.CharField(source="show.public_id")
        is_reminded = serializers.BooleanField(default=True)
        created_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="show_reminder_subscribe",
        request=None,
        responses={
            200: OutputSerializer,
            201: OutputSerializer,
            401: ERROR_RESPONSE,
            404: ERROR_RESPONSE,
            409: ERROR_RESPONSE,
        },
    )
    def post(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = show_access_view(user=request.user, public_id=public_id)
        reminder, created = show_reminder_subscribe(show=show, user=request.user)
        return Response(
            self.OutputSerializer(reminder).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="show_reminder_unsubscribe",
        request=None,
        responses={204: None, 401: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    def delete(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = show_access_view(user=request.user, public_id=public_id)
        show_reminder_unsubscribe(show=show, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


TRANSITION_RESPONSES = {
    200: ShowStatusSerializer,
    400: ERROR_RESPONSE,
    401: ERROR_RESPONSE,
    403: ERROR_RESPONSE,
    404: ERROR_RESPONSE,
    409: ERROR_RESPONSE,
}


class ShowPublishApi(APIView):
    """draft → scheduled (merchandisers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="show_publish", request=None, responses=TRANSITION_RESPONSES)
    def post(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = show_access_act(user=request.user, public_id=public_id, action=ShowAction.PUBLISH)
        return Response(ShowStatusSerializer(show_publish(show=show)).data)


class ShowCancelApi(APIView):
    """draft or scheduled → cancelled (merchandisers); subscribers are told."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="ShowCancelInput")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=300, required=False, allow_blank=True)

    @extend_schema(
        operation_id="show_cancel", request=InputSerializer, responses=TRANSITION_RESPONSES
    )
    def post(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = show_access_act(user=request.user, public_id=public_id, action=ShowAction.CANCEL)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cancelled = show_cancel(show=show, **serializer.validated_data)
        return Response(ShowStatusSerializer(cancelled).data)


class ShowGoLiveApi(APIView):
    """scheduled → live (the show's hosts and moderators, merchandisers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="show_go_live", request=None, responses=TRANSITION_RESPONSES)
    def post(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = show_access_act(user=request.user, public_id=public_id, action=ShowAction.GO_LIVE)
        return Response(ShowStatusSerializer(show_go_live(show=show)).data)


class ShowEndApi(APIView):
    """live → ended (the show's hosts and moderators, merchandisers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="show_end", request=None, responses=TRANSITION_RESPONSES)
    def post(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = show_access_act(user=request.user, public_id=public_id, action=ShowAction.END)
        return Response(ShowStatusSerializer(show_end(show=show)).data)


# --- Pinned products, the replay timeline and the attribution report -------------


class PinVariantSerializer(serializers.Serializer):
    """One variant on a product card; prices are decimal strings."""

    id = serializers.IntegerField()
    sku = serializers.CharField()
    title = serializers.CharField()
    options = serializers.DictField(child=serializers.CharField())
    price = serializers.CharField()
    compare_at_price = serializers.CharField(allow_null=True)
    show_price = serializers.CharField(
        allow_null=True, help_text="Set only while the show price applies."
    )
    currency = serializers.CharField()
    stock_state = serializers.ChoiceField(choices=["in_stock", "low", "sold_out"])
    left = serializers.IntegerField(allow_null=True, help_text='Units left, only when "low".')
    add_to_cart_url = serializers.URLField(help_text="The signed add-to-cart link.")

    class Meta:
        ref_name = "PinVariant"


class PinImageSerializer(serializers.Serializer):
    url = serializers.CharField()
    alt_text = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "PinImage"


class PinProductSerializer(serializers.Serializer):
    """The product card: everything a client draws for a pin."""

    id = serializers.IntegerField()
    handle = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    image = PinImageSerializer(allow_null=True)
    storefront = serializers.CharField(help_text="The storefront's slug.")
    variants = PinVariantSerializer(many=True)

    class Meta:
        ref_name = "PinProductCard"


class PinOffsetsSerializer(serializers.Serializer):
    """Seconds from the show's actual start; no end while the pin is open."""

    start_offset = serializers.FloatField()
    end_offset = serializers.FloatField(allow_null=True)


class PinSerializer(PinOffsetsSerializer):
    """The pin object (docs/protocol.md, 3.3)."""

    id = serializers.IntegerField()
    pinned_at = serializers.DateTimeField()
    unpinned_at = serializers.DateTimeField(allow_null=True)
    product = PinProductSerializer()

    class Meta:
        ref_name = "Pin"


class PinTimelineSerializer(serializers.Serializer):
    results = PinSerializer(many=True)

    class Meta:
        ref_name = "PinTimeline"


class ReportCountsSerializer(serializers.Serializer):
    clicks = serializers.IntegerField()
    unique_clickers = serializers.IntegerField()
    add_to_carts = serializers.IntegerField()
    orders = serializers.IntegerField()
    revenue = serializers.DictField(
        child=serializers.CharField(), help_text="Per currency code, a decimal string."
    )
    conversion = serializers.FloatField(
        allow_null=True, help_text="Orders / unique clickers; null with no clickers."
    )

    class Meta:
        ref_name = "ReportCounts"


class ReportProductSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()

    class Meta:
        ref_name = "ReportProduct"


class ReportPinSerializer(ReportCountsSerializer, PinOffsetsSerializer):
    pin_id = serializers.IntegerField()
    product = ReportProductSerializer()

    class Meta:
        ref_name = "ReportPin"


class ReportSerializer(serializers.Serializer):
    show = serializers.CharField(help_text="The show's public id.")
    totals = ReportCountsSerializer()
    pins = ReportPinSerializer(many=True)

    class Meta:
        ref_name = "ShowReport"


class ShowPinListApi(APIView):
    """GET: the show's product timeline (every pin with offsets). POST: pin a product."""

    class InputSerializer(serializers.Serializer):
        product_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)

        class Meta:
            ref_name = "ShowPinInput"

    def get_permissions(self) -> list:
        # AllowAny, not no class at all: the schema then says GET needs no credentials.
        return [IsAuthenticated()] if self.request.method == "POST" else [AllowAny()]

    @extend_schema(
        operation_id="show_pin_timeline",
        responses={200: PinTimelineSerializer, 404: ERROR_RESPONSE},
        description="Every pin of the show by start offset, each a pin object "
        "(docs/protocol.md, 3.3).",
    )
    def get(self, request: Request, public_id: str) -> Response:
        show = show_access_view(user=request.user, public_id=public_id)
        return Response(PinTimelineSerializer({"results": show_pin_timeline(show=show)}).data)

    @extend_schema(
        operation_id="show_pin_create",
        request=InputSerializer,
        responses={
            201: PinSerializer,
            400: ERROR_RESPONSE,
            403: ERROR_RESPONSE,
            404: ERROR_RESPONSE,
            409: ERROR_RESPONSE,
        },
    )
    def post(self, request: AuthenticatedRequest, public_id: str) -> Response:
        # AuthenticatedRequest: get_permissions puts POST behind IsAuthenticated.
        show = show_access_view(user=request.user, public_id=public_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pin = show_product_pin(
            show=show, product_id=serializer.validated_data["product_id"], actor=request.user
        )
        return Response(
            PinSerializer(show_pin_payload_get(show=show, pin_id=pin.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class ShowPinDetailApi(APIView):
    """DELETE: unpin (the show's hosts and moderators, merchandisers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="show_pin_delete",
        responses={204: None, 403: ERROR_RESPONSE, 404: ERROR_RESPONSE, 409: ERROR_RESPONSE},
    )
    def delete(self, request: AuthenticatedRequest, public_id: str, pin_id: int) -> Response:
        show = show_access_view(user=request.user, public_id=public_id)
        show_product_unpin(show=show, pin_id=pin_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ShowReportApi(APIView):
    """Attribution per show and per pin (the show's hosts and moderators, merchandisers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="show_report",
        responses={200: ReportSerializer, 403: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    def get(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = show_access_view(user=request.user, public_id=public_id)
        if not show_chat_role(show_id=show.pk, user=request.user).can_moderate:
            raise PermissionDeniedError("Only the show's hosts and moderators see its report.")
        return Response(ReportSerializer(show_attribution_report(show=show)).data)


class ProductAppearanceListApi(APIView):
    """Where a product was pinned: public live and ended shows, with offsets."""

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ProductAppearance"

        pin_id = serializers.IntegerField(source="pk")
        show = serializers.CharField(source="show.public_id")
        show_title = serializers.CharField(source="show.title")
        channel = serializers.CharField(source="show.channel.slug")
        show_status = serializers.CharField(source="show.status")
        show_started_at = serializers.DateTimeField(source="show.actual_start")
        replay_allowed = serializers.BooleanField(source="show.replay_allowed")
        start_offset = serializers.SerializerMethodField()
        end_offset = serializers.SerializerMethodField()

        def get_start_offset(self, pin: ShowPin) -> float:
            return pin.start_offset_ms / 1000

        def get_end_offset(self, pin: ShowPin) -> float | None:
            return None if pin.end_offset_ms is None else pin.end_offset_ms / 1000

    @extend_schema(
        operation_id="product_appearance_list",
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={
            200: page_serializer_build(
                item_serializer=OutputSerializer, name="ProductAppearancePage"
            )
        },
    )
    def get(self, request: Request, product_id: int) -> Response:
        paginator = PagePagination()
        page = paginator.paginate_queryset(
            product_appearance_list(product_id=product_id), request, view=self
        )
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
