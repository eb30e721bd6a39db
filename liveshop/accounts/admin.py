from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from liveshop.accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "email", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_superuser", "is_active")
    # Django's UserAdmin sets fieldsets; the stubs type the attribute as optional.
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("liveshop", {"fields": ("role", "display_name")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("liveshop", {"fields": ("role", "display_name", "email")}),
    )
