from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "liveshop.accounts"
    label = "accounts"
    verbose_name = "Accounts"
