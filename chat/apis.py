"""REST adapters for the show channel: tickets, moderation and the question queue.

Each view parses its input, fetches the show with ``shows.access.show_access_view``
(404 for shows the user may not see) and calls one service or selector; who may
act is decided there (403). See docs/protocol.md, sections 7 and 8.
"""

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.models import BlockedTerm, ChatMessage, ChatSanction, ModerationAction
from chat.selectors import (
    blocked_term_list,
    message_held_list,
    moderation_action_list,
    question_queue_list,
    sanction_active_list,
)
from chat.services import (
    BAN_MAX_SECONDS,
    BLOCKED_TERM_MAX_LENGTH,
    SLOW_MODE_MAX_SECONDS,
    blocked_term_add,
    blocked_term_remove,
    chat_settings_update,
    message_approve,
    message_delete,
    message_deny,
    message_hide,
    message_pin,
    message_unpin,
    question_answer,
    question_claim,
    question_resolve,
    user_sanction_create,
    user_sanction_revoke,
)
from liveshop.accounts.types import AuthenticatedRequest
from liveshop.common.exceptions import NotFoundError
from liveshop.common.pagination import PagePagination, page_serializer_build
from liveshop.common.schema import ERROR_RESPONSE
from realtime.tickets import realtime_ticket_create
from shows.access import show_access_view
from shows.models import Channel, Show
from shows.selectors import channel_get

ACTION_ERRORS = {
    400: ERROR_RESPONSE,
    401: ERROR_RESPONSE,
    403: ERROR_RESPONSE,
    404: ERROR_RESPONSE,
    409: ERROR_RESPONSE,
}
LIST_ERRORS = {400: ERROR_RESPONSE, 401: ERROR_RESPONSE, 403: ERROR_RESPONSE, 404: ERROR_RESPONSE}
PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="At most 100."),
]
REASON_MAX_LENGTH = ModerationAction._meta.get_field("reason").max_length


class RealtimeTicketCreateApi(APIView):
    """A one-time ticket for opening a show socket (``?ticket=``), valid 30 seconds.

    For clients that can set neither a session cookie nor the bearer subprotocol;
    see docs/protocol.md.
    """

    permission_classes = [IsAuthenticated]

    class RealtimeTicketSerializer(serializers.Serializer):
        ticket = serializers.CharField()
        expires_in = serializers.IntegerField()

    @extend_schema(request=None, responses={201: RealtimeTicketSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        ticket = realtime_ticket_create(user=request.user)
        return Response(
            {"ticket": ticket, "expires_in": settings.LIVESHOP_WS_TICKET_SECONDS}, status=201
        )


# -- Output shapes -------------------------------------------------------------------


class ChatUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="username")


@extend_schema_serializer(component_name="StaffChatMessage")
class StaffMessageSerializer(serializers.Serializer):
    """A message as the show's team sees it: state, review and question fields."""

    id = serializers.IntegerField()
    seq = serializers.IntegerField(allow_null=True)
    kind = serializers.ChoiceField(choices=ChatMessage.Kind.choices)
    text = serializers.CharField()
    author = ChatUserSerializer(allow_null=True)
    author_role = serializers.CharField()
    visibility = serializers.ChoiceField(choices=ChatMessage.Visibility.choices)
    state = serializers.ChoiceField(choices=ChatMessage.State.choices)
    answer_to = serializers.IntegerField(source="answer_to_id", allow_null=True)
    is_question = serializers.BooleanField()
    question_status = serializers.ChoiceField(
        choices=ChatMessage.QuestionStatus.choices, allow_null=True
    )
    claimed_by = ChatUserSerializer(allow_null=True)
    claimed_at = serializers.DateTimeField(allow_null=True)
    first_response_at = serializers.DateTimeField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    response_seconds = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()


def _show(request: AuthenticatedRequest, public_id: str) -> Show:
    return show_access_view(user=request.user, public_id=public_id)


def _page(view: APIView, request: Request, queryset: Any, serializer: type) -> Response:
    paginator = PagePagination()
    page: list[Any] | None = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


def _message_response(message: ChatMessage) -> Response:
    return Response(StaffMessageSerializer(message).data)


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH, allow_blank=True, required=False, default=""
    )


