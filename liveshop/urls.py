from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from liveshop.common.throttling import login_form_throttled
from liveshop.common.views import api_not_found
from video.urls import hook_urlpatterns
from web.views import admin_login_refused

api_v1: list[URLPattern | URLResolver] = [
    path("", include("liveshop.accounts.urls")),
    path("", include("catalog.urls")),
    path("", include("shows.urls")),
    path("", include("chat.urls")),
    path("", include("video.urls")),
    path("", include("consultations.urls")),
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # [\s\S], not ".": a path with an encoded newline (%0A) is an unknown path too.
    re_path(r"^(?P<path>[\s\S]*)$", api_not_found),
]

urlpatterns = [
    # The admin's sign-in form takes password guesses too: the same throttles as /login/.
    path("admin/login/", login_form_throttled(admin.site.login, refuse=admin_login_refused)),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("hooks/", include(hook_urlpatterns)),
    path("shop/", include("shows.shop_urls")),
    path("shop/", include("catalog.shop_urls")),
    path("", include("web.urls")),
]

handler400 = "liveshop.common.views.bad_request"
handler404 = "liveshop.common.views.not_found"
handler500 = "liveshop.common.views.server_failure"
