"""Test settings: the same base, with fast hashing and eager Celery."""

from liveshop.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Websocket tests reach the database from worker threads; closing each thread's
# connection after use lets the test database be dropped at the end.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
