# The show's room and event log become shows' models (the show is the room). State only:
# the tables are chat's old ones, with their names, columns, indexes and constraints; chat
# 0005 drops them from chat's state. Depends on nothing of chat's.

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('shows', '0003_notification_hook_posts'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ShowRoom',
                    fields=[
                        ('last_seq', models.BigIntegerField(default=0)),
                        ('epoch', models.UUIDField(default=uuid.uuid4)),
                        ('peak_viewers', models.PositiveIntegerField(default=0)),
                        ('reaction_count', models.PositiveBigIntegerField(default=0)),
                        ('show', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='room', serialize=False, to='shows.show')),
                    ],
                    options={
                        'db_table': 'chat_showroom',
                    },
                ),
                migrations.CreateModel(
                    name='ShowEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('seq', models.BigIntegerField()),
                        ('type', models.CharField(max_length=40)),
                        ('data', models.JSONField()),
                        ('audience', models.CharField(choices=[('public', 'Everyone'), ('team', "The show's team"), ('user', 'One user and the team')], default='public', max_length=8)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('subject_id', models.BigIntegerField(blank=True, db_column='message_id', db_index=True, null=True)),
                        ('audience_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('show', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='shows.show')),
                    ],
                    options={
                        'db_table': 'chat_showevent',
                        'ordering': ['show', 'seq'],
                        'constraints': [models.UniqueConstraint(fields=('show', 'seq'), name='chat_showevent_unique_seq'), models.CheckConstraint(condition=models.Q(models.Q(('audience', 'user'), ('audience_user__isnull', False)), models.Q(models.Q(('audience', 'user'), _negated=True), ('audience_user__isnull', True)), _connector='OR'), name='chat_showevent_user_audience_has_user')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
