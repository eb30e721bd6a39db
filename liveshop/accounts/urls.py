from django.urls import path

from liveshop.accounts import apis

urlpatterns = [
    path("auth/token", apis.AuthTokenCreateApi.as_view(), name="auth-token-create"),
    path("auth/token/revoke", apis.AuthTokenRevokeApi.as_view(), name="auth-token-revoke"),
    path("me", apis.MeDetailApi.as_view(), name="me-detail"),
]
