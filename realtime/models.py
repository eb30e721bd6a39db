"""What the real-time core defines for every room kind's log. No concrete models: each kind
brings its own two tables, subclasses of ``RoomState`` and ``RoomEvent``
(docs/design/structure.md, 2.2), and names its own constraints."""

import uuid

from django.conf import settings
from django.db import models


class Audience(models.TextChoices):
    """Who may see an event: everyone, the room's team, or one user (plus the team)."""

    PUBLIC = "public", "Everyone"
    TEAM = "team", "The show's team"
    USER = "user", "One user and the team"


class RoomState(models.Model):
    """The live state of one room: its log position and what the hub records.

    ``last_seq`` is advanced only by ``realtime.log``, inside the writing transaction,
    which serialises every writer of the room on this row. A concrete subclass's primary
    key is the room's key (the show's, for the show kind).
    """

    last_seq = models.BigIntegerField(default=0)
    # A new epoch tells resuming clients that positions from before are meaningless.
    epoch = models.UUIDField(default=uuid.uuid4)
    peak_viewers = models.PositiveIntegerField(default=0)
    reaction_count = models.PositiveBigIntegerField(default=0)

    class Meta:
        abstract = True


class RoomEvent(models.Model):
    """One entry of a room's durable, sequenced event log.

    A concrete subclass adds the foreign key to its room (``RoomKind.key_field``) and the
    unique (room, seq) constraint. ``subject_id`` is what the event is about, if anything
    (a chat message, for the show kind): a plain id, so the log depends on no other table.
    """

    seq = models.BigIntegerField()
    type = models.CharField(max_length=40)
    data = models.JSONField()
    audience = models.CharField(max_length=8, choices=Audience.choices, default=Audience.PUBLIC)
    audience_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    subject_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
