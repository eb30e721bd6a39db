"""Reads of the catalog: storefront and variant lookups, the public product list."""

import dataclasses
import hashlib
import hmac
from decimal import Decimal
from typing import Any

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from catalog.hooks import catalog_hooks
from catalog.models import Product, ProductImage, Storefront, Variant
from liveshop.common.exceptions import NotFoundError


class StockState:
    IN_STOCK = "in_stock"
    LOW = "low"
    SOLD_OUT = "sold_out"


def storefront_get_by_slug(*, slug: str) -> Storefront:
    """Return the storefront with this slug or raise ``NotFoundError``."""
    storefront = Storefront.objects.filter(slug=slug).first()
    if storefront is None:
        raise NotFoundError(f"Unknown storefront {slug!r}.", code="storefront_not_found")
    return storefront


def variant_get_by_sku(*, storefront: Storefront, sku: str) -> Variant:
    """Return the storefront's variant with this SKU or raise ``NotFoundError``.

    Scoped to the storefront so one shop can never read or move another
    shop's stock by guessing SKUs.
    """
    variant = (
        Variant.objects.select_related("product")
        .filter(sku=sku, product__storefront=storefront)
        .first()
    )
    if variant is None:
        raise NotFoundError(f"Unknown SKU {sku!r} in storefront {storefront.slug!r}.")
    return variant


def variant_stock_state(*, quantity: int, low_stock_threshold: int) -> str:
    """Classify a stock level the way viewers see it ("only N left" when low)."""
    if quantity <= 0:
        return StockState.SOLD_OUT
    if quantity <= low_stock_threshold:
        return StockState.LOW
    return StockState.IN_STOCK


def variant_stock_view(*, quantity: int, low_stock_threshold: int) -> dict:
    """What viewers see of a stock level: the state, and the count only when low."""
    state = variant_stock_state(quantity=quantity, low_stock_threshold=low_stock_threshold)
    return {"stock_state": state, "left": quantity if state == StockState.LOW else None}


def viewer_key_for_user(*, user_id: int) -> str:
    """A pseudonymous, stable viewer id for a signed-in user (no user id in reports)."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"viewer:{user_id}".encode(), hashlib.sha256)
    return "u-" + digest.hexdigest()[:30]


def _in_stock_variants() -> QuerySet[Variant]:
    return Variant.objects.filter(product=OuterRef("pk"), stock_quantity__gt=0)


class ProductFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", max_length=100)
    storefront = django_filters.CharFilter(field_name="storefront__slug", max_length=60)
    in_stock = django_filters.ChoiceFilter(
        method="filter_in_stock", choices=[("true", "true"), ("false", "false")]
    )
    min_price = django_filters.NumberFilter(
        method="filter_min_price", min_value=0, max_digits=10, decimal_places=2
    )
    max_price = django_filters.NumberFilter(
        method="filter_max_price", min_value=0, max_digits=10, decimal_places=2
    )

    class Meta:
        model = Product
        fields: list[str] = []

    # Exists() rather than joins: a product with several matching variants must
    # still appear once, without DISTINCT over the whole row.
    def filter_q(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        matching_sku = Variant.objects.filter(product=OuterRef("pk"), sku__icontains=value)
        return queryset.filter(
            Q(title__icontains=value) | Q(handle__icontains=value) | Exists(matching_sku)
        )

    def filter_in_stock(
        self, queryset: QuerySet[Product], name: str, value: str
    ) -> QuerySet[Product]:
        if value == "true":
            return queryset.filter(Exists(_in_stock_variants()))
        return queryset.exclude(Exists(_in_stock_variants()))

    def filter_min_price(
        self, queryset: QuerySet[Product], name: str, value: Any
    ) -> QuerySet[Product]:
        priced = Variant.objects.filter(product=OuterRef("pk"), price__gte=value)
        return queryset.filter(Exists(priced))

    def filter_max_price(
        self, queryset: QuerySet[Product], name: str, value: Any
    ) -> QuerySet[Product]:
        priced = Variant.objects.filter(product=OuterRef("pk"), price__lte=value)
        return queryset.filter(Exists(priced))


def _product_public_queryset() -> QuerySet[Product]:
    return (
        Product.objects.filter(is_active=True)
        .select_related("storefront")
        .prefetch_related(
            Prefetch("variants", queryset=Variant.objects.order_by("position", "pk")),
            Prefetch("images", queryset=ProductImage.objects.order_by("position", "pk")),
        )
    )


def product_list(*, filters: Any | None = None) -> QuerySet[Product]:
    """Active products matching ``filters`` (query parameters of ``ProductFilter``).

    Variants, images and the storefront are prefetched, so serializing a page
    costs the same number of queries whatever its size. Invalid filter values
    raise ``ValidationError`` naming each parameter.
    """
    filterset = ProductFilter(filters or {}, queryset=_product_public_queryset())
    if not filterset.is_valid():
        raise ValidationError(
            {field: list(messages) for field, messages in filterset.errors.items()}
        )
    return filterset.qs.order_by("title", "pk")


def product_get(*, product_id: int) -> Product:
    """Return an active product with its variants and images, or raise ``NotFoundError``."""
    product = _product_public_queryset().filter(pk=product_id).first()
    if product is None:
        raise NotFoundError("Product not found.")
    return product


# --- Demo cart ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PricedLine:
    variant: Variant
    quantity: int
    unit_price: Decimal
    show_id: int | None
    pin_id: int | None

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


def cart_lines_priced(*, lines: list[dict]) -> list[PricedLine]:
    """The session cart's lines with their variants and the unit price due now.

    A line credited to a show is charged the show's price while it applies
    (the show is live and, for shows that say so, the product is pinned in
    that show now, by whichever pin), and keeps its credit only while the
    show exists; ``catalog.hooks`` asks shows for both. Otherwise the normal
    price. Lines whose variant is gone are left out. Four queries at most.
    """
    variants = Variant.objects.select_related("product__storefront").in_bulk(
        [line["variant_id"] for line in lines]
    )
    credited = {
        (line["show_id"], variants[line["variant_id"]].product_id)
        for line in lines
        if line.get("show_id") and line["variant_id"] in variants
    }
    show_prices = catalog_hooks().cart_prices(lines=credited)
    priced = []
    for line in lines:
        variant = variants.get(line["variant_id"])
        if variant is None:
            continue
        show_id: int | None = line.get("show_id")
        unit_price = variant.price
        if show_id is not None and show_id in show_prices.show_ids:
            unit_price = show_prices.prices.get((show_id, variant.product_id), unit_price)
        else:
            show_id = None
        priced.append(
            PricedLine(
                variant=variant,
                quantity=line["quantity"],
                unit_price=unit_price,
                show_id=show_id,
                pin_id=line.get("pin_id") if show_id is not None else None,
            )
        )
    return priced
