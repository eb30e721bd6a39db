from django.contrib.auth import views as auth_views
from django.urls import path

# Importing shows.urls registers the ``public_id`` converter used below.
import shows.urls  # noqa: F401
from liveshop.common.throttling import login_form_throttled
from web import views

urlpatterns = [
    path("", views.schedule_page, name="web-schedule"),
    path("channels/<slug:slug>/", views.schedule_page, name="web-channel-schedule"),
    path("shows/<public_id:public_id>/", views.show_page, name="web-show"),
    path("studio/shows/<public_id:public_id>/", views.studio_page, name="web-studio"),
    path(
        "login/",
        login_form_throttled(
            auth_views.LoginView.as_view(
                template_name="web/login.html", redirect_authenticated_user=True
            ),
            refuse=views.login_refused,
        ),
        name="web-login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="web-schedule"), name="web-logout"),
]
