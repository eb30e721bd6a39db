"""Which engines this process runs on, for the start-up log."""

import logging

from django.conf import settings

logger = logging.getLogger("liveshop")


def runtime_database_describe() -> str:
    """The database this process uses, without credentials: "PostgreSQL at h:p/name"."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql"):
        host = database.get("HOST") or "local socket"
        port = database.get("PORT") or 5432
        return f"PostgreSQL at {host}:{port}/{database['NAME']}"
    return f"SQLite at {database['NAME']}"


def runtime_mode_describe() -> str:
    database = settings.DATABASES["default"]
    database_text = runtime_database_describe()
    if settings.REDIS_URL:
        mode = "Redis/PostgreSQL" if database["ENGINE"].endswith("postgresql") else "Redis/SQLite"
        layer_text = "show events over Redis pub/sub, Redis cache, Celery broker on Redis"
    else:
        mode = "embedded"
        layer_text = (
            "in-process event broker (one server process only), local-memory cache, "
            "Celery on Kombu's filesystem transport"
        )
    return f"liveshop mode: {mode} ({database_text}; {layer_text})"


def runtime_mode_log(process: str) -> None:
    logger.info("%s starting. %s", process, runtime_mode_describe())
