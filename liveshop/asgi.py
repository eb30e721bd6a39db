"""ASGI entry point: HTTP through Django, the show sockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveshop.settings")
django_asgi_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from liveshop.routing import websocket_urlpatterns  # noqa: E402
from liveshop.runtime import runtime_mode_log  # noqa: E402
from liveshop.servers import asgi_process_tune  # noqa: E402
from realtime.auth import SocketAuthMiddleware  # noqa: E402

runtime_mode_log("ASGI server")

asgi_process_tune()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_application,
        # The middleware checks Origin itself: cookies count only from allow-listed
        # origins, while token and ticket clients (mobile apps) may send none.
        # ignore: types-channels wants its _ExtendedURLPattern, which no path() is typed to
        # return (liveshop/routing.py says why).
        "websocket": SocketAuthMiddleware(URLRouter(websocket_urlpatterns)),  # type: ignore[arg-type]
    }
)