def _reason(request: Request) -> str:
    serializer = ReasonInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["reason"]


# -- Messages --------------------------------------------------------------------------


class MessageHideApi(APIView):
    """Hide a message from everyone (moderators and hosts of the show)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="chat_message_hide",
        request=ReasonInputSerializer,
        responses={200: StaffMessageSerializer, **ACTION_ERRORS},
    )
    def post(self, request: AuthenticatedRequest, public_id: str, message_id: int) -> Response:
        reason = _reason(request)
        show = _show(request, public_id)
        message = message_hide(actor=request.user, show=show, message_id=message_id, reason=reason)
        return _message_response(message)


class MessageDeleteApi(APIView):
    """Delete a message: removed for everyone, its text erased (kept in the audit log)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="chat_message_delete",
        request=ReasonInputSerializer,
        responses={200: StaffMessageSerializer, **ACTION_ERRORS},
    )
    def post(self, request: AuthenticatedRequest, public_id: str, message_id: int) -> Response:
        reason = _reason(request)
        show = _show(request, public_id)
        message = message_delete(
            actor=request.user, show=show, message_id=message_id, reason=reason
        )
        return _message_response(message)


class MessageApproveApi(APIView):
    """Publish a message held for review."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="chat_message_approve",
        request=None,
        responses={200: StaffMessageSerializer, **ACTION_ERRORS},
    )
    def post(self, request: AuthenticatedRequest, public_id: str, message_id: int) -> Response:
        show = _show(request, public_id)
        message = message_approve(actor=request.user, show=show, message_id=message_id)
        return _message_response(message)


class MessageDenyApi(APIView):
    """Refuse a message held for review; only its author is told."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="chat_message_deny",
        request=ReasonInputSerializer,
        responses={200: StaffMessageSerializer, **ACTION_ERRORS},
    )
    def post(self, request: AuthenticatedRequest, public_id: str, message_id: int) -> Response:
        reason = _reason(request)
        show = _show(request, public_id)
        message = message_deny(actor=request.user, show=show, message_id=message_id, reason=reason)
        return _message_response(message)


