from django.apps import AppConfig


class DemoConfig(AppConfig):
    # Above every domain app: it seeds them all and runs the whole system, so
    # liveshop.common below them imports none of them.
    name = "liveshop.demo"
    label = "demo"
    verbose_name = "Demo"
