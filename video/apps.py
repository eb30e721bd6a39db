from django.apps import AppConfig


class VideoConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "video"

    def ready(self) -> None:
        from shows.lifecycle import show_end_listener_register, show_transition_listener_register
        from shows.replays import show_replay_rule_install
        from video.selectors import show_has_visible_replay_q
        from video.services import channel_now_playing_on_transition, show_replay_announce

        show_transition_listener_register(channel_now_playing_on_transition)
        show_end_listener_register(show_replay_announce)
        show_replay_rule_install(show_has_visible_replay_q)

        # The playback part of a show's snapshot (video/rooms.py).
        from video.rooms import video_room_install

        video_room_install()
