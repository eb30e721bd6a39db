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
        ("/api/v1/channels/{slug}/now-playing", "get"): "channel_now_playing",
        ("/api/v1/channels/{slug}/programme", "get"): "channel_programme",
        ("/api/v1/channels/{slug}/rotation", "put"): "channel_rotation_set",
        ("/api/v1/shows/{public_id}/video", "get"): "show_video",
        ("/api/v1/shows/{public_id}/video/ingest", "get"): "show_ingest",
        ("/api/v1/shows/{public_id}/video/ingest", "patch"): "show_ingest_update",
        ("/api/v1/shows/{public_id}/video/ingest/rotate", "post"): "show_ingest_rotate",
        ("/api/v1/shows/{public_id}/video/take-live", "post"): "show_video_take_live",
        ("/api/v1/shows/{public_id}/video/end", "post"): "show_video_end",
        ("/api/v1/shows/{public_id}/video/premiere", "put"): "show_premiere_set",
        ("/api/v1/shows/{public_id}/video/planned-pins", "get"): "show_planned_pin_list",
        ("/api/v1/shows/{public_id}/video/planned-pins", "post"): "show_planned_pin_create",
        (
            "/api/v1/shows/{public_id}/video/planned-pins/{planned_pin_id}",
            "delete",
        ): "show_planned_pin_delete",
        ("/api/v1/shows/{public_id}/pins", "get"): "show_pin_timeline",
        ("/api/v1/shows/{public_id}/pins", "post"): "show_pin_create",
        ("/api/v1/shows/{public_id}/pins/{pin_id}", "delete"): "show_pin_delete",
        ("/api/v1/shows/{public_id}/report", "get"): "show_report",
        ("/api/v1/shows/{public_id}/messages/{message_id}/hide", "post"): "chat_message_hide",
        ("/api/v1/shows/{public_id}/messages/{message_id}/delete", "post"): "chat_message_delete",
        ("/api/v1/shows/{public_id}/messages/{message_id}/approve", "post"): (
            "chat_message_approve"
        ),
        ("/api/v1/shows/{public_id}/messages/{message_id}/deny", "post"): "chat_message_deny",
        ("/api/v1/shows/{public_id}/messages/{message_id}/pin", "post"): "chat_message_pin",
        ("/api/v1/shows/{public_id}/pinned-message", "delete"): "chat_message_unpin",
        ("/api/v1/shows/{public_id}/held", "get"): "chat_message_held_list",
        ("/api/v1/shows/{public_id}/sanctions", "get"): "chat_sanction_list",
        ("/api/v1/shows/{public_id}/sanctions", "post"): "chat_sanction_create",
        ("/api/v1/shows/{public_id}/sanctions/{sanction_id}", "delete"): "chat_sanction_revoke",
        ("/api/v1/shows/{public_id}/chat-settings", "put"): "chat_settings_update",
        ("/api/v1/shows/{public_id}/moderation-log", "get"): "chat_moderation_log",
        ("/api/v1/shows/{public_id}/questions", "get"): "chat_question_list",
        ("/api/v1/shows/{public_id}/questions/{question_id}/claim", "post"): "chat_question_claim",
        ("/api/v1/shows/{public_id}/questions/{question_id}/answer", "post"): (
            "chat_question_answer"
        ),
        ("/api/v1/shows/{public_id}/questions/{question_id}/resolve", "post"): (
            "chat_question_resolve"
        ),
        ("/api/v1/shows/{public_id}/questions/{question_id}/invite", "post"): (
            "consultation_invite_from_question"
        ),
        ("/api/v1/channels/{slug}/blocked-terms", "get"): "chat_blocked_term_list",
        ("/api/v1/channels/{slug}/blocked-terms", "post"): "chat_blocked_term_add",
        ("/api/v1/channels/{slug}/blocked-terms/{term_id}", "delete"): "chat_blocked_term_remove",
    }


def _response_schema(schema: dict, path: str, method: str, status: str) -> dict:
    content = schema["paths"][path][method]["responses"][status]["content"]
    return content["application/json"]["schema"]


def _properties(schema: dict, ref: dict) -> dict:
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]["properties"]


def test_pin_timeline_and_report_responses_are_described(api_client):
    schema = api_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    pins = "/api/v1/shows/{public_id}/pins"

    pin = _response_schema(schema, pins, "post", "201")
    timeline = _properties(schema, _response_schema(schema, pins, "get", "200"))
    report = _properties(
        schema, _response_schema(schema, "/api/v1/shows/{public_id}/report", "get", "200")
    )

    assert sorted(_properties(schema, pin)) == [
        "end_offset",
        "id",
        "pinned_at",
        "product",
        "start_offset",
        "unpinned_at",
    ]
    card = _properties(schema, _properties(schema, pin)["product"])
    assert sorted(card) == [
        "description",
        "handle",
        "id",
        "image",
        "storefront",
        "title",
        "variants",
    ]
    assert sorted(_properties(schema, card["variants"]["items"])) == [
        "add_to_cart_url",
        "compare_at_price",
        "currency",
        "id",
        "left",
        "options",
        "price",
        "show_price",
        "sku",
        "stock_state",
        "title",
    ]
    assert timeline["results"]["items"] == pin
    assert sorted(report) == ["pins", "show", "totals"]
    assert sorted(_properties(schema, report["totals"])) == [
        "add_to_carts",
        "clicks",
        "conversion",
        "orders",
        "revenue",
        "unique_clickers",
    ]
    assert sorted(_properties(schema, report["pins"]["items"])) == [
        "add_to_carts",
        "clicks",
        "conversion",
        "end_offset",
        "orders",
        "pin_id",
        "product",
        "revenue",
        "start_offset",
        "unique_clickers",
    ]
