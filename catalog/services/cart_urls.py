"""Where a viewer is sent to add a variant to a shop's cart (the URL at the end of a link)."""

from urllib.parse import quote, urlencode

from django.core.exceptions import ValidationError

from catalog.models import Storefront, Variant, cart_url_template_validate
from liveshop.common.exceptions import ApplicationError

# The largest primary key (BigAutoField); a larger id names no row.
MAX_ROW_ID = 2**63 - 1
# The most of one variant a shop cart URL asks for (shows' signed links ask within it).
CART_URL_MAX_QUANTITY = 10_000
# The demo storefront's cart lives in liveshop (catalog.views.cart_add).
DEMO_CART_PATH = "/shop/cart/add"


def storefront_cart_url_build(*, storefront: Storefront, variant: Variant, quantity: int) -> str:
    """Return where to send a viewer to add ``quantity`` of ``variant`` to the shop's cart.

    Pure: reads nothing but its arguments. The demo kind gets a path inside
    liveshop, the others a URL on the shop. Raises ``ApplicationError`` for
    a quantity below one or a storefront missing what its kind needs.
    """
    if isinstance(quantity, bool) or not 1 <= quantity <= CART_URL_MAX_QUANTITY:
        raise ApplicationError(
            f"Quantity must be between 1 and {CART_URL_MAX_QUANTITY}.", code="invalid_quantity"
        )
    if storefront.kind == Storefront.Kind.DEMO:
        return f"{DEMO_CART_PATH}?{urlencode({'sku': variant.sku, 'quantity': quantity})}"

    base_url = storefront.base_url.rstrip("/")
    if not base_url:
        raise ApplicationError(
            f"Storefront {storefront.slug!r} has no base URL.", code="storefront_misconfigured"
        )
    variant_id = quote(variant.external_id, safe="")
    if storefront.kind in {Storefront.Kind.SHOPIFY, Storefront.Kind.WOOCOMMERCE} and not variant_id:
        raise ApplicationError(
            f"Variant {variant.sku!r} has no external id for the shop's cart.",
            code="storefront_misconfigured",
        )
    if storefront.kind == Storefront.Kind.SHOPIFY:
        return f"{base_url}/cart/{variant_id}:{quantity}"
    if storefront.kind == Storefront.Kind.WOOCOMMERCE:
        return f"{base_url}/?add-to-cart={variant_id}&quantity={quantity}"

    template = storefront.cart_url_template
    if not template:
        raise ApplicationError(
            f"Storefront {storefront.slug!r} has no cart URL template.",
            code="storefront_misconfigured",
        )
    try:
        cart_url_template_validate(template)
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages), code="storefront_misconfigured") from error
    return template.format(
        base_url=base_url,
        variant_id=variant_id,
        sku=quote(variant.sku, safe=""),
        quantity=quantity,
    )
