# The chat's settings of a show leave the room row (which moves to shows in 0005): a table
# of their own, filled from chat_showroom. Its own migration, so the rows are written in a
# transaction of their own before 0004 alters the tables they come from.

import django.db.models.deletion
from django.db import migrations, models


def settings_copy(apps, schema_editor):
    ShowRoom = apps.get_model("chat", "ShowRoom")
    ChatSettings = apps.get_model("chat", "ChatSettings")
    database = schema_editor.connection.alias
    rooms = ShowRoom.objects.using(database).values_list(
        "show_id", "slow_mode_seconds", "hold_links", "pinned_message_id"
    )
    ChatSettings.objects.using(database).bulk_create(
        [
            ChatSettings(
                show_id=show_id,
                slow_mode_seconds=slow_mode_seconds,
                hold_links=hold_links,
                pinned_message_id=pinned_message_id,
            )
            for show_id, slow_mode_seconds, hold_links, pinned_message_id in rooms.iterator()
        ],
        batch_size=1000,
    )


def settings_copy_back(apps, schema_editor):
    ShowRoom = apps.get_model("chat", "ShowRoom")
    ChatSettings = apps.get_model("chat", "ChatSettings")
    database = schema_editor.connection.alias
    for chat_settings in ChatSettings.objects.using(database).iterator():
        ShowRoom.objects.using(database).filter(show_id=chat_settings.show_id).update(
            slow_mode_seconds=chat_settings.slow_mode_seconds,
            hold_links=chat_settings.hold_links,
            pinned_message_id=chat_settings.pinned_message_id,
        )


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0002_moderationaction_hold_links'),
        ('shows', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='ChatSettings',
            fields=[
                ('show', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='chat_settings', serialize=False, to='shows.show')),
                ('slow_mode_seconds', models.PositiveIntegerField(default=0)),
                ('hold_links', models.BooleanField(default=True, help_text='Hold messages with links from non-team users for review.')),
                ('pinned_message', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='chat.chatmessage')),
            ],
        ),
        migrations.RunPython(settings_copy, settings_copy_back),
    ]
