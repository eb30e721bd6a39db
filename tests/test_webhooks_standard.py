"""Standard Webhooks interoperability: liveshop and the ``standardwebhooks`` library agree.

The secret is ``whsec_`` + base64 of the key bytes on both sides; the migration
turns a legacy plain secret into that form without changing its key.
"""

import base64
import datetime as dt
import hashlib
import hmac
import importlib
import json
import time

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from pytest_httpserver import HTTPServer
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from catalog.models import Storefront, Variant
from liveshop.common.notifications import notification_hook_post
from liveshop.common.webhooks import webhook_signature_verify
from tests.factories import StorefrontFactory, VariantFactory

# 32 key bytes that are not text: any code that used the string itself as the key fails.
SECRET = "whsec_" + base64.b64encode(bytes(range(200, 232))).decode()


def test_a_notification_signed_by_liveshop_verifies_with_the_library(
    httpserver: HTTPServer, settings
):
    settings.LIVESHOP_NOTIFICATION_WEBHOOK_URL = httpserver.url_for("/hook")
    settings.LIVESHOP_NOTIFICATION_WEBHOOK_SECRET = SECRET
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")

    assert notification_hook_post(
        event_type="show.starting_soon", data={"user_id": 7}, idempotency_key="msg_1"
    )

    ((request, _response),) = httpserver.log
    payload = Webhook(SECRET).verify(request.get_data(), dict(request.headers))
    assert payload == {"type": "show.starting_soon", "data": {"user_id": 7}}
    assert request.headers["webhook-id"] == "msg_1"


@pytest.mark.django_db
def test_a_stock_webhook_signed_by_the_library_is_applied():
    storefront = StorefrontFactory(slug="std-shop", webhook_secret=SECRET)
    VariantFactory(product__storefront=storefront, sku="STD-1", stock_quantity=10)
    body = json.dumps({"updates": [{"sku": "STD-1", "quantity": 4}]}).encode()
    moment = dt.datetime.now(tz=dt.UTC)
    signature = Webhook(SECRET).sign(msg_id="msg_std", timestamp=moment, data=body)

    response = APIClient().generic(
        "POST",
        "/api/v1/webhooks/storefronts/std-shop/stock",
        body,
        content_type="application/json",
        HTTP_WEBHOOK_ID="msg_std",
        HTTP_WEBHOOK_TIMESTAMP=str(int(moment.timestamp())),
        HTTP_WEBHOOK_SIGNATURE=signature,
    )

    assert response.status_code == 200
    assert response.json() == {"status": "applied"}
    assert Variant.objects.get(sku="STD-1").stock_quantity == 4


@pytest.mark.django_db
def test_a_new_storefront_gets_a_standard_secret_and_the_admin_takes_only_that_form():
    storefront = StorefrontFactory()

    assert storefront.webhook_secret.startswith("whsec_")
    assert len(base64.b64decode(storefront.webhook_secret[6:], validate=True)) == 32
    Webhook(storefront.webhook_secret)  # the library reads it as it is
    field = Storefront._meta.get_field("webhook_secret")
    for bad in (
        "shop-secret-for-tests",
        "whsec_not*base64",
        "whsec_" + base64.b64encode(b"short").decode(),
    ):
        with pytest.raises(ValidationError):
            field.run_validators(bad)


@pytest.mark.django_db
def test_the_migration_keeps_the_key_of_a_legacy_secret():
    # Given a storefront whose shop signs with a legacy plain secret
    legacy = "Yk3v_legacy-token-urlsafe-secret-0123456789"
    storefront = StorefrontFactory(webhook_secret=legacy)
    other = StorefrontFactory(webhook_secret=SECRET)
    migration = importlib.import_module("catalog.migrations.0006_webhook_secrets_standard")

    # When the migration runs
    migration.secrets_to_standard(apps, None)

    # Then the secret is the whsec_ form of the same key bytes
    storefront.refresh_from_db()
    assert storefront.webhook_secret == "whsec_" + base64.b64encode(legacy.encode()).decode()
    other.refresh_from_db()
    assert other.webhook_secret == SECRET
    # A delivery signed the old way (the string's bytes as the key) still verifies...
    body, timestamp = b'{"updates": []}', int(time.time())
    old_signature = base64.b64encode(
        hmac.new(legacy.encode(), f"msg_old.{timestamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    headers = {
        "webhook-id": "msg_old",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{old_signature}",
    }
    webhook_signature_verify(
        secret=storefront.webhook_secret,
        webhook_id="msg_old",
        timestamp=str(timestamp),
        signature_header=f"v1,{old_signature}",
        body=body,
        tolerance_seconds=300,
    )
    # ...and the library, given the new secret, agrees with it
    assert Webhook(storefront.webhook_secret).verify(body, headers) == {"updates": []}

    # And the reverse migration gives the legacy string back
    migration.secrets_to_legacy(apps, None)
    storefront.refresh_from_db()
    assert storefront.webhook_secret == legacy
