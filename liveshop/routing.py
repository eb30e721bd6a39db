"""Websocket routes: one show channel per show (docs/protocol.md)."""

from django.urls import path

from chat.consumers import ShowChannelConsumer

websocket_urlpatterns = [
    path("ws/shows/<str:public_id>/", ShowChannelConsumer.as_asgi()),
]
