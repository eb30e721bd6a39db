from django.contrib import admin
from django.db import models

from catalog.models import IncomingWebhook, Product, ProductImage, Storefront, Variant

# Shop and image addresses typed without a scheme are meant as https.
URL_FIELD_OVERRIDES = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Storefront)
class StorefrontAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "currency", "low_stock_threshold")
    list_filter = ("kind", "currency")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    formfield_overrides = URL_FIELD_OVERRIDES


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = (
        "sku",
        "title",
        "options",
        "external_id",
        "price",
        "compare_at_price",
        "currency",
        "stock_quantity",
        "position",
    )


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ("url", "alt_text", "position")
    formfield_overrides = URL_FIELD_OVERRIDES


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("title", "handle", "storefront", "is_active", "updated_at")
    list_filter = ("is_active", "storefront")
    list_select_related = ("storefront",)
    # Other admins (the show lineup) autocomplete products by these fields.
    search_fields = ("title", "handle", "variants__sku")
    inlines = (VariantInline, ProductImageInline)


@admin.register(IncomingWebhook)
class IncomingWebhookAdmin(admin.ModelAdmin):
    list_display = ("webhook_id", "kind", "storefront", "received_at")
    list_filter = ("kind", "storefront")
    search_fields = ("webhook_id",)
    readonly_fields = ("storefront", "webhook_id", "kind", "received_at")

    def has_add_permission(self, request) -> bool:
        return False
