"""Page shells of the reference clients.

The pages hold no data of their own: their scripts read everything through the
public REST API and the show channel (docs/protocol.md), as any other client
would. The views only pick the template and pass the identifiers in the URL.
"""

import math

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie


# Every page sets the CSRF cookie: its scripts send it back on REST writes.
@ensure_csrf_cookie
def schedule_page(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    # `/` shows the configured channel; `/channels/<slug>/` any other.
    channel_slug = slug or settings.LIVESHOP_DEMO_CHANNEL_SLUG
    return render(request, "web/schedule.html", {"channel_slug": channel_slug})


@ensure_csrf_cookie
def show_page(request: HttpRequest, public_id: str) -> HttpResponse:
    return render(request, "web/show.html", {"public_id": public_id})


def login_refused(request: HttpRequest, wait: float) -> HttpResponse:
    """The sign-in form again, answered 429: too many attempts from here or for this name."""
    form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")})
    context = {
        "form": form,
        "next": request.POST.get("next", ""),
        "throttled_seconds": max(1, math.ceil(wait)),
    }
    return render(request, "web/login.html", context, status=429)


def admin_login_refused(request: HttpRequest, wait: float) -> HttpResponse:
    seconds = max(1, math.ceil(wait))
    return HttpResponse(
        f"Too many sign-in attempts. Try again in {seconds} seconds.",
        status=429,
        content_type="text/plain; charset=utf-8",
    )


@ensure_csrf_cookie
@login_required(login_url="web-login")
def studio_page(request: HttpRequest, public_id: str) -> HttpResponse:
    return render(request, "web/studio.html", {"public_id": public_id})
