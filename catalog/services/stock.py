"""Stock writes, and what catalog announces to the apps above it (through ``catalog.hooks``).

Every stock change of liveshop (demo order, stock webhook, admin, import) goes through
``variant_stock_set`` or ``variant_stock_adjust``, so each is announced
(``stock_change_announce``); edits of products' fields are announced with
``product_change_announce`` (the product admin, the import).
"""

from collections.abc import Collection

from django.db import transaction
from django.db.models import F, QuerySet

from catalog.hooks import catalog_hooks
from catalog.lock_objects import variants_lock
from catalog.models import Storefront, Variant
from catalog.selectors import variant_get_by_sku
from liveshop.common.exceptions import ApplicationError, ConflictError
from liveshop.common.transactions import atomic_required

# PostgreSQL's integer column: anything above would fail inside the UPDATE.
MAX_STOCK_QUANTITY = 2_147_483_647


class OutOfStockError(ConflictError):
    default_code = "out_of_stock"


class StockQuantityError(ApplicationError):
    default_code = "invalid_quantity"


def stock_change_announce(*, variant: Variant, previous_quantity: int) -> int:
    """Tell the apps above catalog that ``variant``'s stock changed from ``previous_quantity``.

    Must run inside the transaction that changed the stock (else ``RuntimeError``), so
    listeners announce only a change that commits. ``variant`` must come with its product and
    storefront. Delegates to ``catalog.hooks`` (shows: ``stock.changed`` to every live show
    pinning the product, when what viewers see changed). Returns how many shows were told.
    """
    atomic_required("stock_change_announce")
    return catalog_hooks().stock_changed(variant=variant, previous_quantity=previous_quantity)


def product_change_announce(*, product_ids: Collection[int]) -> int:
    """Tell the apps above catalog that these products' fields (title, price, options) changed.

    Delegates to ``catalog.hooks`` (shows: a fresh card, ``product.updated``, to every live
    show pinning one of them; events after commit). Any number of ids. Returns how many cards
    were sent.
    """
    return catalog_hooks().products_changed(product_ids=product_ids)


def _stock_rows(*, storefront: Storefront, sku: str) -> QuerySet[Variant]:
    # Resolve the scoped SKU first and update by primary key: with the join
    # in the UPDATE, Django writes "WHERE id IN (SELECT ...)", and PostgreSQL
    # does not re-check a subquery's stock condition after waiting for a
    # concurrent writer's row lock, so two buyers could both take the last unit.
    variant = variant_get_by_sku(storefront=storefront, sku=sku)
    return Variant.objects.filter(pk=variant.pk)


@transaction.atomic
def variant_stock_set(*, storefront: Storefront, sku: str, quantity: int) -> Variant:
    """Set the storefront's variant ``sku`` to an absolute stock ``quantity``.

    Locks the variant row and writes once. Raises ``StockQuantityError`` for
    a negative or oversized quantity and ``NotFoundError`` for an SKU of
    another storefront, before writing. Side effect: ``stock.changed`` to
    every live show pinning the product, when what viewers see changed.
    Returns the variant as stored afterwards.
    """
    if isinstance(quantity, bool) or not 0 <= quantity <= MAX_STOCK_QUANTITY:
        raise StockQuantityError(
            f"Stock quantity must be between 0 and {MAX_STOCK_QUANTITY}, not {quantity!r}."
        )
    rows = _stock_rows(storefront=storefront, sku=sku)
    variants_lock(variant_ids=rows.values_list("pk", flat=True))
    previous = rows.values_list("stock_quantity", flat=True).get()
    rows.update(stock_quantity=quantity)
    variant = rows.select_related("product__storefront").get()
    stock_change_announce(variant=variant, previous_quantity=previous)
    return variant


@transaction.atomic
def variant_stock_adjust(*, storefront: Storefront, sku: str, delta: int) -> Variant:
    """Add ``delta`` (negative to take units) to the variant's stock in one UPDATE.

    A decrement is conditional on enough units being left, so concurrent
    buyers of the last units can never drive stock below zero: the loser gets
    ``OutOfStockError`` ("out_of_stock") and nothing changes. ``NotFoundError``
    for an SKU of another storefront. Side effect: ``stock.changed`` to every
    live show pinning the product, when what viewers see changed. Returns the
    variant as stored afterwards.
    """
    if isinstance(delta, bool) or not -MAX_STOCK_QUANTITY <= delta <= MAX_STOCK_QUANTITY:
        raise StockQuantityError(f"Stock delta {delta!r} is out of range.")
    rows = _stock_rows(storefront=storefront, sku=sku)
    if delta < 0:
        guarded = rows.filter(stock_quantity__gte=-delta)
    else:
        guarded = rows.filter(stock_quantity__lte=MAX_STOCK_QUANTITY - delta)
    updated = guarded.update(stock_quantity=F("stock_quantity") + delta)
    variant = rows.select_related("product__storefront").get()
    if not updated:
        if delta < 0:
            raise OutOfStockError(
                f"Only {variant.stock_quantity} of {sku!r} left, cannot take {-delta}.",
                extra={"sku": sku, "available": variant.stock_quantity},
            )
        raise StockQuantityError(f"Adding {delta} to {sku!r} exceeds the largest stock.")
    stock_change_announce(variant=variant, previous_quantity=variant.stock_quantity - delta)
    return variant
