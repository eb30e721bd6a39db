import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from liveshop.accounts.types import admin_user, request_user
from tests import factories


@pytest.mark.django_db
def test_request_user_returns_the_signed_in_user():
    user = factories.UserFactory()
    request = Request(RequestFactory().get("/"))
    request.user = user

    assert request_user(request) == user


def test_request_user_refuses_an_anonymous_request_with_not_authenticated():
    request = Request(RequestFactory().get("/"))
    request.user = AnonymousUser()

    with pytest.raises(NotAuthenticated):
        request_user(request)


@pytest.mark.django_db
def test_admin_user_returns_the_signed_in_user():
    user = factories.UserFactory()
    request = RequestFactory().get("/admin/")
    request.user = user

    assert admin_user(request) == user


def test_admin_user_refuses_a_request_without_a_user():
    request = RequestFactory().get("/admin/")
    request.user = AnonymousUser()

    with pytest.raises(TypeError, match="without a signed-in user"):
        admin_user(request)
