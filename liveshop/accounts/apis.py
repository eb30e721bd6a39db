from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from liveshop.accounts.services import auth_token_create, auth_token_revoke
from liveshop.accounts.types import AuthenticatedRequest
from liveshop.common.throttling import LOGIN_THROTTLES


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    username = serializers.CharField()
    display_name = serializers.CharField()
    role = serializers.CharField()


class AuthTokenCreateApi(APIView):
    """Exchange a username and password for an API token (for mobile apps).

    Send it as ``Authorization: Token <key>``. ``DELETE /api/v1/auth/token/revoke``
    revokes it.
    """

    authentication_classes: list = []
    # Password guesses: per client address and per username (docs/settings.md, "Throttling").
    throttle_classes = list(LOGIN_THROTTLES)

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(source="key")
        user = UserSerializer()

    @extend_schema(
        request=InputSerializer, responses={200: OutputSerializer}, operation_id="auth_token_create"
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = auth_token_create(**serializer.validated_data)
        return Response(self.OutputSerializer(token).data)


class AuthTokenRevokeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, operation_id="auth_token_revoke")
    def delete(self, request: AuthenticatedRequest) -> Response:
        auth_token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: UserSerializer})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(UserSerializer(request.user).data)
