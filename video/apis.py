"""REST adapters for video: playback for viewers, ingest for hosts, go-live and end for the team."""

import datetime as dt

from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from liveshop.accounts.types import AuthenticatedRequest
from liveshop.common.exceptions import NotFoundError, PermissionDeniedError
from shows.access import (
    ShowAction,
    show_access_act,
    show_access_view,
    show_chat_role,
    show_is_team,
)
from shows.apis import (
    ERROR_RESPONSE,
    TRANSITION_RESPONSES,
    ShowStatusSerializer,
    _channel_or_404,
)
from shows.models import Show
from shows.timezones import channel_time
from video.channels import channel_now_playing_get, channel_programme_get
from video.models import ShowStream
from video.providers import video_provider_get
from video.selectors import (
    planned_pin_list,
    planned_pin_payload,
    show_playback_get,
    show_user_is_host,
)
from video.services import (
    channel_rotation_set,
    planned_pin_create,
    planned_pin_delete,
    premiere_video_set,
    show_stream_ensure,
    stream_backstage_set,
    stream_key_rotate,
    stream_show_end,
    stream_take_live,
)
from video.wire import AIR_KINDS, NowPlayingSerializer, ShowBriefSerializer

ERRORS = dict.fromkeys((400, 401, 403, 404, 409), ERROR_RESPONSE)


class ReplayPinSerializer(serializers.Serializer):
    pin_id = serializers.IntegerField()
    product_id = serializers.IntegerField()
    title = serializers.CharField()
    start_offset = serializers.FloatField()
    end_offset = serializers.FloatField(allow_null=True)


class ReplaySerializer(serializers.Serializer):
    recording_id = serializers.IntegerField()
    hls_url = serializers.URLField()
    thumbnail_url = serializers.URLField()
    duration_seconds = serializers.FloatField()
    pins_url = serializers.CharField()
    pins = ReplayPinSerializer(many=True)


class PlaybackSerializer(serializers.Serializer):
    hls_url = serializers.URLField(allow_null=True)
    playable = serializers.BooleanField()
    state = serializers.CharField(allow_null=True)
    replay = ReplaySerializer(allow_null=True)


class ShowVideoApi(APIView):
    """What the show plays now: the live playlist once it exists, and its replay."""

    @extend_schema(operation_id="show_video", responses={200: PlaybackSerializer, **ERRORS})
    def get(self, request: Request, public_id: str) -> Response:
        show = show_access_view(user=request.user, public_id=public_id)
        is_team = show_is_team(show=show, user=request.user)
        return Response(PlaybackSerializer(show_playback_get(show=show, is_team=is_team)).data)


class IngestSerializer(serializers.Serializer):
    server_url = serializers.CharField()
    stream_key = serializers.CharField()
    backstage = serializers.BooleanField()
    rotated_at = serializers.DateTimeField(allow_null=True)


class IngestUpdateSerializer(serializers.Serializer):
    backstage = serializers.BooleanField()


def _ingest_payload(*, show: Show, stream: ShowStream) -> dict:
    provider = video_provider_get()
    return {
        "server_url": provider.ingest_url(),
        "stream_key": provider.stream_key_format(public_id=show.public_id, secret=stream.secret),
        "backstage": stream.backstage,
        "rotated_at": stream.rotated_at,
    }


def _host_show(request: AuthenticatedRequest, public_id: str) -> Show:
    show = show_access_view(user=request.user, public_id=public_id)
    if not show_user_is_host(show=show, user=request.user):
        raise PermissionDeniedError("Only the show's hosts and merchandisers see its stream key.")
    return show


