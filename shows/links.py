"""Signed add-to-cart links of product cards: built for a show's pin, followed to the shop.

A link names a show and a pin, so it is shows' (docs/shopping.md, "Signed add-to-cart links");
the shop's cart URL it leads to and the click it records are catalog's.
"""

import dataclasses
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction

from catalog.models import LinkClick, Storefront, Variant
from catalog.services.cart_urls import CART_URL_MAX_QUANTITY, MAX_ROW_ID, storefront_cart_url_build
from catalog.services.demo_cart import CART_CLICK_SALT
from liveshop.common.exceptions import ApplicationError, ConflictError
from liveshop.common.links import public_url
from shows.models import Show

CART_LINK_SALT = "liveshop.cart-link"
# Served by shows.views.cart_link_redirect, URL name "shop-link" (cards already carry it).
CART_LINK_PATH = "/shop/go/"
# A link asks for no more than the shop's cart URL takes.
CART_LINK_MAX_QUANTITY = CART_URL_MAX_QUANTITY


def cart_link_build(
    *, show_id: int, pin_id: int, variant_id: int, quantity: int = 1, now: float | None = None
) -> str:
    """The absolute URL of a signed add-to-cart link, valid ``LIVESHOP_CART_LINK_SECONDS``.

    The signature (HMAC with ``SECRET_KEY``) covers show, pin, variant,
    quantity and expiry, so none of them can be edited. Pure.
    """
    expires = int(now if now is not None else time.time()) + settings.LIVESHOP_CART_LINK_SECONDS
    token = signing.dumps(
        {"s": show_id, "p": pin_id, "v": variant_id, "q": quantity, "e": expires},
        salt=CART_LINK_SALT,
        compress=False,
    )
    return public_url(path=f"{CART_LINK_PATH}{token}")


class CartLinkError(ApplicationError):
    """A link that was forged, edited, cut short or no longer points anywhere."""

    default_code = "invalid_link"


class CartLinkExpiredError(ApplicationError):
    status_code = 410
    default_code = "link_expired"


class SoldOutError(ConflictError):
    default_code = "sold_out"


@dataclasses.dataclass(frozen=True)
class CartLinkTarget:
    url: str
    click: LinkClick


def _cart_link_read(*, token: str, now: float) -> dict:
    try:
        payload = signing.loads(token, salt=CART_LINK_SALT)
    except signing.BadSignature as error:
        raise CartLinkError("This add-to-cart link is not valid.") from error
    keys = ("s", "p", "v", "q", "e")
    if not isinstance(payload, dict) or any(
        isinstance(payload.get(key), bool) or not isinstance(payload.get(key), int) for key in keys
    ):
        raise CartLinkError("This add-to-cart link is not valid.")
    # Signed by us, yet checked: an id past the database's integers would
    # crash the lookup (SQLite) instead of naming no row.
    if not all(1 <= payload[key] <= MAX_ROW_ID for key in ("s", "p", "v")) or not (
        1 <= payload["q"] <= CART_LINK_MAX_QUANTITY
    ):
        raise CartLinkError("This add-to-cart link is not valid.")
    if payload["e"] < now:
        raise CartLinkExpiredError("This add-to-cart link has expired.")
    return payload


def _attribution_append(*, url: str, storefront: Storefront, click: LinkClick) -> str:
    params: dict[str, str | int]
    if storefront.kind == Storefront.Kind.DEMO:
        # The demo cart credits an add to this click only, and only for the
        # viewer who made it: nothing a third party can write into a URL.
        params = {"ls_click": signing.dumps(click.pk, salt=CART_CLICK_SALT)}
    else:
        show_public_id = Show.objects.values_list("public_id", flat=True).get(pk=click.show_id)
        params = {"ls_show": show_public_id, "ls_pin": click.pin_id}
        if storefront.kind == Storefront.Kind.SHOPIFY:
            # Cart attributes travel with the cart onto the order, where the
            # order webhook reads them back.
            params = {f"attributes[{key}]": value for key, value in params.items()}
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode(params)}"


@transaction.atomic
def cart_link_follow(*, token: str, viewer_key: str, now: float | None = None) -> CartLinkTarget:
    """Check a signed add-to-cart link, record the click and say where to send the viewer.

    Raises, recording nothing: ``CartLinkError`` (400) for a forged, edited
    or dangling link, ``CartLinkExpiredError`` (410) past its expiry,
    ``SoldOutError`` (409) when the variant has no stock left. Otherwise
    writes one ``LinkClick`` and returns the storefront's cart URL with the
    attribution appended: the shop's ``ls_show`` and ``ls_pin`` parameters,
    or for the demo cart the signed click (``ls_click``).
    """
    payload = _cart_link_read(token=token, now=time.time() if now is None else now)
    variant = (
        Variant.objects.select_related("product__storefront")
        .filter(
            pk=payload["v"],
            product__show_pins__pk=payload["p"],
            product__show_pins__show_id=payload["s"],
        )
        .first()
    )
    if variant is None:
        raise CartLinkError("This add-to-cart link points to a product that is gone.")
    if variant.stock_quantity <= 0:
        raise SoldOutError(f'"{variant.product.title}" is sold out.', extra={"sku": variant.sku})
    storefront = variant.product.storefront
    url = storefront_cart_url_build(storefront=storefront, variant=variant, quantity=payload["q"])
    click = LinkClick.objects.create(
        show_id=payload["s"],
        pin_id=payload["p"],
        product_id=variant.product_id,
        variant=variant,
        viewer_key=viewer_key[:64],
    )
    return CartLinkTarget(
        url=_attribution_append(url=url, storefront=storefront, click=click), click=click
    )
