from django.urls import path

from shows import views

# Under /shop/, next to the demo shop's pages (catalog.shop_urls): cards carry these URLs.
urlpatterns = [
    path("go/<str:token>", views.cart_link_redirect, name="shop-link"),
]
