"""Reads of the catalog: storefront and variant lookups, the public product list."""

import dataclasses
import hashlib
import hmac
import time
from decimal import Decimal
from typing import Any

import django_filters
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from catalog.models import Product, ProductImage, Storefront, Variant
from liveshop.common.exceptions import NotFoundError
from liveshop.common.links import public_url


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


# --- Signed add-to-cart links --------------------------------------------------------

CART_LINK_SALT = "liveshop.cart-link"
CART_LINK_PATH = "/shop/go/"


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

    The show price applies while the attributed show is live (and, for
    shows that say so, while the product is pinned in that show now, by
    whichever pin); otherwise the normal
    price. Lines whose variant is gone are left out. Four queries at most.
    """
    # shows.selectors builds cards with this module's links: import late.
    from shows.models import Show, ShowProduct
    from shows.selectors import show_pins_open, show_price_applies

    variants = Variant.objects.select_related("product__storefront").in_bulk(
        [line["variant_id"] for line in lines]
    )
    show_ids = {line.get("show_id") for line in lines if line.get("show_id")}
    shows = Show.objects.in_bulk(show_ids) if show_ids else {}
    # Pinned now, by any pin of the show: a product unpinned and pinned again
    # has the show price again, whichever pin the line came from.
    pinned_now = (
        set(show_pins_open().filter(show_id__in=show_ids).values_list("show_id", "product_id"))
        if show_ids
        else set()
    )
    show_prices = (
        {
            (show_id, product_id): price
            for show_id, product_id, price in ShowProduct.objects.filter(
                show_id__in=show_ids, show_price__isnull=False
            ).values_list("show_id", "product_id", "show_price")
        }
        if show_ids
        else {}
    )
    priced = []
    for line in lines:
        variant = variants.get(line["variant_id"])
        if variant is None:
            continue
        show = shows.get(line.get("show_id"))
        unit_price = variant.price
        show_price = show_prices.get((line.get("show_id"), variant.product_id))
        if (
            show is not None
            and show_price is not None
            and show_price_applies(show=show, is_pinned=(show.pk, variant.product_id) in pinned_now)
        ):
            unit_price = show_price
        priced.append(
            PricedLine(
                variant=variant,
                quantity=line["quantity"],
                unit_price=unit_price,
                show_id=None if show is None else show.pk,
                pin_id=line.get("pin_id") if show is not None else None,
            )
        )
    return priced
