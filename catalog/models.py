import string

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from liveshop.common import webhooks

CART_URL_PLACEHOLDERS = frozenset({"base_url", "variant_id", "sku", "quantity"})


def webhook_secret_generate() -> str:
    # Kept here by name: migrations refer to it as the field's default.
    return webhooks.webhook_secret_generate()


def cart_url_template_validate(value: str) -> None:
    """Refuse templates that ``str.format`` would choke on or that reach past the values.

    Only bare placeholders are allowed: ``{sku.__class__}`` or ``{quantity:>5}``
    would let a template read attributes or reshape values.
    """
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError as error:
        raise ValidationError(f"The cart URL template is malformed: {error}.") from error
    unknown = []
    for _literal, field_name, format_spec, conversion in parts:
        if field_name is None:
            continue
        if field_name not in CART_URL_PLACEHOLDERS or format_spec or conversion:
            unknown.append("{" + field_name + "}")
    if unknown:
        allowed = ", ".join("{" + name + "}" for name in sorted(CART_URL_PLACEHOLDERS))
        raise ValidationError(
            f"Unknown placeholder(s) {', '.join(unknown)} in the cart URL template; "
            f"use only {allowed}."
        )


class Storefront(models.Model):
    """A shop whose products are sold in shows, and how to send a viewer to its cart."""

    class Kind(models.TextChoices):
        DEMO = "demo", "Built-in demo cart"
        SHOPIFY = "shopify", "Shopify (cart permalink)"
        WOOCOMMERCE = "woocommerce", "WooCommerce (?add-to-cart=)"
        CUSTOM = "custom", "Custom URL template"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.DEMO)
    base_url = models.URLField(
        blank=True,
        help_text="The shop's address, e.g. https://shop.example.com (not for the demo cart).",
    )
    cart_url_template = models.CharField(
        max_length=500,
        blank=True,
        validators=[cart_url_template_validate],
        help_text=(
            "Only for custom storefronts. Placeholders: {base_url}, {variant_id} (the shop's "
            "variant id), {sku}, {quantity}."
        ),
    )
    currency = models.CharField(max_length=3, default="EUR")
    low_stock_threshold = models.PositiveIntegerField(
        default=5, help_text='At or below this many left, viewers see "only N left".'
    )
    webhook_secret = models.CharField(
        # whsec_ and base64 of up to 100 key bytes (a migrated legacy secret of 100 characters).
        max_length=200,
        default=webhook_secret_generate,
        validators=[webhooks.webhook_secret_validate],
        help_text=(
            "Shared secret the shop signs its webhooks with (Standard Webhooks: whsec_ and the "
            "key in base64)."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    storefront = models.ForeignKey(Storefront, on_delete=models.PROTECT, related_name="products")
    handle = models.SlugField(max_length=120, help_text="The product's identifier in its shop.")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["storefront", "handle"], name="catalog_product_unique_handle"
            )
        ]

    def __str__(self) -> str:
        return self.title


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    url = models.URLField(max_length=500)
    alt_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            # Backs the import's upsert of a product's images by URL.
            models.UniqueConstraint(
                fields=["product", "url"], name="catalog_productimage_unique_url"
            )
        ]

    def __str__(self) -> str:
        return self.url


class Variant(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200, blank=True)
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text='Option name to value, e.g. {"size": "M", "colour": "red"}.',
    )
    external_id = models.CharField(
        max_length=64, blank=True, help_text="The variant's id in its shop, used in cart links."
    )
    price = models.DecimalField(max_digits=10, decimal_places=2)
    compare_at_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    stock_quantity = models.PositiveIntegerField(default=0)
    position = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stock_quantity__gte=0), name="catalog_variant_stock_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0), name="catalog_variant_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.title}".strip()


class IncomingWebhook(models.Model):
    """Every accepted shop webhook, so a retried delivery is applied once."""

    storefront = models.ForeignKey(
        Storefront, on_delete=models.CASCADE, related_name="incoming_webhooks"
    )
    webhook_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=40)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["storefront", "webhook_id"], name="catalog_incoming_webhook_unique_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.webhook_id}"


class LinkClick(models.Model):
    """One followed add-to-cart link from a pinned product card."""

    show = models.ForeignKey("shows.Show", on_delete=models.CASCADE, related_name="link_clicks")
    pin = models.ForeignKey("shows.ShowPin", on_delete=models.CASCADE, related_name="link_clicks")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    viewer_key = models.CharField(max_length=64, help_text="Pseudonymous viewer id.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["show", "pin"], name="catalog_linkclick_show_pin")]

    def __str__(self) -> str:
        return f"click on {self.variant} in show {self.show_id}"


class CartAddition(models.Model):
    """One add to the demo cart, with the show and pin it came from (if any).

    Only an add that follows the viewer's own tracked click is credited to a
    show and pin, so the report counts adds that really came from a card.
    """

    show = models.ForeignKey(
        "shows.Show", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pin = models.ForeignKey(
        "shows.ShowPin", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    click = models.OneToOneField(
        LinkClick,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cart_addition",
        help_text="The followed link this add is credited to; one add per click.",
    )
    quantity = models.PositiveIntegerField()
    viewer_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["show", "pin"], name="catalog_cartadd_show_pin")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant}"


class Order(models.Model):
    """An order placed in the demo cart or reported by a shop's webhook."""

    class Source(models.TextChoices):
        DEMO = "demo", "Demo cart"
        WEBHOOK = "webhook", "Shop webhook"

    storefront = models.ForeignKey(Storefront, on_delete=models.PROTECT, related_name="orders")
    external_id = models.CharField(
        max_length=100, help_text="The shop's order id (demo: the form's one-time key)."
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    viewer_key = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A retried webhook or a double-submitted form is stored once.
            models.UniqueConstraint(
                fields=["storefront", "external_id"], name="catalog_order_unique_external_id"
            )
        ]

    def __str__(self) -> str:
        return f"order {self.external_id}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(
        Variant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    show = models.ForeignKey(
        "shows.Show", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pin = models.ForeignKey(
        "shows.ShowPin", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["show", "pin"], name="catalog_orderline_show_pin")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"
