"""Every show endpoint is in the OpenAPI schema under a stable operation id."""

import pytest

pytestmark = pytest.mark.django_db


def test_show_endpoints_have_operation_ids(api_client):
    schema = api_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operations = {
        (path, method): operation["operationId"]
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if path.startswith(("/api/v1/channels", "/api/v1/shows"))
    }

    assert operations == {
        ("/api/v1/channels", "get"): "channel_list",
        ("/api/v1/channels/{slug}/schedule", "get"): "channel_schedule_retrieve",
        ("/api/v1/channels/{slug}/schedule.ics", "get"): "channel_calendar_retrieve",
        ("/api/v1/shows/{public_id}", "get"): "show_retrieve",
        ("/api/v1/shows/{public_id}/calendar.ics", "get"): "show_calendar_retrieve",
        ("/api/v1/shows/{public_id}/reminder", "post"): "show_reminder_subscribe",
        ("/api/v1/shows/{public_id}/reminder", "delete"): "show_reminder_unsubscribe",
        ("/api/v1/shows/{public_id}/publish", "post"): "show_publish",
        ("/api/v1/shows/{public_id}/cancel", "post"): "show_cancel",
        ("/api/v1/shows/{public_id}/go-live", "post"): "show_go_live",
        ("/api/v1/shows/{public_id}/end", "post"): "show_end",
    }
