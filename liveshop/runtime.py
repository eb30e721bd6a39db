"""Which engines this process runs on, for the start-up log."""

import logging

from django.conf import settings

logger = logging.getLogger("liveshop")


def runtime_mode_describe() -> str:
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql"):
        host = database.get("HOST") or "local socket"
        port = database.get("PORT") or 5432
        database_text = f"PostgreSQL at {host}:{port}/{database['NAME']}"
    else:
        database_text = f"SQLite at {database['NAME']}"
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
