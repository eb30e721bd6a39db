"""The demo shop's cart, kept in the viewer's session, and placing it as orders.

Storefronts of kind "demo" sell through this cart (docs/shopping.md, "Demo storefront"); an
add is credited to a show only through the signed click of a followed add-to-cart link.
"""

import hmac
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction

from catalog.lock_objects import variants_lock
from catalog.models import CartAddition, LinkClick, Order, OrderLine, Storefront, Variant
from catalog.selectors import PricedLine, cart_lines_priced
from catalog.services.cart_urls import MAX_ROW_ID
from catalog.services.orders import order_total
from catalog.services.stock import OutOfStockError, variant_stock_adjust
from liveshop.common.exceptions import ApplicationError, NotFoundError

# Signs the click a demo cart add is credited to (see cart_line_add); shows.links signs it.
CART_CLICK_SALT = "liveshop.cart-add-click"

CART_LINE_MAX_QUANTITY = 99
CART_MAX_LINES = 50


class CartError(ApplicationError):
    default_code = "invalid_cart"


def _quantity_parse(quantity: Any) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise CartError("Quantity must be a whole number.", code="invalid_quantity")
    if not 1 <= quantity <= CART_LINE_MAX_QUANTITY:
        raise CartError(
            f"Quantity must be between 1 and {CART_LINE_MAX_QUANTITY}.", code="invalid_quantity"
        )
    return quantity


def _demo_variant_get(*, sku: str) -> Variant:
    if not isinstance(sku, str) or "\x00" in sku or not 1 <= len(sku) <= 64:
        raise NotFoundError("No such product in the demo shop.", code="unknown_sku")
    variant = (
        Variant.objects.select_related("product__storefront")
        .filter(sku=sku, product__is_active=True, product__storefront__kind=Storefront.Kind.DEMO)
        .first()
    )
    if variant is None:
        raise NotFoundError(f"No product with SKU {sku!r} in the demo shop.", code="unknown_sku")
    return variant


def _cart_click_unspent(*, token: str, variant: Variant, viewer_key: str) -> LinkClick | None:
    """The viewer's own click on ``variant`` that ``token`` names, if no add used it yet."""
    if not token:
        return None
    try:
        click_pk = signing.loads(
            token, salt=CART_CLICK_SALT, max_age=settings.LIVESHOP_CART_LINK_SECONDS
        )
    except signing.BadSignature:
        return None
    if isinstance(click_pk, bool) or not isinstance(click_pk, int):
        return None
    if not 1 <= click_pk <= MAX_ROW_ID:
        return None
    return LinkClick.objects.filter(
        pk=click_pk, variant=variant, viewer_key=viewer_key[:64], cart_addition__isnull=True
    ).first()


def _cart_addition_create(
    *, variant: Variant, quantity: int, viewer_key: str, click: LinkClick | None
) -> CartAddition:
    fields = {
        "product_id": variant.product_id,
        "variant": variant,
        "quantity": quantity,
        "viewer_key": viewer_key[:64],
    }
    if click is not None:
        try:
            with transaction.atomic():
                return CartAddition.objects.create(
                    click=click, show_id=click.show_id, pin_id=click.pin_id, **fields
                )
        except IntegrityError:
            pass  # the same click used by a concurrent add: that one is credited
    return CartAddition.objects.create(**fields)


def cart_line_add(
    *,
    lines: list[dict],
    sku: str,
    quantity: int,
    viewer_key: str,
    click_token: str = "",
) -> list[dict]:
    """Add ``quantity`` of the demo variant ``sku`` to the cart ``lines``; return the new lines.

    ``lines`` is the session's list of ``{"variant_id", "quantity",
    "show_id", "pin_id"}``; it is not modified. A line for the same variant
    grows (capped at ``CART_LINE_MAX_QUANTITY``). Refuses a bad quantity,
    an unknown SKU and a sold-out variant (``out_of_stock``) without
    writing. Side effect: one ``CartAddition`` row, the add-to-cart the
    attribution report counts. The add is credited to a show and pin only
    through ``click_token``, the signed click of a followed add-to-cart link
    for this variant, made by this ``viewer_key`` and not used by an add
    before; the line then takes that attribution. Anything else adds
    uncredited.
    """
    quantity = _quantity_parse(quantity)
    variant = _demo_variant_get(sku=sku)
    if variant.stock_quantity <= 0:
        raise OutOfStockError(
            f'"{variant.product.title}" is sold out.', extra={"sku": sku, "available": 0}
        )
    new_lines = [dict(line) for line in lines]
    line = next((line for line in new_lines if line["variant_id"] == variant.pk), None)
    if line is None:
        if len(new_lines) >= CART_MAX_LINES:
            raise CartError(f"A cart holds at most {CART_MAX_LINES} lines.", code="cart_full")
        line = {"variant_id": variant.pk, "quantity": 0, "show_id": None, "pin_id": None}
        new_lines.append(line)
    line["quantity"] = min(CART_LINE_MAX_QUANTITY, line["quantity"] + quantity)
    addition = _cart_addition_create(
        variant=variant,
        quantity=quantity,
        viewer_key=viewer_key,
        click=_cart_click_unspent(token=click_token, variant=variant, viewer_key=viewer_key),
    )
    if addition.click_id is not None:
        line["show_id"], line["pin_id"] = addition.show_id, addition.pin_id
    return new_lines


