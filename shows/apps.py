from django.apps import AppConfig


class ShowsConfig(AppConfig):
    name = "shows"
    verbose_name = "Shows"

    def ready(self) -> None:
        # catalog is below shows and calls up through its hooks (catalog/hooks.py).
        from catalog.hooks import catalog_hooks_install
        from shows.catalog_hooks import shows_catalog_hooks

        catalog_hooks_install(shows_catalog_hooks())

        # Every show is a room of the real-time core (realtime/rooms.py).
        from shows.rooms import show_room_kind_install

        show_room_kind_install()
