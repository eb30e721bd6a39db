from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from chat.services import system_message_on_transition
        from shows.lifecycle import show_transition_listener_register

        show_transition_listener_register(system_message_on_transition)

        # The chat's parts of a show's snapshot and its inbound frames (chat/rooms.py).
        from chat.rooms import chat_room_install

        chat_room_install()
