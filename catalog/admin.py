from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from catalog.models import (
    IncomingWebhook,
    Order,
    OrderLine,
    Product,
    ProductImage,
    Storefront,
    Variant,
)
from catalog.services.stock import product_change_announce, variant_stock_set

# Shop and image addresses typed without a scheme are meant as https.
URL_FIELD_OVERRIDES: dict[type[models.Field], dict[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}


@admin.register(Storefront)
class StorefrontAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "currency", "low_stock_threshold")
    list_filter = ("kind", "currency")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    formfield_overrides = URL_FIELD_OVERRIDES


class VariantInlineForm(forms.ModelForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The stock shown when the page was drawn travels with the form, so
        # "changed" means the merchandiser typed a new value, not that buyers
        # bought units in the meantime.
        self.fields["stock_quantity"].show_hidden_initial = True


class VariantInline(admin.TabularInline):
    model = Variant
    form = VariantInlineForm
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

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: list, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        # Viewers of a show pinning the product see the edit (a price, a title) at once.
        product_change_announce(product_ids=[form.instance.pk])

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        if formset.model is not Variant:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)
        for variant in formset.deleted_objects:
            variant.delete()
        for variant in formset.new_objects:
            variant.save()
        for variant, changed in formset.changed_objects:
            # Saving the whole row would write back the stock shown when the
            # page was loaded, undoing every sale since. Stock is written only
            # when the merchandiser changed it, and then by the stock service.
            other_fields = [name for name in changed if name != "stock_quantity"]
            if other_fields:
                variant.save(update_fields=[*other_fields, "updated_at"])
            if "stock_quantity" in changed:
                variant_stock_set(
                    storefront=form.instance.storefront,
                    sku=variant.sku,
                    quantity=variant.stock_quantity,
                )


@admin.register(IncomingWebhook)
class IncomingWebhookAdmin(admin.ModelAdmin):
    list_display = ("webhook_id", "kind", "storefront", "received_at")
    list_filter = ("kind", "storefront")
    search_fields = ("webhook_id",)
    readonly_fields = ("storefront", "webhook_id", "kind", "received_at")

    def has_add_permission(self, request) -> bool:
        return False


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ("sku", "quantity", "unit_price", "show", "pin")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are written by the demo cart and the shops' webhooks only: read-only here."""

    list_display = ("external_id", "storefront", "source", "total", "currency", "created_at")
    list_filter = ("source", "storefront")
    list_select_related = ("storefront",)
    search_fields = ("external_id",)
    readonly_fields = (
        "storefront",
        "external_id",
        "source",
        "viewer_key",
        "currency",
        "total",
        "created_at",
    )
    inlines = (OrderLineInline,)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