class MessagePinApi(APIView):
    """Pin a public message above the chat, replacing the pinned one."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="chat_message_pin",
        request=None,
        responses={200: StaffMessageSerializer, **ACTION_ERRORS},
    )
    def post(self, request: AuthenticatedRequest, public_id: str, message_id: int) -> Response:
        show = _show(request, public_id)
        message = message_pin(actor=request.user, show=show, message_id=message_id)
        return _message_response(message)


class MessageUnpinApi(APIView):
    """Unpin the pinned message; nothing pinned is not an error."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="chat_message_unpin",
        request=None,
        responses={204: None, 401: ERROR_RESPONSE, 403: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    def delete(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = _show(request, public_id)
        message_unpin(actor=request.user, show=show)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessageHeldListApi(APIView):
    """The hold queue: messages waiting for review, oldest first."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="chat_message_held_list",
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_serializer_build(item_serializer=StaffMessageSerializer, name="HeldPage"),
            **LIST_ERRORS,
        },
    )
    def get(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = _show(request, public_id)
        messages = message_held_list(actor=request.user, show=show)
        return _page(self, request, messages, StaffMessageSerializer)


# -- Sanctions -----------------------------------------------------------------------


@extend_schema_serializer(component_name="ChatSanction")
class SanctionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ChatSanction.Kind.choices)
    user = ChatUserSerializer()
    scope = serializers.SerializerMethodField()
    reason = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    created_by = ChatUserSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)

    def get_scope(self, sanction: ChatSanction) -> str:
        return "show" if sanction.show_id is not None else "channel"


class SanctionsApi(APIView):
    """GET lists the sanctions in force in the show; POST sanctions a user."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="SanctionCreateInput")
    class InputSerializer(serializers.Serializer):
        user_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
        kind = serializers.ChoiceField(choices=ChatSanction.Kind.choices)
        duration_seconds = serializers.IntegerField(
            min_value=1,
            max_value=BAN_MAX_SECONDS,
            required=False,
            allow_null=True,
            default=None,
            help_text="Timeouts: 10 to 86400. Bans and shadow-hides: 10 to a year, "
            "or null for until lifted.",
        )
        reason = serializers.CharField(
            max_length=REASON_MAX_LENGTH, allow_blank=True, required=False, default=""
        )

    @extend_schema(
        operation_id="chat_sanction_list",
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_serializer_build(item_serializer=SanctionSerializer, name="SanctionPage"),
            **LIST_ERRORS,
        },
    )
    def get(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = _show(request, public_id)
        sanctions = sanction_active_list(actor=request.user, show=show)
        return _page(self, request, sanctions, SanctionSerializer)

    @extend_schema(
        operation_id="chat_sanction_create",
        request=InputSerializer,
        responses={201: SanctionSerializer, **ACTION_ERRORS},
    )
    def post(self, request: AuthenticatedRequest, public_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        show = _show(request, public_id)
        sanction = user_sanction_create(actor=request.user, show=show, **serializer.validated_data)
        return Response(SanctionSerializer(sanction).data, status=status.HTTP_201_CREATED)


class SanctionRevokeApi(APIView):
    """Lift a sanction in force in this show."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="chat_sanction_revoke",
        request=None,
        responses={200: SanctionSerializer, **ACTION_ERRORS},
    )
    def delete(self, request: AuthenticatedRequest, public_id: str, sanction_id: int) -> Response:
        show = _show(request, public_id)
        sanction = user_sanction_revoke(actor=request.user, show=show, sanction_id=sanction_id)
        return Response(SanctionSerializer(sanction).data)


# -- Settings and the audit log --------------------------------------------------------


class ChatSettingsUpdateApi(APIView):
    """Set slow mode and whether links from outside the team are held for review."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="ChatSettingsInput")
    class InputSerializer(serializers.Serializer):
        slow_mode_seconds = serializers.IntegerField(
            min_value=0, max_value=SLOW_MODE_MAX_SECONDS, required=False
        )
        hold_links = serializers.BooleanField(required=False)

        def validate(self, attrs: dict) -> dict:
            if not attrs:
                raise serializers.ValidationError(
                    "Send slow_mode_seconds, hold_links or both.", code="empty"
                )
            return attrs

    @extend_schema_serializer(component_name="ChatSettings")
    class OutputSerializer(serializers.Serializer):
        slow_mode_seconds = serializers.IntegerField()
        hold_links = serializers.BooleanField()

    @extend_schema(
        operation_id="chat_settings_update",
        request=InputSerializer,
        responses={200: OutputSerializer, **ACTION_ERRORS},
    )
    def put(self, request: AuthenticatedRequest, public_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        show = _show(request, public_id)
        room = chat_settings_update(actor=request.user, show=show, **serializer.validated_data)
        return Response(self.OutputSerializer(room).data)


@extend_schema_serializer(component_name="ModerationLogEntry")
class ModerationActionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.ChoiceField(choices=ModerationAction.Action.choices)
    actor = ChatUserSerializer(allow_null=True)
    target_user = ChatUserSerializer(allow_null=True)
    target_message = serializers.IntegerField(source="target_message_id", allow_null=True)
    reason = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    detail = serializers.DictField()
    created_at = serializers.DateTimeField()


class ModerationActionListApi(APIView):
    """The show's moderation log, newest first: who did what to whom, why, until when."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="chat_moderation_log",
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_serializer_build(
                item_serializer=ModerationActionSerializer, name="ModerationLogPage"
            ),
            **LIST_ERRORS,
        },
    )
    def get(self, request: AuthenticatedRequest, public_id: str) -> Response:
        show = _show(request, public_id)
        actions = moderation_action_list(actor=request.user, show=show)
        return _page(self, request, actions, ModerationActionSerializer)


# -- Blocked terms ---------------------------------------------------------------------


def _channel(slug: str) -> Channel:
    channel = channel_get(slug=slug)
    if channel is None:
        raise NotFoundError("No channel with this slug.")
    return channel


@extend_schema_serializer(component_name="BlockedTerm")
class BlockedTermSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    term = serializers.CharField()
    action = serializers.ChoiceField(choices=BlockedTerm.Action.choices)
    created_at = serializers.DateTimeField()


class BlockedTermsApi(APIView):
    """GET lists a channel's blocked terms; POST blocks one more."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="BlockedTermAddInput")
    class InputSerializer(serializers.Serializer):
        term = serializers.CharField(max_length=BLOCKED_TERM_MAX_LENGTH)
        action = serializers.ChoiceField(
            choices=BlockedTerm.Action.choices, required=False, default=BlockedTerm.Action.REJECT
        )

    @extend_schema(
        operation_id="chat_blocked_term_list",
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_serializer_build(
                item_serializer=BlockedTermSerializer, name="BlockedTermPage"
            ),
            **LIST_ERRORS,
        },
    )
    def get(self, request: AuthenticatedRequest, slug: str) -> Response:
        terms = blocked_term_list(actor=request.user, channel=_channel(slug))
        return _page(self, request, terms, BlockedTermSerializer)

    @extend_schema(
        operation_id="chat_blocked_term_add",
        request=InputSerializer,
        responses={201: BlockedTermSerializer, **ACTION_ERRORS},
    )
    def post(self, request: AuthenticatedRequest, slug: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        term = blocked_term_add(
            actor=request.user, channel=_channel(slug), **serializer.validated_data
        )
        return Response(BlockedTermSerializer(term).data, status=status.HTTP_201_CREATED)


class BlockedTermRemoveApi(APIView):
    """Unblock one term of the channel."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="chat_blocked_term_remove",
        request=None,
        responses={204: None, 401: ERROR_RESPONSE, 403: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    def delete(self, request: AuthenticatedRequest, slug: str, term_id: int) -> Response:
        blocked_term_remove(actor=request.user, channel=_channel(slug), term_id=term_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- The question queue ----------------------------------------------------------------


class QuestionQueueListApi(APIView):
    """The show's questions in one status, oldest first, with staff response times."""

    permission_classes = [IsAuthenticated]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(
            choices=ChatMessage.QuestionStatus.choices,
            required=False,
            default=ChatMessage.QuestionStatus.OPEN,
        )

    @extend_schema(
        operation_id="chat_question_list",
        parameters=[
            OpenApiParameter(
                "status", str, enum=ChatMessage.QuestionStatus.values, description="Default open."
            ),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: page_serializer_build(item_serializer=StaffMessageSerializer, name="QuestionPage"),
            **LIST_ERRORS,
        },
    )
    def get(self, request: AuthenticatedRequest, public_id: str) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        show = _show(request, public_id)
        questions = question_queue_list(
            actor=request.user, show=show, status=filters.validated_data["status"]
        )
        return _page(self, request, questions, StaffMessageSerializer)


class QuestionClaimApi(APIView):
    """Claim a question so the rest of the team leaves it to you."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="chat_question_claim",
        request=None,
        responses={200: StaffMessageSerializer, **ACTION_ERRORS},
    )
    def post(self, request: AuthenticatedRequest, public_id: str, question_id: int) -> Response:
        show = _show(request, public_id)
        question = question_claim(actor=request.user, show=show, question_id=question_id)
        return _message_response(question)


class QuestionAnswerApi(APIView):
    """Answer a question in the chat: publicly, or only to the asker (``private``)."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="QuestionAnswerInput")
    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=ChatMessage._meta.get_field("text").max_length)
        private = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        operation_id="chat_question_answer",
        request=InputSerializer,
        responses={201: StaffMessageSerializer, **ACTION_ERRORS},
    )
    def post(self, request: AuthenticatedRequest, public_id: str, question_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        show = _show(request, public_id)
        answer = question_answer(
            actor=request.user, show=show, question_id=question_id, **serializer.validated_data
        )
        return Response(StaffMessageSerializer(answer).data, status=status.HTTP_201_CREATED)


class QuestionResolveApi(APIView):
    """Mark a question answered without a chat answer (it was answered on air)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="chat_question_resolve",
        request=None,
        responses={200: StaffMessageSerializer, **ACTION_ERRORS},
    )
    def post(self, request: AuthenticatedRequest, public_id: str, question_id: int) -> Response:
        show = _show(request, public_id)
        question = question_resolve(actor=request.user, show=show, question_id=question_id)
        return _message_response(question)
