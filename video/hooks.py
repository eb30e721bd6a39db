"""nginx-rtmp's HTTP callbacks (docs/video.md): authenticate, parse the form, call a service.

nginx POSTs form fields (media.md §4) and acts only on ``on_publish``'s status: 2xx
accepts the publish, anything else refuses it. Every answer uses the API's error
shape so the media server's logs say why.
"""

import hmac

import orjson
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from liveshop.common.exceptions import ApplicationError
from liveshop.common.webhooks import WebhookSignatureError
from video.hosted import (
    VideoEvent,
    ivs_events_parse,
    ivs_secret_verify,
    mux_events_parse,
    mux_signature_verify,
)
from video.providers import NginxRtmpProvider
from video.services import (
    recording_register,
    stream_publish_authorize,
    stream_publish_end,
    video_event_apply,
)

PROVIDER = NginxRtmpProvider.name


def _refusal(*, detail: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


def _caller_allowed(request: HttpRequest) -> bool:
    secret = request.GET.get("secret", "")
    expected = settings.LIVESHOP_VIDEO_HOOK_SECRET
    if not hmac.compare_digest(secret.encode(), expected.encode()):
        return False
    return request.META.get("REMOTE_ADDR", "") in settings.LIVESHOP_VIDEO_HOOK_ALLOWED_ADDRESSES


def _on_publish(fields) -> dict:
    session = stream_publish_authorize(
        provider=PROVIDER,
        public_id=fields["name"],
        key=fields.get("key", ""),
        client_id=fields["clientid"],
    )
    return {"detail": "Publish accepted.", "state": session.state}


def _on_publish_done(fields) -> dict:
    session = stream_publish_end(
        provider=PROVIDER, public_id=fields["name"], client_id=fields["clientid"]
    )
    return {"detail": "Publish ended.", "state": None if session is None else session.state}


def _on_record_done(fields) -> dict:
    recording = recording_register(
        provider=PROVIDER,
        public_id=fields["name"],
        client_id=fields["clientid"],
        source=fields["path"],
    )
    if recording is None:
        return {"detail": "Not a recording of an accepted publish; ignored.", "status": None}
    return {"detail": "Recording stored.", "status": recording.status}


# The longest value each field may have: what the models store, with room to spare.
FIELD_LIMITS = {"name": 64, "clientid": 100, "key": 256, "path": 1024}

HANDLERS = {
    "on_publish": (_on_publish, ("name", "clientid")),
    "on_publish_done": (_on_publish_done, ("name", "clientid")),
    "on_record_done": (_on_record_done, ("name", "clientid", "path")),
}


@csrf_exempt
@require_POST
def rtmp_hook(request: HttpRequest, event: str) -> JsonResponse:
    if not _caller_allowed(request):
        return _refusal(detail="Unknown caller.", code="hook_forbidden", status=403)
    if event not in HANDLERS:
        return _refusal(detail="Unknown callback.", code="not_found", status=404)
    handler, required = HANDLERS[event]
    fields = request.POST
    missing = [name for name in required if not fields.get(name)]
    if missing:
        return _refusal(detail=f"Missing fields: {', '.join(missing)}.", code="invalid", status=400)
    malformed = [
        name
        for name, limit in FIELD_LIMITS.items()
        if len(fields.get(name, "")) > limit or "\x00" in fields.get(name, "")
    ]
    if malformed:
        return _refusal(
            detail=f"Fields too long or holding a NUL byte: {', '.join(malformed)}.",
            code="invalid",
            status=400,
        )
    try:
        return JsonResponse(handler(fields))
    except ApplicationError as error:
        return _refusal(detail=error.message, code=error.code, status=error.status_code)


def _hosted_apply(request: HttpRequest, *, provider: str, verify, parse) -> JsonResponse:
    try:
        verify()
    except WebhookSignatureError as error:
        return _refusal(detail=error.message, code=error.code, status=error.status_code)
    try:
        payload = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        return _refusal(detail="The body is not JSON.", code="invalid", status=400)
    if not isinstance(payload, dict):
        return _refusal(detail="The body must be a JSON object.", code="invalid", status=400)
    try:
        events: list[VideoEvent] = parse(payload)
    except (KeyError, TypeError, AttributeError):
        return _refusal(detail="Unexpected event shape.", code="invalid", status=400)
    outcomes = [video_event_apply(provider=provider, event=event) for event in events]
    return JsonResponse({"detail": "Processed.", "outcomes": outcomes})


def _mux_verify(request: HttpRequest, secret: str) -> None:
    mux_signature_verify(
        secret=secret,
        header=request.headers.get("Mux-Signature", ""),
        body=request.body,
        tolerance_seconds=settings.LIVESHOP_WEBHOOK_TOLERANCE_SECONDS,
    )


def _ivs_verify(request: HttpRequest, secret: str) -> None:
    ivs_secret_verify(secret=secret, header=request.headers.get("X-Liveshop-Webhook-Secret", ""))


# provider: (its secret's setting, how a delivery is verified, how it is parsed)
HOSTED = {
    "mux": ("LIVESHOP_VIDEO_MUX_WEBHOOK_SECRET", _mux_verify, mux_events_parse),
    "ivs": ("LIVESHOP_VIDEO_IVS_WEBHOOK_SECRET", _ivs_verify, ivs_events_parse),
}


@csrf_exempt
@require_POST
def hosted_hook(request: HttpRequest, provider: str) -> JsonResponse:
    setting, verify, parse = HOSTED[provider]
    secret = getattr(settings, setting)
    if not secret:
        return _refusal(detail=f"{provider} is not configured.", code="not_found", status=404)
    return _hosted_apply(
        request, provider=provider, verify=lambda: verify(request, secret), parse=parse
    )
