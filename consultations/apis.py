"""REST adapters of the desks' queue (docs/consultations.md); the logic is in the services.

Each view parses its input, finds the desk or the consultation and calls one service or
selector. A consultation is visible to its viewer, its advisor and the desk's supervisors and
advisors (who take from the queue); to anyone else it does not exist (404).
"""

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consultations.models import CallbackRequest, Consultation, Desk
from consultations.selectors.hours import desk_calendar_get
from consultations.selectors.queue import (
    advisor_desk_get,
    consultation_get,
    consultation_queue_place,
    consultation_wait_seconds,
    desk_get,
    desk_waiting_count,
    desk_waiting_list,
)
from consultations.services.callbacks import callback_cancel, callback_done, callback_request
from consultations.services.invitations import consultation_invite_from_question
from consultations.services.queue import (
    consultation_end,
    consultation_leave,
    consultation_request,
    consultation_take,
    consultation_viewer_seen,
)
from liveshop.accounts.models import User
from liveshop.accounts.types import AuthenticatedRequest
from liveshop.common.exceptions import NotFoundError
from liveshop.common.schema import ERROR_RESPONSE
from realtime.wire import iso_utc
from shows.access import show_access_view

ERRORS = {
    400: ERROR_RESPONSE,
    401: ERROR_RESPONSE,
    403: ERROR_RESPONSE,
    404: ERROR_RESPONSE,
    409: ERROR_RESPONSE,
}
DESK_NOT_FOUND = "No such desk."
CONSULTATION_NOT_FOUND = "No such consultation."


def _desk(slug: str) -> Desk:
    desk = desk_get(slug=slug)
    if desk is None:
        raise NotFoundError(DESK_NOT_FOUND)
    return desk


def _may_read(consultation: Consultation, user: User) -> bool:
    if consultation.viewer_id == user.pk or consultation.advisor_id == user.pk:
        return True
    return advisor_desk_get(desk=consultation.desk, user_id=user.pk) is not None


def _consultation(request: AuthenticatedRequest, public_id: str) -> Consultation:
    consultation = consultation_get(public_id=public_id)
    if consultation is None or not _may_read(consultation, request.user):
        raise NotFoundError(CONSULTATION_NOT_FOUND)
    return consultation


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField(source="__str__")


class TopicSerializer(serializers.Serializer):
    slug = serializers.CharField()
    # ``label`` and ``source`` are also attributes of a DRF field, which the stubs type; the
    # serializer's metaclass takes declared fields off the class, so the wire names are safe.
    label = serializers.CharField()  # type: ignore[assignment]


class QueuePlaceSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text="1 means next.")
    estimated_wait_seconds = serializers.IntegerField()


class ConsultationSerializer(serializers.Serializer):
    public_id = serializers.UUIDField()
    desk = serializers.SlugField(source="desk.slug")
    ticket = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Consultation.Status.choices)
    source = serializers.ChoiceField(choices=Consultation.Source.choices)  # type: ignore[assignment]
    mode = serializers.ChoiceField(choices=Consultation.Mode.choices)
    topic = TopicSerializer(allow_null=True)
    product_id = serializers.IntegerField(allow_null=True)
    show = serializers.CharField(source="show.public_id", allow_null=True, default=None)
    question_id = serializers.IntegerField(allow_null=True)
    first_message = serializers.CharField()
    viewer = PersonSerializer()
    advisor = PersonSerializer(allow_null=True)
    requested_at = serializers.SerializerMethodField()
    taken_at = serializers.SerializerMethodField()
    ended_at = serializers.SerializerMethodField()
    waited_seconds = serializers.SerializerMethodField()
    outcome = serializers.CharField()
    queue = serializers.SerializerMethodField()

    def get_requested_at(self, obj: Consultation) -> str | None:
        return iso_utc(obj.requested_at)

    def get_taken_at(self, obj: Consultation) -> str | None:
        return iso_utc(obj.taken_at)

    def get_ended_at(self, obj: Consultation) -> str | None:
        return iso_utc(obj.ended_at)

    def get_waited_seconds(self, obj: Consultation) -> int:
        return consultation_wait_seconds(consultation=obj, now=timezone.now())

    @extend_schema_field(QueuePlaceSerializer(allow_null=True))
    def get_queue(self, obj: Consultation) -> dict[str, Any] | None:
        place = consultation_queue_place(consultation=obj)
        return None if place is None else dict(QueuePlaceSerializer(place).data)


class DeskSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    greeting = serializers.CharField()
    timezone = serializers.CharField()
    topics = TopicSerializer(many=True)
    is_open = serializers.BooleanField()
    next_opening = serializers.CharField(allow_null=True)
    closes_at = serializers.CharField(allow_null=True)
    waiting = serializers.IntegerField()


