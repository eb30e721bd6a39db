from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "liveshop.common"
    label = "common"
    verbose_name = "liveshop"
