"""Existing merchandisers manage the desks too.

New merchandisers get the permissions when their account is made
(``liveshop.accounts.services.merchandiser_group_ensure``); this gives them to the group that
already exists. Permissions are normally created after the last migration, so they are created
here first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Merchandisers"  # liveshop.accounts.services.MERCHANDISER_GROUP_NAME


def merchandisers_manage_desks(apps, schema_editor):
    app_config = apps.get_app_config("consultations")
    # A migration's app config has no models module; create_permissions skips those.
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group is None:
        return
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="consultations")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("consultations", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(merchandisers_manage_desks, migrations.RunPython.noop)]
