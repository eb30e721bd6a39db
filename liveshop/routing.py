"""Websocket routes: one socket per show, one per 24/7 channel (docs/protocol.md)."""

from django.urls import path

from realtime.consumers import RoomConsumer
from video.consumers import ChannelNowPlayingConsumer

# Channels routes ASGI applications through Django's path() (its documented idiom), while
# django-stubs type path() for HTTP views only and types-channels' URLRouter for a pattern class
# that no public function returns: these ignores and the one in asgi.py are those gaps.
websocket_urlpatterns = [
    # A show is a room of the kind "show" (shows/rooms.py; chat and video add to it).
    path("ws/shows/<str:public_id>/", RoomConsumer.as_asgi(kind="show")),  # type: ignore[arg-type]
    path("ws/channels/<slug:slug>/", ChannelNowPlayingConsumer.as_asgi()),  # type: ignore[arg-type]
]
