from django.urls import path

from catalog import views

urlpatterns = [
    path("cart", views.cart_detail, name="shop-cart"),
    path("cart/add", views.cart_add, name="shop-cart-add"),
    path("cart/lines/<int:variant_id>", views.cart_line_update, name="shop-cart-line"),
    path(
        "cart/lines/<int:variant_id>/remove",
        views.cart_line_delete,
        name="shop-cart-line-remove",
    ),
    path("cart/order", views.cart_order, name="shop-order"),
]