class DeskDetailApi(APIView):
    """A desk as a viewer sees it before asking: open now, next opening, topics, queue length."""

    permission_classes = [AllowAny]

    @extend_schema(operation_id="desk_detail", responses={200: DeskSerializer, 404: ERROR_RESPONSE})
    def get(self, request: Request, slug: str) -> Response:
        desk = _desk(slug)
        now = timezone.now()
        calendar = desk_calendar_get(desk=desk)
        opening = None if calendar.is_open(now) else calendar.next_opening(now)
        closes = calendar.closes_at(now)
        data: dict[str, Any] = {
            "slug": desk.slug,
            "name": desk.name,
            "greeting": desk.greeting,
            "timezone": desk.timezone,
            "topics": list(desk.topics.all()),
            "is_open": closes is not None,
            "next_opening": iso_utc(opening),
            "closes_at": iso_utc(closes),
            "waiting": desk_waiting_count(desk=desk),
        }
        return Response(DeskSerializer(data).data)


class ConsultationRequestApi(APIView):
    """Ask the desk for an advisor. Asking again while a request is open returns it (200)."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="ConsultationRequestInput")
    class InputSerializer(serializers.Serializer):
        source = serializers.ChoiceField(  # type: ignore[assignment]
            choices=[
                Consultation.Source.SHOW,
                Consultation.Source.PRODUCT,
                Consultation.Source.DESK,
            ]
        )
        mode = serializers.ChoiceField(
            choices=Consultation.Mode.choices, default=Consultation.Mode.CHAT
        )
        topic = serializers.SlugField(max_length=60, required=False, allow_null=True)
        product = serializers.IntegerField(
            min_value=1, max_value=2**63 - 1, required=False, allow_null=True
        )
        show = serializers.RegexField(r"^[A-Za-z0-9_-]{1,16}$", required=False, allow_null=True)
        first_message = serializers.CharField(
            max_length=2000, required=False, allow_blank=True, default="", trim_whitespace=False
        )

    @extend_schema(
        operation_id="consultation_request",
        request=InputSerializer,
        responses={200: ConsultationSerializer, 201: ConsultationSerializer, **ERRORS},
    )
    def post(self, request: AuthenticatedRequest, slug: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        consultation, created = consultation_request(
            desk=_desk(slug),
            viewer=request.user,
            source=data["source"],
            mode=data["mode"],
            topic=data.get("topic"),
            product_id=data.get("product"),
            show_public_id=data.get("show"),
            first_message=data["first_message"],
        )
        return Response(
            ConsultationSerializer(consultation).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ConsultationDetailApi(APIView):
    """A consultation; while it waits, its place in the queue and the estimated wait.

    The waiting viewer's reads count as "still here" (a request nobody looks at for
    ``LIVESHOP_CONSULT_AWAY_SECONDS`` is abandoned).
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="consultation_detail",
        responses={200: ConsultationSerializer, 401: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    def get(self, request: AuthenticatedRequest, public_id: str) -> Response:
        consultation = _consultation(request, public_id)
        if consultation.viewer_id == request.user.pk:
            consultation_viewer_seen(consultation=consultation)
        return Response(ConsultationSerializer(consultation).data)


class ConsultationLeaveApi(APIView):
    """The viewer leaves the queue (or the consultation in progress)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="consultation_leave",
        request=None,
        responses={200: ConsultationSerializer, **ERRORS},
    )
    def post(self, request: AuthenticatedRequest, public_id: str) -> Response:
        consultation = consultation_leave(
            consultation=_consultation(request, public_id), viewer=request.user
        )
        return Response(ConsultationSerializer(consultation).data)


class DeskQueueApi(APIView):
    """The desk's waiting requests, first asked first (the desk's advisors)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="desk_queue",
        responses={
            200: ConsultationSerializer(many=True),
            401: ERROR_RESPONSE,
            404: ERROR_RESPONSE,
        },
    )
    def get(self, request: AuthenticatedRequest, slug: str) -> Response:
        desk = _desk(slug)
        if advisor_desk_get(desk=desk, user_id=request.user.pk) is None:
            raise NotFoundError(DESK_NOT_FOUND)
        return Response(ConsultationSerializer(desk_waiting_list(desk=desk), many=True).data)


