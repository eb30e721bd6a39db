# The show's room and log are shows' now (shows 0004 took them over in its state): chat
# forgets them. No SQL: the tables stay, with their names.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0004_showroom_showevent_chat_columns'),
        ('shows', '0004_show_room_state'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='ShowEvent',
                ),
                migrations.DeleteModel(
                    name='ShowRoom',
                ),
            ],
            database_operations=[],
        ),
    ]
