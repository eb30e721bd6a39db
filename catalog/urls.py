from django.urls import path

from catalog import apis

urlpatterns = [
    path("products", apis.ProductListApi.as_view(), name="product-list"),
    path("products/<int:product_id>", apis.ProductDetailApi.as_view(), name="product-detail"),
    path(
        "webhooks/storefronts/<slug:slug>/stock",
        apis.StorefrontStockWebhookApi.as_view(),
        name="storefront-stock-webhook",
    ),
    path(
        "webhooks/storefronts/<slug:slug>/orders",
        apis.StorefrontOrderWebhookApi.as_view(),
        name="storefront-order-webhook",
    ),
]
