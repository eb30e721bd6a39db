"""Incoming shop webhooks, verified by the caller: stock updates and orders."""

import dataclasses
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from catalog.hooks import catalog_hooks
from catalog.lock_objects import variants_lock
from catalog.models import IncomingWebhook, Order, OrderLine, Storefront, Variant
from catalog.services.orders import order_total
from catalog.services.stock import variant_stock_adjust, variant_stock_set
from liveshop.common.exceptions import ApplicationError


@dataclasses.dataclass(frozen=True)
class StockUpdate:
    sku: str
    quantity: int | None = None
    delta: int | None = None


def storefront_stock_webhook_apply(
    *, storefront: Storefront, webhook_id: str, updates: list[StockUpdate]
) -> str:
    """Apply a verified stock webhook once; return "applied" or "duplicate".

    Precondition: the caller verified the signature. A webhook id already
    recorded for the storefront changes nothing ("duplicate"). Every SKU must
    belong to the storefront, else ``ApplicationError`` ("unknown_sku") names
    them before anything is written. The record and all updates share one
    transaction, so a refused update (``OutOfStockError``) leaves the id
    unrecorded and the shop's retry is applied in full.
    """
    if IncomingWebhook.objects.filter(storefront=storefront, webhook_id=webhook_id).exists():
        return "duplicate"
    skus = {update.sku for update in updates}
    known = set(
        Variant.objects.filter(product__storefront=storefront, sku__in=skus).values_list(
            "sku", flat=True
        )
    )
    unknown = sorted(skus - known)
    if unknown:
        raise ApplicationError(
            f"Unknown SKU(s) in storefront {storefront.slug!r}: {', '.join(unknown)}.",
            code="unknown_sku",
            extra={"skus": unknown},
        )
    with transaction.atomic():
        try:
            # A concurrent delivery of the same id waits on the unique index
            # here and then lands in the except branch.
            with transaction.atomic():
                IncomingWebhook.objects.create(
                    storefront=storefront, webhook_id=webhook_id, kind="stock"
                )
        except IntegrityError:
            return "duplicate"
        variants_lock(
            variant_ids=Variant.objects.filter(
                product__storefront=storefront, sku__in=skus
            ).values_list("pk", flat=True)
        )
        for update in updates:
            if update.quantity is not None:
                variant_stock_set(storefront=storefront, sku=update.sku, quantity=update.quantity)
            else:
                variant_stock_adjust(storefront=storefront, sku=update.sku, delta=update.delta or 0)
    return "applied"


@dataclasses.dataclass(frozen=True)
class OrderLineInput:
    sku: str
    quantity: int
    unit_price: Decimal


def storefront_order_webhook_apply(
    *,
    storefront: Storefront,
    order_id: str,
    currency: str,
    lines: list[OrderLineInput],
    show_public_id: str = "",
    pin_id: Any = None,
) -> str:
    """Store an order reported by a verified shop webhook once; "applied" or "duplicate".

    Precondition: the caller verified the signature. Idempotent by the
    shop's order id (unique per storefront): a retry or a concurrent
    duplicate changes nothing. Lines are credited to the show from the
    attribution parameters, and to the pin when the line is of the pinned
    product (``catalog.hooks``: shows resolves them). SKUs liveshop does
    not know are stored unattributed. Stock is not touched: the shop
    reports stock on its stock webhook. A total beyond ``ORDER_TOTAL_MAX``
    is refused (``order_total_too_large``, 400) before anything is written.
    """
    if Order.objects.filter(storefront=storefront, external_id=order_id).exists():
        return "duplicate"
    total = order_total(amounts=(line.unit_price * line.quantity for line in lines))
    variants = {
        variant.sku: variant
        for variant in Variant.objects.filter(
            product__storefront=storefront, sku__in=[line.sku for line in lines]
        )
    }
    order_lines = []
    for line in lines:
        variant = variants.get(line.sku)
        attribution = catalog_hooks().attribution_resolve(
            show_public_id=show_public_id,
            pin_id=pin_id,
            product_id=None if variant is None else variant.product_id,
        )
        order_lines.append(
            OrderLine(
                variant=variant,
                product_id=None if variant is None else variant.product_id,
                sku=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                show_id=None if attribution is None else attribution.show_id,
                pin_id=None if attribution is None else attribution.pin_id,
            )
        )
    try:
        with transaction.atomic():
            order = Order.objects.create(
                storefront=storefront,
                external_id=order_id,
                source=Order.Source.WEBHOOK,
                currency=currency,
                total=total,
            )
            for order_line in order_lines:
                order_line.order = order
            OrderLine.objects.bulk_create(order_lines)
    except IntegrityError:
        return "duplicate"
    return "applied"
