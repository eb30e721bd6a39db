from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A liveshop account.

    ``role`` is the account's site-wide role. Power over one show comes from
    ``shows.ShowMember`` (host, moderator, service staff of that show), so a
    moderator of one show has none over another.
    """

    class Role(models.TextChoices):
        VIEWER = "viewer", "Viewer"
        HOST = "host", "Host"
        MODERATOR = "moderator", "Moderator"
        SERVICE_STAFF = "service_staff", "Service staff"
        MERCHANDISER = "merchandiser", "Merchandiser"
        ADMIN = "admin", "Admin"

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    display_name = models.CharField(max_length=80, blank=True)

    class Meta:
        db_table = "accounts_user"

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_merchandiser(self) -> bool:
        """Merchandisers and admins manage every show and the catalog."""
        return self.is_active and (
            self.is_superuser or self.role in {self.Role.MERCHANDISER, self.Role.ADMIN}
        )