class ShowIngestApi(APIView):
    """The show's OBS settings and secret stream key (its hosts and merchandisers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="show_ingest", responses={200: IngestSerializer, **ERRORS})
    def get(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = _host_show(request, public_id)
        stream = show_stream_ensure(show=show)
        return Response(IngestSerializer(_ingest_payload(show=show, stream=stream)).data)

    @extend_schema(
        operation_id="show_ingest_update",
        request=IngestUpdateSerializer,
        responses={200: IngestSerializer, **ERRORS},
    )
    def patch(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = _host_show(request, public_id)
        serializer = IngestUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stream = stream_backstage_set(show=show, backstage=serializer.validated_data["backstage"])
        return Response(IngestSerializer(_ingest_payload(show=show, stream=stream)).data)


class ShowIngestRotateApi(APIView):
    """A new stream key; a publisher using the old one is cut off."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="show_ingest_rotate", request=None, responses={200: IngestSerializer, **ERRORS}
    )
    def post(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = _host_show(request, public_id)
        stream = stream_key_rotate(show=show)
        return Response(IngestSerializer(_ingest_payload(show=show, stream=stream)).data)


class ShowVideoTakeLiveApi(APIView):
    """Take the backstage stream live (the show's hosts and moderators, merchandisers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="show_video_take_live", request=None, responses=TRANSITION_RESPONSES
    )
    def post(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = show_access_act(user=request.user, public_id=public_id, action=ShowAction.GO_LIVE)
        stream_take_live(show=show)
        show.refresh_from_db()
        return Response(ShowStatusSerializer(show).data)


class ShowVideoEndApi(APIView):
    """End the live show and cut its stream (the show's hosts and moderators, merchandisers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="show_video_end", request=None, responses=TRANSITION_RESPONSES)
    def post(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = show_access_act(user=request.user, public_id=public_id, action=ShowAction.END)
        return Response(ShowStatusSerializer(stream_show_end(show=show)).data)


class PremiereInputSerializer(serializers.Serializer):
    file = serializers.FileField(required=False)
    url = serializers.URLField(required=False, max_length=500)

    def validate(self, data: dict) -> dict:
        if bool(data.get("file")) == bool(data.get("url")):
            raise serializers.ValidationError("Give either a video file or a URL, not both.")
        return data


class PremiereSerializer(serializers.Serializer):
    recording_id = serializers.IntegerField(source="pk")
    status = serializers.CharField()


class ShowPremiereApi(APIView):
    """A recorded show's video: upload a file or give a VOD URL (merchandisers)."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(
        operation_id="show_premiere_set",
        request=PremiereInputSerializer,
        responses={202: PremiereSerializer, **ERRORS},
    )
    def put(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = show_access_act(user=request.user, public_id=public_id, action=ShowAction.PUBLISH)
        serializer = PremiereInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data.get("file")
        recording = premiere_video_set(
            show=show, upload=upload, url=serializer.validated_data.get("url", "")
        )
        return Response(PremiereSerializer(recording).data, status=202)


class PlannedPinSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    product_id = serializers.IntegerField()
    title = serializers.CharField()
    offset_seconds = serializers.FloatField()
    duration_seconds = serializers.FloatField(allow_null=True)
    status = serializers.ChoiceField(choices=["planned", "pinned", "skipped"])
    skip_reason = serializers.CharField()
    pin_id = serializers.IntegerField(allow_null=True)
    fired_at = serializers.DateTimeField(allow_null=True)


class PlannedPinListSerializer(serializers.Serializer):
    results = PlannedPinSerializer(many=True)


class PlannedPinInputSerializer(serializers.Serializer):
    product_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    offset_seconds = serializers.FloatField(min_value=0, max_value=7 * 24 * 3600)
    duration_seconds = serializers.FloatField(
        required=False, allow_null=True, min_value=0.001, max_value=7 * 24 * 3600
    )


class ShowPlannedPinListApi(APIView):
    """A premiere's planned pins: GET the plan, POST one (hosts, moderators, merchandisers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="show_planned_pin_list",
        responses={200: PlannedPinListSerializer, **ERRORS},
    )
    def get(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = show_access_view(user=request.user, public_id=public_id)
        if not show_chat_role(show_id=show.pk, user=request.user).can_moderate:
            raise PermissionDeniedError("Only the show's hosts and moderators see its plan.")
        results = [planned_pin_payload(planned=item) for item in planned_pin_list(show=show)]
        return Response(PlannedPinListSerializer({"results": results}).data)

    @extend_schema(
        operation_id="show_planned_pin_create",
        request=PlannedPinInputSerializer,
        responses={201: PlannedPinSerializer, **ERRORS},
    )
    def post(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = show_access_view(user=request.user, public_id=public_id)
        serializer = PlannedPinInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        planned = planned_pin_create(show=show, actor=request.user, **serializer.validated_data)
        return Response(PlannedPinSerializer(planned_pin_payload(planned=planned)).data, status=201)


class ShowPlannedPinDetailApi(APIView):
    """DELETE: take a planned pin off a premiere that has not aired."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="show_planned_pin_delete", responses={204: None, **ERRORS})
    def delete(
        self, request: AuthenticatedRequest, public_id: str, planned_pin_id: int
    ) -> Response:
        show = show_access_view(user=request.user, public_id=public_id)
        planned_pin_delete(show=show, planned_pin_id=planned_pin_id, actor=request.user)
        return Response(status=204)


class ProgrammeSlotSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AIR_KINDS)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    show = ShowBriefSerializer(allow_null=True)
    offset_seconds = serializers.FloatField()


class ChannelNowPlayingApi(APIView):
    """What the channel plays now: its live show, a premiere, or a replay from its rotation."""

    @extend_schema(operation_id="channel_now_playing", responses={200: NowPlayingSerializer})
    def get(self, request: Request, slug: str) -> Response:
        playing = channel_now_playing_get(channel=_channel_or_404(slug=slug), user=request.user)
        return Response(NowPlayingSerializer(playing).data)


class ProgrammeQuerySerializer(serializers.Serializer):
    # The day and the next one must be representable in any time zone.
    date = serializers.DateField(
        required=False,
        validators=[
            MinValueValidator(dt.date(1970, 1, 1)),
            MaxValueValidator(dt.date(9999, 12, 30)),
        ],
    )


class ChannelProgrammeApi(APIView):
    """The channel's whole programme for one day (its local ``date``, default today)."""

    @extend_schema(
        operation_id="channel_programme",
        parameters=[ProgrammeQuerySerializer],
        responses={200: ProgrammeSlotSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, slug: str) -> Response:
        channel = _channel_or_404(slug=slug)
        query = ProgrammeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        today = channel_time(timezone.now(), channel).date()
        day = query.validated_data.get("date") or today
        slots = channel_programme_get(channel=channel, user=request.user, day=day)
        return Response(ProgrammeSlotSerializer(slots, many=True).data)


class RotationInputSerializer(serializers.Serializer):
    shows = serializers.ListField(child=serializers.CharField(max_length=16), max_length=200)


class ChannelRotationApi(APIView):
    """Set the replays that fill the channel's air time, in order (merchandisers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="channel_rotation_set",
        request=RotationInputSerializer,
        responses={200: RotationInputSerializer, **ERRORS},
    )
    def put(self, request: AuthenticatedRequest, slug: str) -> Response:
        if not request.user.is_merchandiser:
            raise PermissionDeniedError("Only merchandisers set a channel's rotation.")
        channel = _channel_or_404(slug=slug)
        serializer = RotationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        public_ids = serializer.validated_data["shows"]
        by_id = {show.public_id: show for show in Show.objects.filter(public_id__in=public_ids)}
        missing = [public_id for public_id in public_ids if public_id not in by_id]
        if missing:
            raise NotFoundError(f"No show with the id {missing[0]}.")
        entries = channel_rotation_set(channel=channel, shows=[by_id[i] for i in public_ids])
        return Response({"shows": [entry.show.public_id for entry in entries]})
