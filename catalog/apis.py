"""REST adapters of the catalog: public product reads and the signed shop stock webhook."""

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Product, Variant
from catalog.selectors import (
    product_get,
    product_list,
    storefront_get_by_slug,
    variant_stock_state,
)
from catalog.services.imports import ISO_4217_CODES
from catalog.services.stock import MAX_STOCK_QUANTITY
from catalog.services.webhooks import (
    OrderLineInput,
    StockUpdate,
    storefront_order_webhook_apply,
    storefront_stock_webhook_apply,
)
from liveshop.common.exceptions import ApplicationError
from liveshop.common.pagination import PagePagination, page_serializer_build
from liveshop.common.webhooks import webhook_signature_verify


class VariantOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    sku = serializers.CharField()
    title = serializers.CharField()
    options = serializers.DictField(child=serializers.CharField())
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    compare_at_price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    stock_quantity = serializers.IntegerField()
    stock_state = serializers.SerializerMethodField()

    def get_stock_state(self, variant: Variant) -> str:
        return variant_stock_state(
            quantity=variant.stock_quantity,
            low_stock_threshold=variant.product.storefront.low_stock_threshold,
        )


class ImageOutputSerializer(serializers.Serializer):
    url = serializers.URLField()
    alt_text = serializers.CharField()


class StorefrontOutputSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class ProductListApi(APIView):
    """Active products, searchable and filterable; public."""

    class OutputSerializer(serializers.Serializer):
        class Meta:
            # Nested serializers share class names across APIs; the schema
            # needs a distinct component name for each.
            ref_name = "ProductListItem"

        id = serializers.IntegerField(source="pk")
        handle = serializers.CharField()
        title = serializers.CharField()
        storefront = StorefrontOutputSerializer()
        image_url = serializers.SerializerMethodField()
        min_price = serializers.SerializerMethodField()
        currency = serializers.SerializerMethodField()
        stock_quantity = serializers.SerializerMethodField()
        stock_state = serializers.SerializerMethodField()

        def get_image_url(self, product: Product) -> str | None:
            images = list(product.images.all())
            return images[0].url if images else None

        # Served as a string like every price (a float would round it).
        @extend_schema_field(
            serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
        )
        def get_min_price(self, product: Product) -> str | None:
            prices = [variant.price for variant in product.variants.all()]
            return f"{min(prices):.2f}" if prices else None

        def get_currency(self, product: Product) -> str:
            variants = list(product.variants.all())
            return variants[0].currency if variants else product.storefront.currency

        def get_stock_quantity(self, product: Product) -> int:
            return sum(variant.stock_quantity for variant in product.variants.all())

        def get_stock_state(self, product: Product) -> str:
            return variant_stock_state(
                quantity=self.get_stock_quantity(product),
                low_stock_threshold=product.storefront.low_stock_threshold,
            )

    @extend_schema(
        operation_id="product_list",
        parameters=[
            OpenApiParameter("q", str, description="Search in title, handle and SKU."),
            OpenApiParameter("storefront", str, description="Storefront slug."),
            OpenApiParameter("in_stock", str, enum=["true", "false"]),
            OpenApiParameter("min_price", OpenApiTypes.DECIMAL),
            OpenApiParameter("max_price", OpenApiTypes.DECIMAL),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={
            200: page_serializer_build(item_serializer=OutputSerializer, name="ProductPage")
        },
    )
    def get(self, request: Request) -> Response:
        products = product_list(filters=request.query_params)
        paginator = PagePagination()
        page = paginator.paginate_queryset(products, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class ProductDetailApi(APIView):
    """One active product with its images and variants; public."""

    class OutputSerializer(serializers.Serializer):
        class Meta:
            # Nested serializers share class names across APIs; the schema
            # needs a distinct component name for each.
            ref_name = "ProductDetail"

        id = serializers.IntegerField(source="pk")
        handle = serializers.CharField()
        title = serializers.CharField()
        description = serializers.CharField()
        storefront = StorefrontOutputSerializer()
        images = ImageOutputSerializer(many=True, source="images.all")
        # The reverse-FK prefetch caches each variant's product (and its
        # select_related storefront), so stock_state costs no extra query.
        variants = VariantOutputSerializer(many=True, source="variants.all")

    @extend_schema(operation_id="product_detail", responses={200: OutputSerializer})
    def get(self, request: Request, product_id: int) -> Response:
        product = product_get(product_id=product_id)
        return Response(self.OutputSerializer(product).data)


def _signed_body_validate(*, request: Request, slug: str, serializer_class: type) -> tuple:
    """The storefront and the validated body of a shop webhook (else 404, 401, 400)."""
    storefront = storefront_get_by_slug(slug=slug)
    # The signature covers the exact bytes sent, so verify before parsing.
    body = request.body
    webhook_id = request.headers.get("webhook-id", "")
    webhook_signature_verify(
        secret=storefront.webhook_secret,
        webhook_id=webhook_id,
        timestamp=request.headers.get("webhook-timestamp", ""),
        signature_header=request.headers.get("webhook-signature", ""),
        body=body,
        tolerance_seconds=settings.LIVESHOP_WEBHOOK_TOLERANCE_SECONDS,
    )
    if len(webhook_id) > 100:
        raise ApplicationError("webhook-id is longer than 100 characters.")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise ApplicationError("The body is not valid JSON.", code="parse_error") from error
    serializer = serializer_class(data=payload)
    serializer.is_valid(raise_exception=True)
    return storefront, serializer.validated_data


WEBHOOK_HEADERS = [
    OpenApiParameter("webhook-id", str, OpenApiParameter.HEADER, required=True),
    OpenApiParameter("webhook-timestamp", str, OpenApiParameter.HEADER, required=True),
    OpenApiParameter("webhook-signature", str, OpenApiParameter.HEADER, required=True),
]


class StorefrontStockWebhookApi(APIView):
    """Stock updates pushed by a shop, signed Standard-Webhooks style with its secret.

    The signature is the only credential: no session, no CSRF. A delivery
    whose ``webhook-id`` was already applied answers ``{"status": "duplicate"}``.
    """

    authentication_classes: list = []
    permission_classes: list = []
    # Signed machine deliveries: a shop's burst of stock updates must not be refused.
    throttle_classes: list = []

    class InputSerializer(serializers.Serializer):
        class UpdateSerializer(serializers.Serializer):
            sku = serializers.CharField(max_length=64)
            quantity = serializers.IntegerField(
                required=False, min_value=0, max_value=MAX_STOCK_QUANTITY
            )
            delta = serializers.IntegerField(
                required=False, min_value=-MAX_STOCK_QUANTITY, max_value=MAX_STOCK_QUANTITY
            )

            def validate(self, attrs: dict) -> dict:
                if ("quantity" in attrs) == ("delta" in attrs):
                    raise serializers.ValidationError(
                        "Give exactly one of quantity and delta.", code="invalid_update"
                    )
                return attrs

            class Meta:
                ref_name = "StorefrontStockUpdate"

        # ListSerializer spelled out: the DRF stubs do not know that many=True passes max_length.
        updates: serializers.ListSerializer[Any] = serializers.ListSerializer(
            child=UpdateSerializer(), allow_empty=False, max_length=1000
        )

        class Meta:
            ref_name = "StorefrontStockWebhook"

    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["applied", "duplicate"])

        class Meta:
            ref_name = "StorefrontStockWebhookResult"

    @extend_schema(
        operation_id="storefront_stock_webhook",
        request=InputSerializer,
        responses={200: OutputSerializer},
        parameters=WEBHOOK_HEADERS,
    )
    def post(self, request: Request, slug: str) -> Response:
        storefront, data = _signed_body_validate(
            request=request, slug=slug, serializer_class=self.InputSerializer
        )
        status = storefront_stock_webhook_apply(
            storefront=storefront,
            webhook_id=request.headers["webhook-id"],
            updates=[StockUpdate(**update) for update in data["updates"]],
        )
        return Response(self.OutputSerializer({"status": status}).data)


class StorefrontOrderWebhookApi(APIView):
    """Orders reported by a shop, signed like the stock webhook, stored once per order id.

    ``attribution`` carries back the ``ls_show`` and ``ls_pin`` parameters of
    the add-to-cart link (Shopify: the cart attributes of the same names).
    """

    authentication_classes: list = []
    permission_classes: list = []
    # Signed machine deliveries: a shop's burst of stock updates must not be refused.
    throttle_classes: list = []

    class InputSerializer(serializers.Serializer):
        class LineSerializer(serializers.Serializer):
            sku = serializers.CharField(max_length=64)
            quantity = serializers.IntegerField(min_value=1, max_value=10_000)
            unit_price = serializers.DecimalField(
                max_digits=10, decimal_places=2, min_value=Decimal("0")
            )

            class Meta:
                ref_name = "StorefrontOrderLine"

        class AttributionSerializer(serializers.Serializer):
            ls_show = serializers.CharField(max_length=16, required=False, allow_blank=True)
            ls_pin = serializers.IntegerField(required=False, allow_null=True, min_value=1)

            class Meta:
                ref_name = "StorefrontOrderAttribution"

        id = serializers.CharField(max_length=100)
        currency = serializers.ChoiceField(choices=sorted(ISO_4217_CODES))
        lines: serializers.ListSerializer[Any] = serializers.ListSerializer(
            child=LineSerializer(), allow_empty=False, max_length=500
        )
        attribution = AttributionSerializer(required=False)

        class Meta:
            ref_name = "StorefrontOrderWebhook"

    @extend_schema(
        operation_id="storefront_order_webhook",
        request=InputSerializer,
        responses={200: StorefrontStockWebhookApi.OutputSerializer},
        parameters=WEBHOOK_HEADERS,
    )
    def post(self, request: Request, slug: str) -> Response:
        storefront, data = _signed_body_validate(
            request=request, slug=slug, serializer_class=self.InputSerializer
        )
        attribution = data.get("attribution", {})
        status = storefront_order_webhook_apply(
            storefront=storefront,
            order_id=data["id"],
            currency=data["currency"],
            lines=[OrderLineInput(**line) for line in data["lines"]],
            show_public_id=attribution.get("ls_show", ""),
            pin_id=attribution.get("ls_pin"),
        )
        return Response(StorefrontStockWebhookApi.OutputSerializer({"status": status}).data)
