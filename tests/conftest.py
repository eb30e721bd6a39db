"""Fixtures shared by the whole suite.

Tests that need a real engine carry ``@pytest.mark.postgres`` or
``@pytest.mark.redis``. Without the engine they skip and say why; under
``CI=true`` the same situation fails, because CI must test on the real engines.
"""

import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from tests import factories

pytest_plugins = ["tests.browser"]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _engine_missing(item: pytest.Item, reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}: this test must run on the real engine in CI.")
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and not settings.DATABASES["default"]["ENGINE"].endswith(
        "postgresql"
    ):
        _engine_missing(item, "needs PostgreSQL: set DATABASE_URL=postgres://...")
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        _engine_missing(item, "needs Redis: set REDIS_URL=redis://...")
    if item.get_closest_marker("browser"):
        from tests.browser import chromium_path

        if chromium_path() is None:
            _engine_missing(item, "needs chromium: apt-get install chromium")
    if item.get_closest_marker("media"):
        from video.mediaserver import INSTALL_HINT, media_tools_missing

        missing = media_tools_missing()
        if missing:
            _engine_missing(item, f"needs {', '.join(missing)}: {INSTALL_HINT}")
    if item.get_closest_marker("turn"):
        from consultations.turnserver import INSTALL_HINT as TURN_INSTALL_HINT
        from consultations.turnserver import turn_tools_missing

        missing = turn_tools_missing()
        if missing:
            _engine_missing(item, f"needs {', '.join(missing)}: {TURN_INSTALL_HINT}")


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and not (settings.DATABASE_URL and settings.REDIS_URL):
        raise pytest.UsageError("CI=true needs DATABASE_URL and REDIS_URL (see .ci/run).")


@pytest.fixture
def throwaway_redis(request):
    """A redis-server of this test's own (tests.servers.RedisServer), started; stopped after.

    For tests that stop Redis mid-test: the suite's Redis is shared and stays up.
    """
    from tests.servers import RedisServer, redis_server_installed

    if not redis_server_installed():
        _engine_missing(request.node, "needs redis-server: apt-get install redis-server")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def _celery_pools_reset(app) -> None:
    # The app and kombu's process-wide registries keep broker connections and producers
    # once made (eager tasks take a producer too); drop them all so the next publish
    # connects to the broker the conf names now.
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def celery_broker_down(throwaway_redis):
    """Celery publishing for real (not eager) to a Redis broker that was just killed.

    A publish then fails as in production during an outage (``kombu``'s
    ``OperationalError``). The app's broker settings are restored afterwards.
    """
    from liveshop.celery import app

    throwaway_redis.stop()
    saved = (app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_always_eager)
    _celery_pools_reset(app)
    app.conf.broker_url = throwaway_redis.url
    app.conf.broker_transport_options = {}
    app.conf.task_always_eager = False
    yield throwaway_redis
    _celery_pools_reset(app)
    app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_always_eager = saved


@pytest.fixture(autouse=True)
def _clear_cache():
    from liveshop.common import cache as cache_module
    from realtime import broker

    cache.clear()
    cache_module._local.clear()
    # A test that made Redis fail must not leave the next one skipping it.
    cache_module._redis_skip_until = broker._publish_skip_until = 0.0
    yield
    cache.clear()
    cache_module._local.clear()
    cache_module._redis_skip_until = broker._publish_skip_until = 0.0


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user_factory():
    return factories.UserFactory


@pytest.fixture
def viewer(db):
    return factories.UserFactory(role="viewer")


@pytest.fixture
def merchandiser(db):
    return factories.UserFactory(role="merchandiser", is_staff=True)


@pytest.fixture
def storefront(db):
    return factories.StorefrontFactory()


@pytest.fixture
def product_factory(db):
    return factories.ProductFactory


@pytest.fixture
def variant_factory(db):
    return factories.VariantFactory


@pytest.fixture
def channel(db):
    return factories.ChannelFactory()


@pytest.fixture
def show_factory(db):
    return factories.ShowFactory


@pytest.fixture
def media_dir(settings, tmp_path):
    """The media folder (HLS, recordings, VOD) in a temporary directory."""
    settings.LIVESHOP_VIDEO_DIR = tmp_path
    settings.LIVESHOP_VIDEO_HTTP_URL = "http://media.example"
    for name in ("hls", "rec"):
        (tmp_path / name).mkdir()
    return tmp_path


@pytest.fixture
def show_stream_factory(db):
    return factories.ShowStreamFactory


@pytest.fixture
def show_member_factory(db):
    return factories.ShowMemberFactory


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user=user)
    return client


@pytest.fixture
def merchandiser_client(db) -> Client:
    """A browser session of a merchandiser made the way the admin makes one."""
    from liveshop.accounts.services import user_create

    user = user_create(username="mia", password=None, role="merchandiser")
    client = Client()
    client.force_login(user)
    client.user = user
    return client
