"""Request throttles of the REST API and the sign-in forms, kept in the shared cache.

DRF's throttles count requests in the default cache: Redis with ``REDIS_URL``,
so every server process counts together; the local-memory cache of one
process in the embedded mode. Rates are the ``DEFAULT_THROTTLE_RATES`` of
``REST_FRAMEWORK`` (docs/settings.md). A refusal is a 429 in the API's error
shape with ``Retry-After`` (``liveshop.common.exception_handler``). While Redis
is down they count in the process (``liveshop.common.cache``), as rate limits do:
an outage must not turn every write into a 500.
"""

import hashlib
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from liveshop.common.cache import cache_value_get, cache_value_set

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class _ThrottleCache:
    """The two calls DRF's throttles make, through the helpers that survive a Redis outage."""

    def get(self, key: str, default=None):
        value = cache_value_get(key=key)
        return default if value is None else value

    def set(self, key: str, value, timeout: int | None = None) -> None:
        cache_value_set(key=key, value=value, timeout=timeout)


class SharedCacheThrottle(SimpleRateThrottle):
    """A DRF throttle counting in the shared cache, or in this process while Redis fails."""

    # Duck-typed: SimpleRateThrottle calls only get and set.
    cache = _ThrottleCache()  # type: ignore[assignment]


class LoginAddressThrottle(SharedCacheThrottle):
    """Password guesses from one client address (``login``)."""

    scope = "login"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginUsernameThrottle(SharedCacheThrottle):
    """Password guesses for one username, from any address (``login_username``).

    Counted on the case-folded name, hashed so any input makes a valid cache key.
    """

    scope = "login_username"

    def get_cache_key(self, request, view) -> str | None:
        data = getattr(request, "data", None)
        if data is None:
            data = request.POST
        username = data.get("username") if hasattr(data, "get") else None
        if not isinstance(username, str) or not username.strip():
            return None
        digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}


class WriteThrottle(SharedCacheThrottle):
    """Writes (every method but GET, HEAD, OPTIONS) per user, or per address when anonymous."""

    scope = "write"

    def get_cache_key(self, request, view) -> str | None:
        if request.method in SAFE_METHODS:
            return None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ident = f"user-{user.pk}"
        else:
            ident = f"address-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


LOGIN_THROTTLES = (LoginAddressThrottle, LoginUsernameThrottle)


def login_throttle_wait(*, request: HttpRequest | Request) -> float | None:
    """Count one sign-in attempt; ``None`` if allowed, else the seconds until the next is.

    Every throttle that lets the attempt through records it, so an address and a
    username are each counted however the other fares.
    """
    waits = []
    for throttle_class in LOGIN_THROTTLES:
        throttle = throttle_class()
        # The sign-in forms pass Django's HttpRequest and no view: these throttles read
        # only the address (META) and the posted username.
        if not throttle.allow_request(request, None):  # type: ignore[arg-type]
            waits.append(throttle.wait() or 1)
    return max(waits) if waits else None


def login_form_throttled(
    view: Callable[..., HttpResponseBase],
    *,
    refuse: Callable[[HttpRequest, float], HttpResponse],
) -> Callable[..., HttpResponseBase]:
    """Wrap a Django sign-in view: a POST over the login rates gets ``refuse(request, wait)``."""

    def throttled(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.method == "POST":
            wait = login_throttle_wait(request=request)
            if wait is not None:
                response = refuse(request, wait)
                response["Retry-After"] = str(int(wait) or 1)
                return response
        return view(request, *args, **kwargs)

    return throttled
