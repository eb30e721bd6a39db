"""HTML adapter for people: the tracked add-to-cart redirect of product cards.

Viewers reach it from a card, so a refusal is the shop's page that says what happened, with
the error's ``code`` for machines, not JSON.
"""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from catalog.views import shop_message_page, viewer_cookie_set, viewer_key_get
from liveshop.common.exceptions import ApplicationError
from shows.links import cart_link_follow

_HEADINGS = {
    "invalid_link": "This link is not valid",
    "link_expired": "This link has expired",
    "sold_out": "Sold out",
}


# Exempt: only GET is served, so a POST must get its 405, not a CSRF page.
@csrf_exempt
@require_GET
def cart_link_redirect(request: HttpRequest, token: str) -> HttpResponse:
    """Follow a signed add-to-cart link from a product card."""
    key, is_new = viewer_key_get(request)
    try:
        target = cart_link_follow(token=token, viewer_key=key)
    except ApplicationError as error:
        page = shop_message_page(request, error=error, heading=_HEADINGS.get(error.code))
        return viewer_cookie_set(page, key, is_new)
    return viewer_cookie_set(HttpResponseRedirect(target.url), key, is_new)
