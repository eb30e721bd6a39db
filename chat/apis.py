from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.services import realtime_ticket_create


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
    def post(self, request: Request) -> Response:
        ticket = realtime_ticket_create(user=request.user)
        return Response(
            {"ticket": ticket, "expires_in": settings.LIVESHOP_WS_TICKET_SECONDS}, status=201
        )