def cart_line_quantity_set(*, lines: list[dict], variant_id: int, quantity: int) -> list[dict]:
    """Set a line's quantity (0 removes it); return the new lines. Writes nothing."""
    if quantity == 0:
        return cart_line_remove(lines=lines, variant_id=variant_id)
    quantity = _quantity_parse(quantity)
    if not any(line["variant_id"] == variant_id for line in lines):
        raise NotFoundError("This product is not in the cart.", code="not_in_cart")
    return [
        {**line, "quantity": quantity} if line["variant_id"] == variant_id else dict(line)
        for line in lines
    ]


def cart_line_remove(*, lines: list[dict], variant_id: int) -> list[dict]:
    """Drop a line; return the new lines. Writes nothing."""
    if not any(line["variant_id"] == variant_id for line in lines):
        raise NotFoundError("This product is not in the cart.", code="not_in_cart")
    return [dict(line) for line in lines if line["variant_id"] != variant_id]


@transaction.atomic
def order_place(
    *, lines: list[dict], viewer_key: str, order_key: str, issued_order_key: str | None
) -> list[Order]:
    """Place the demo cart: one order per storefront, stock taken in the same transaction.

    Every line's stock is decremented with a conditional UPDATE, so two
    buyers of the last unit cannot both succeed and stock never goes below
    zero; a short line raises ``OutOfStockError`` (``out_of_stock``, 409)
    and the whole transaction, every decrement included, rolls back.
    ``order_key`` is the checkout form's one-time key and must equal
    ``issued_order_key``, the key the viewer's session issued for the cart
    now in it; any other key (spent, from another tab's earlier order or
    another session) is refused as ``stale_order_key`` (409) before anything
    is read or written. Placing the same key twice at once returns the
    orders already placed (a double submit buys once).
    Unit prices are taken now: the show price while it applies, else the
    normal price. A storefront's lines in more than one currency
    (``mixed_currencies``) or totalling beyond ``ORDER_TOTAL_MAX``
    (``order_total_too_large``) are refused before anything is written.
    Side effects: ``stock.changed`` events for pinned variants.
    """
    if not isinstance(order_key, str) or not 8 <= len(order_key) <= 64:
        raise CartError("The order form is not valid; reload the cart.", code="invalid_order_key")
    if not issued_order_key or not hmac.compare_digest(order_key, issued_order_key):
        raise CartError(
            "This order form is out of date: an order was already placed from it or it"
            " belongs to another cart. Check the cart and order again.",
            code="stale_order_key",
            status_code=409,
        )
    if not lines:
        raise CartError("The cart is empty.", code="cart_empty")
    priced = cart_lines_priced(lines=lines)
    if len(priced) != len(lines):
        raise CartError("A product in the cart is no longer sold here.", code="unknown_sku")
    by_storefront: dict[int, list[PricedLine]] = {}
    for line in priced:
        if line.variant.product.storefront.kind != Storefront.Kind.DEMO:
            raise CartError("A product in the cart is no longer sold here.", code="unknown_sku")
        _quantity_parse(line.quantity)
        by_storefront.setdefault(line.variant.product.storefront_id, []).append(line)
    totals = {}
    for storefront_id, storefront_lines in by_storefront.items():
        currencies = sorted({line.variant.currency for line in storefront_lines})
        if len(currencies) > 1:
            raise CartError(
                f"The cart mixes prices in {' and '.join(currencies)}; order each"
                " currency on its own.",
                code="mixed_currencies",
            )
        totals[storefront_id] = order_total(amounts=(line.total for line in storefront_lines))
    # Every variant of the cart is locked before the first decrement announces stock (the lock
    # order): two carts with the same products in another order wait instead of deadlocking.
    variants_lock(variant_ids=[line.variant.pk for line in priced])
    orders = []
    for storefront_id, storefront_lines in sorted(by_storefront.items()):
        storefront = storefront_lines[0].variant.product.storefront
        external_id = f"demo-{order_key}"
        existing = Order.objects.filter(storefront=storefront, external_id=external_id).first()
        if existing is not None:
            orders.append(existing)
            continue
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    storefront=storefront,
                    external_id=external_id,
                    source=Order.Source.DEMO,
                    viewer_key=viewer_key[:64],
                    currency=storefront_lines[0].variant.currency,
                    total=totals[storefront_id],
                )
        except IntegrityError:
            # The same form submitted twice at once: the first one placed it.
            orders.append(Order.objects.get(storefront=storefront, external_id=external_id))
            continue
        for line in storefront_lines:
            variant_stock_adjust(storefront=storefront, sku=line.variant.sku, delta=-line.quantity)
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                variant=line.variant,
                product_id=line.variant.product_id,
                sku=line.variant.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                show_id=line.show_id,
                pin_id=line.pin_id,
            )
            for line in storefront_lines
        )
        orders.append(order)
    return orders