class DeskTakeApi(APIView):
    """Take the next waiting request, or the one named by ``consultation``."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="DeskTakeInput")
    class InputSerializer(serializers.Serializer):
        consultation = serializers.UUIDField(required=False, allow_null=True)

    @extend_schema(
        operation_id="desk_take",
        request=InputSerializer,
        responses={200: ConsultationSerializer, **ERRORS},
    )
    def post(self, request: AuthenticatedRequest, slug: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        chosen = serializer.validated_data.get("consultation")
        consultation = consultation_take(
            advisor=request.user,
            desk=_desk(slug),
            public_id=str(chosen) if chosen else None,
        )
        return Response(ConsultationSerializer(consultation).data)


class ConsultationEndApi(APIView):
    """End a consultation in progress with its outcome (its advisor or a supervisor)."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="ConsultationEndInput")
    class InputSerializer(serializers.Serializer):
        outcome = serializers.ChoiceField(choices=Consultation.Outcome.choices)
        note = serializers.CharField(
            max_length=2000, required=False, allow_blank=True, default="", trim_whitespace=False
        )

    @extend_schema(
        operation_id="consultation_end",
        request=InputSerializer,
        responses={200: ConsultationSerializer, **ERRORS},
    )
    def post(self, request: AuthenticatedRequest, public_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consultation = consultation_end(
            consultation=_consultation(request, public_id),
            actor=request.user,
            **serializer.validated_data,
        )
        return Response(ConsultationSerializer(consultation).data)


class QuestionInviteApi(APIView):
    """Invite a question's asker to a private consultation with you at ``desk``.

    The consultation starts in progress with you as its advisor; the asker gets
    ``consultation.invited`` on the show's socket (docs/protocol.md).
    """

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="QuestionInviteInput")
    class InputSerializer(serializers.Serializer):
        desk = serializers.SlugField(max_length=60)

    @extend_schema(
        operation_id="consultation_invite_from_question",
        request=InputSerializer,
        responses={201: ConsultationSerializer, **ERRORS},
    )
    def post(self, request: AuthenticatedRequest, public_id: str, question_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        show = show_access_view(user=request.user, public_id=public_id)
        consultation = consultation_invite_from_question(
            actor=request.user,
            show=show,
            question_id=question_id,
            desk=_desk(serializer.validated_data["desk"]),
        )
        return Response(ConsultationSerializer(consultation).data, status=status.HTTP_201_CREATED)


class CallbackSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    desk = serializers.SlugField(source="desk.slug")
    status = serializers.ChoiceField(choices=CallbackRequest.Status.choices)
    viewer = PersonSerializer()
    topic = TopicSerializer(allow_null=True)
    product_id = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()
    preferred_start = serializers.DateTimeField()
    preferred_end = serializers.DateTimeField()
    handled_by = PersonSerializer(allow_null=True)


def _callback(request: AuthenticatedRequest, callback_id: int) -> CallbackRequest:
    callback = (
        CallbackRequest.objects.select_related("desk", "viewer", "topic", "handled_by")
        .filter(pk=callback_id)
        .first()
    )
    if callback is None or not (
        callback.viewer_id == request.user.pk
        or advisor_desk_get(desk=callback.desk, user_id=request.user.pk) is not None
    ):
        raise NotFoundError("No such callback request.")
    return callback


class DeskCallbacksApi(APIView):
    """Ask to be called back (a viewer), or list the open requests (the desk's advisors)."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="CallbackRequestInput")
    class InputSerializer(serializers.Serializer):
        preferred_start = serializers.DateTimeField()
        preferred_end = serializers.DateTimeField()
        topic = serializers.SlugField(max_length=60, required=False, allow_null=True)
        product = serializers.IntegerField(
            min_value=1, max_value=2**63 - 1, required=False, allow_null=True
        )
        message = serializers.CharField(
            max_length=2000, required=False, allow_blank=True, default="", trim_whitespace=False
        )

    @extend_schema(
        operation_id="desk_callbacks",
        responses={200: CallbackSerializer(many=True), 401: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    def get(self, request: AuthenticatedRequest, slug: str) -> Response:
        desk = _desk(slug)
        if advisor_desk_get(desk=desk, user_id=request.user.pk) is None:
            raise NotFoundError(DESK_NOT_FOUND)
        callbacks = CallbackRequest.objects.filter(
            desk=desk, status=CallbackRequest.Status.OPEN
        ).select_related("desk", "viewer", "topic", "handled_by")
        return Response(CallbackSerializer(callbacks, many=True).data)

    @extend_schema(
        operation_id="callback_request",
        request=InputSerializer,
        responses={200: CallbackSerializer, 201: CallbackSerializer, **ERRORS},
    )
    def post(self, request: AuthenticatedRequest, slug: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        callback, created = callback_request(
            desk=_desk(slug),
            viewer=request.user,
            preferred_start=data["preferred_start"],
            preferred_end=data["preferred_end"],
            topic=data.get("topic"),
            product_id=data.get("product"),
            message=data["message"],
        )
        return Response(
            CallbackSerializer(callback).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class CallbackDoneApi(APIView):
    """An advisor marks a callback request handled."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="callback_done", request=None, responses={200: CallbackSerializer, **ERRORS}
    )
    def post(self, request: AuthenticatedRequest, callback_id: int) -> Response:
        callback = callback_done(callback=_callback(request, callback_id), advisor=request.user)
        return Response(CallbackSerializer(callback).data)


class CallbackCancelApi(APIView):
    """The viewer withdraws their callback request."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="callback_cancel", request=None, responses={200: CallbackSerializer, **ERRORS}
    )
    def post(self, request: AuthenticatedRequest, callback_id: int) -> Response:
        callback = callback_cancel(callback=_callback(request, callback_id), viewer=request.user)
        return Response(CallbackSerializer(callback).data)
