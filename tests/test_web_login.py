"""Session sign-in at /login/ for viewers and staff."""

import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.mark.parametrize("role", ["viewer", "moderator"])
def test_sign_in_without_next_lands_on_the_schedule(role):
    user = factories.UserFactory(role=role, is_staff=role != "viewer")
    client = Client()

    response = client.post("/login/", {"username": user.username, "password": PASSWORD, "next": ""})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get(response.headers["Location"]).status_code == 200


def test_sign_in_with_next_goes_there():
    user = factories.UserFactory()
    show = factories.ShowFactory()
    target = f"/shows/{show.public_id}/"

    response = Client().post(
        "/login/", {"username": user.username, "password": PASSWORD, "next": target}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == target


def test_the_sign_in_page_of_a_signed_in_user_leads_to_the_schedule():
    client = Client()
    client.force_login(factories.UserFactory())

    response = client.get("/login/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
