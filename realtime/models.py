"""What the real-time core defines for every room kind's log. No concrete models: each kind
brings its own tables (docs/design/structure.md, 2.2)."""

from django.db import models


class Audience(models.TextChoices):
    """Who may see an event: everyone, the room's team, or one user (plus the team)."""

    PUBLIC = "public", "Everyone"
    TEAM = "team", "The show's team"
    USER = "user", "One user and the team"
