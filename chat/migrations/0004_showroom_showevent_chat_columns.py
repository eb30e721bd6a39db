# What of the room and the log is chat's leaves them, so they can move to shows (0005):
# the settings columns (copied by 0003), and the log's foreign key to a chat message, which
# becomes a plain id with the same column (its constraint dropped, no data touched).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0003_chatsettings'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='showroom',
            name='slow_mode_seconds',
        ),
        migrations.RemoveField(
            model_name='showroom',
            name='hold_links',
        ),
        migrations.RemoveField(
            model_name='showroom',
            name='pinned_message',
        ),
        migrations.AlterField(
            model_name='showevent',
            name='message',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='chat.chatmessage'),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='showevent',
                    name='message',
                ),
                migrations.AddField(
                    model_name='showevent',
                    name='subject_id',
                    field=models.BigIntegerField(blank=True, db_column='message_id', db_index=True, null=True),
                ),
            ],
            database_operations=[],
        ),
    ]
