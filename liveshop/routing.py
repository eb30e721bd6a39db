"""Websocket routes of every app; the show channel arrives with the chat app."""

websocket_urlpatterns: list = []
