"""nginx-rtmp's HTTP callbacks (docs/video.md): authenticate, parse the form, call a service.

nginx POSTs form fields (media.md §4) and acts only on ``on_publish``'s status: 2xx
accepts the publish, anything else refuses it. Every answer uses the API's error
shape so the media server's logs say why.
"""

import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from liveshop.common.exceptions import ApplicationError
from video.providers import NginxRtmpProvider
from video.services import recording_register, stream_publish_authorize, stream_publish_end

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
    try:
        return JsonResponse(handler(fields))
    except ApplicationError as error:
        return _refusal(detail=error.message, code=error.code, status=error.status_code)
