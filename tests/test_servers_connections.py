"""A real server process does not pile up database connections, one per request."""

import httpx
import pytest
from django.db import connection

from tests.servers import servers_running

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_http_requests_leave_no_database_connection_open(transactional_db, server):
    # Production settings: persistent connections (the test settings turn them off).
    with servers_running(
        (server,),
        DJANGO_SETTINGS_MODULE="liveshop.settings",
        DATABASE_CONN_MAX_AGE="60",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
    ) as ports:
        for _ in range(20):
            response = httpx.get(f"http://127.0.0.1:{ports[server]}/api/v1/channels", timeout=10)
            assert response.status_code == 200
        # Each request ran in a thread of its own; before the middleware closed its
        # connection, every one of the 20 stayed open.
        assert _other_connections() == 0
