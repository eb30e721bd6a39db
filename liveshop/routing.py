"""Websocket routes: one socket per show, one per 24/7 channel (docs/protocol.md)."""

from django.urls import path

from chat.consumers import ShowChannelConsumer
from video.consumers import ChannelNowPlayingConsumer

websocket_urlpatterns = [
    path("ws/shows/<str:public_id>/", ShowChannelConsumer.as_asgi()),
    path("ws/channels/<slug:slug>/", ChannelNowPlayingConsumer.as_asgi()),
]
