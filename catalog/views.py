"""HTML adapters for people: the built-in demo shop.

Viewers reach these pages from a product card, so refusals are pages that
say what happened, with the error's ``code`` for machines, not JSON. The
tracked add-to-cart redirect in front of them is shows' (``shows.views``),
with the viewer id and message page of this module.
"""

import secrets
from decimal import Decimal

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from catalog.selectors import cart_lines_priced, viewer_key_for_user
from catalog.services.demo_cart import (
    cart_line_add,
    cart_line_quantity_set,
    cart_line_remove,
    order_place,
)
from liveshop.common.exceptions import ApplicationError

VIEWER_COOKIE = "liveshop_vid"
VIEWER_COOKIE_MAX_AGE = 365 * 24 * 3600
CART_SESSION_KEY = "liveshop_cart"
ORDER_KEY_SESSION_KEY = "liveshop_order_key"


def viewer_key_get(request: HttpRequest) -> tuple[str, bool]:
    """The pseudonymous viewer id, and whether the cookie must be set (``viewer_cookie_set``)."""
    if request.user.is_authenticated:
        return viewer_key_for_user(user_id=request.user.pk), False
    cookie = request.COOKIES.get(VIEWER_COOKIE, "")
    if 16 <= len(cookie) <= 40 and cookie.replace("-", "").replace("_", "").isalnum():
        return "a-" + cookie, False
    return "a-" + secrets.token_urlsafe(16), True


def viewer_cookie_set(response: HttpResponse, key: str, is_new: bool) -> HttpResponse:
    if is_new:
        response.set_cookie(
            VIEWER_COOKIE, key[2:], max_age=VIEWER_COOKIE_MAX_AGE, httponly=True, samesite="Lax"
        )
    return response


_HEADINGS = {
    "out_of_stock": "Not enough left",
    "stale_order_key": "This order form is out of date",
}


def shop_message_page(
    request: HttpRequest, *, error: ApplicationError, heading: str | None = None
) -> HttpResponse:
    """The shop's page for a refusal: ``heading`` (else one by the error's code), the detail
    and the code, with the error's status."""
    if heading is None:
        heading = _HEADINGS.get(error.code, "Something is not right")
    context = {"heading": heading, "detail": error.message, "code": error.code}
    return render(request, "catalog/shop/message.html", context, status=error.status_code)


def _cart_lines(request: HttpRequest) -> list[dict]:
    lines = request.session.get(CART_SESSION_KEY)
    return lines if isinstance(lines, list) else []


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


@require_GET
def cart_add(request: HttpRequest) -> HttpResponse:
    """Add a demo variant to the session cart (the demo storefront's cart URL)."""
    key, is_new = viewer_key_get(request)
    quantity = _int(request.GET.get("quantity", "1"))
    try:
        request.session[CART_SESSION_KEY] = cart_line_add(
            lines=_cart_lines(request),
            sku=request.GET.get("sku", "")[:64],
            quantity=quantity if quantity is not None else -1,
            viewer_key=key,
            click_token=request.GET.get("ls_click", "")[:200],
        )
    except ApplicationError as error:
        return viewer_cookie_set(shop_message_page(request, error=error), key, is_new)
    return viewer_cookie_set(HttpResponseRedirect(reverse("shop-cart")), key, is_new)


def _cart_page(request: HttpRequest, *, error: ApplicationError | None = None) -> HttpResponse:
    lines = cart_lines_priced(lines=_cart_lines(request))
    order_key = request.session.get(ORDER_KEY_SESSION_KEY)
    if not order_key:
        order_key = request.session[ORDER_KEY_SESSION_KEY] = secrets.token_urlsafe(16)
    context = {
        "lines": lines,
        "total": sum((line.total for line in lines), Decimal("0")),
        "order_key": order_key,
        "error": None if error is None else {"code": error.code, "detail": error.message},
    }
    return render(
        request,
        "catalog/shop/cart.html",
        context,
        status=200 if error is None else error.status_code,
    )


@require_GET
def cart_detail(request: HttpRequest) -> HttpResponse:
    return _cart_page(request)


@require_POST
def cart_line_update(request: HttpRequest, variant_id: int) -> HttpResponse:
    """Change a line's quantity (0 removes it)."""
    quantity = _int(request.POST.get("quantity"))
    try:
        request.session[CART_SESSION_KEY] = cart_line_quantity_set(
            lines=_cart_lines(request),
            variant_id=variant_id,
            quantity=quantity if quantity is not None else -1,
        )
    except ApplicationError as error:
        return _cart_page(request, error=error)
    return HttpResponseRedirect(reverse("shop-cart"))


@require_POST
def cart_line_delete(request: HttpRequest, variant_id: int) -> HttpResponse:
    try:
        request.session[CART_SESSION_KEY] = cart_line_remove(
            lines=_cart_lines(request), variant_id=variant_id
        )
    except ApplicationError as error:
        return _cart_page(request, error=error)
    return HttpResponseRedirect(reverse("shop-cart"))


@require_POST
def cart_order(request: HttpRequest) -> HttpResponse:
    """Place the cart; on success the cart empties and the form key is spent."""
    key, is_new = viewer_key_get(request)
    try:
        orders = order_place(
            lines=_cart_lines(request),
            viewer_key=key,
            order_key=request.POST.get("order_key", "")[:100],
            issued_order_key=request.session.get(ORDER_KEY_SESSION_KEY),
        )
    except ApplicationError as error:
        return _cart_page(request, error=error)
    request.session[CART_SESSION_KEY] = []
    request.session.pop(ORDER_KEY_SESSION_KEY, None)
    response = render(request, "catalog/shop/order_placed.html", {"orders": orders})
    return viewer_cookie_set(response, key, is_new)
