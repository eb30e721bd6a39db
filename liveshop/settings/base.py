"""Settings for every environment.

Production differences come only from environment variables (docs/settings.md).
With no environment set, liveshop runs embedded: SQLite, the in-process channel
layer, a local-memory cache and Celery on Kombu's filesystem transport, so a
fresh machine needs nothing but Python.
"""

import hashlib
import re
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from liveshop.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("LIVESHOP_VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off: refusing to start "
            "with a publicly known key."
        )
    SECRET_KEY = "liveshop-insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
PUBLIC_BASE_URL = env_str("LIVESHOP_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "liveshop.accounts",
    "liveshop.common",
    "realtime",
    "catalog",
    "shows",
    "chat",
    "video",
    "consultations",
    "web",
    # Above the domains: demo data and the `make run` / `make demo-stream` commands.
    "liveshop.demo",
]

MIDDLEWARE = [
    # Outermost, so it closes the request's connections after every other middleware.
    "liveshop.common.middleware.AsgiRequestConnectionsCloseMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "liveshop.urls"
WSGI_APPLICATION = "liveshop.wsgi.application"
ASGI_APPLICATION = "liveshop.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "liveshop" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Engines: embedded by default, PostgreSQL and Redis when configured -------

DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
LIVESHOP_REDIS_PREFIX = env_str("LIVESHOP_REDIS_PREFIX", "liveshop")

if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
    if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...).")
else:
    # SQLite cannot create the folder its file lives in.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "liveshop.sqlite3"),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so the ASGI server and
                # the Celery worker wait for each other instead of failing with
                # "database is locked" halfway through a transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

# No CHANNEL_LAYERS: the sockets fan out through the broker and each process's hub
# (docs/realtime.md, "Why no channel layer"), so Channels finds no layer and opens none.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "liveshop.common.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": LIVESHOP_REDIS_PREFIX,
            # An unreachable Redis costs a request two seconds at most, not a hang:
            # liveshop.common.cache then keeps values in the process.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"

LOGIN_URL = "admin:login"
# Where /login/ leads without ?next=: the viewer schedule, a page everyone has
# (Django's default, /accounts/profile/, does not exist here).
LOGIN_REDIRECT_URL = "web-schedule"

# --- Security ----------------------------------------------------------------

SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# --- Email ---------------------------------------------------------------------

EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "liveshop <noreply@localhost>")

# --- REST API ----------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header turns "not signed in" into a
        # 401 instead of a 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "liveshop.common.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "liveshop.common.schema.AutoSchema",
    "EXCEPTION_HANDLER": "liveshop.common.exception_handler.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "liveshop.common.pagination.PagePagination",
    "PAGE_SIZE": 20,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Counted in the default cache: Redis with REDIS_URL, shared by every process.
    "DEFAULT_THROTTLE_CLASSES": ["liveshop.common.throttling.WriteThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "login": env_str("LIVESHOP_THROTTLE_LOGIN", "10/minute"),
        "login_username": env_str("LIVESHOP_THROTTLE_LOGIN_USERNAME", "5/minute"),
        "write": env_str("LIVESHOP_THROTTLE_WRITE", "120/minute"),
    },
    # Proxies in front of the server: the client address is read from X-Forwarded-For.
    "NUM_PROXIES": env_int("LIVESHOP_THROTTLE_PROXIES", 0) or None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "liveshop API",
    "DESCRIPTION": (
        "REST API of liveshop, the open-source live-shopping backend. Errors always have the "
        'shape {"detail": "...", "code": "..."}; validation errors add "fields".'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from the installed package, not a CDN: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ShowStatusEnum": "shows.models.Show.Status",
        "KindEnum": "shows.models.Show.Kind",
        "ChatMessageKindEnum": "chat.models.ChatMessage.Kind",
        "ChatSanctionKindEnum": "chat.models.ChatSanction.Kind",
        "ModerationActionEnum": "chat.models.ModerationAction.Action",
        "BlockedTermActionEnum": "chat.models.BlockedTerm.Action",
        "WebhookDeliveryStatusEnum": ["applied", "duplicate"],
        "ChannelAirKindEnum": "video.wire.AIR_KINDS",
    },
}

# --- Celery --------------------------------------------------------------------

CELERY_TIMEZONE = "UTC"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    # Kombu's filesystem transport needs no broker process: the ASGI server
    # writes task messages into a folder and the embedded worker reads them.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "celery" / "queue"),
        "data_folder_out": str(VAR_DIR / "celery" / "queue"),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }

CELERY_BEAT_SCHEDULE = {
    # Premieres start and end on time to within this interval (docs/video.md).
    "video-premieres-tick": {"task": "video.tasks.premiere_tick", "schedule": 5.0},
    # A channel socket hears that a replay slot ended within this interval.
    "video-channels-now-playing-tick": {
        "task": "video.tasks.channel_now_playing_tick",
        "schedule": 5.0,
    },
    "shows-send-starting-soon-reminders": {
        "task": "shows.tasks.show_reminders_send_due",
        "schedule": 60.0,
    },
    # Work whose task message a broker outage lost is enqueued again from its row
    # (docs/architecture.md, "Side effects after commit").
    "shows-notices-sweep": {"task": "shows.tasks.show_notices_sweep", "schedule": 60.0},
    "video-work-sweep": {"task": "video.tasks.video_work_sweep", "schedule": 60.0},
    # A request whose viewer stopped waiting leaves the queue within this interval.
    "consultations-abandoned-mark": {
        "task": "consultations.tasks.consultations_abandoned_mark",
        "schedule": 15.0,
    },
}

# --- liveshop ------------------------------------------------------------------

# The channel the viewer page `/` shows; `manage.py demo_seed` fills it with demo shows.
LIVESHOP_DEMO_CHANNEL_SLUG = env_str("LIVESHOP_DEMO_CHANNEL_SLUG") or "liveshop-tv"
# A waiting consultation whose viewer shows no sign (page poll or socket) for this long is
# counted as abandoned and leaves the queue (docs/design/consultations.md, 4.5).
LIVESHOP_CONSULT_AWAY_SECONDS = env_int("LIVESHOP_CONSULT_AWAY_SECONDS", 60)
# The TURN server that relays calls between browsers behind NATs (docs/consultations.md):
# its ICE URLs (comma-separated, e.g. turn:turn.example.com:3478?transport=udp), the secret
# it shares with liveshop (coturn's static-auth-secret) and how long the credentials handed
# to a participant live. No URLs: calls still connect where browsers reach each other.
# `make run` starts coturn on this machine and sets the first two for its processes.
LIVESHOP_TURN_URLS = env_list("LIVESHOP_TURN_URLS", [])
LIVESHOP_TURN_SECRET = env_str("LIVESHOP_TURN_SECRET")
LIVESHOP_TURN_TTL_SECONDS = env_int("LIVESHOP_TURN_TTL_SECONDS", 600)
# How long before a show's start the "starting soon" reminder goes out.
LIVESHOP_REMINDER_LEAD_MINUTES = env_int("LIVESHOP_REMINDER_LEAD_MINUTES", 15)
# Outgoing notification hook: every reminder and cancellation is also POSTed
# here, signed Standard-Webhooks style, for push notification senders.
LIVESHOP_NOTIFICATION_WEBHOOK_URL = env_str("LIVESHOP_NOTIFICATION_WEBHOOK_URL")
LIVESHOP_NOTIFICATION_WEBHOOK_SECRET = env_str("LIVESHOP_NOTIFICATION_WEBHOOK_SECRET")
if LIVESHOP_NOTIFICATION_WEBHOOK_URL and len(LIVESHOP_NOTIFICATION_WEBHOOK_SECRET) < 16:
    raise ImproperlyConfigured(
        "LIVESHOP_NOTIFICATION_WEBHOOK_SECRET must be set (16 characters or more) when "
        "LIVESHOP_NOTIFICATION_WEBHOOK_URL is: receivers could not trust unsigned notices."
    )
# Incoming shop webhooks older than this are refused (replay protection).
LIVESHOP_WEBHOOK_TOLERANCE_SECONDS = env_int("LIVESHOP_WEBHOOK_TOLERANCE_SECONDS", 300)
# How long an add-to-cart link in a product card stays valid.
LIVESHOP_CART_LINK_SECONDS = env_int("LIVESHOP_CART_LINK_SECONDS", 6 * 3600)

# --- Real-time show channel (docs/protocol.md) -----------------------------------

# Origins whose session cookies are trusted on the websocket; by default the
# site's own hosts on http and https (any port).
LIVESHOP_WS_ALLOWED_ORIGINS = env_list("LIVESHOP_WS_ALLOWED_ORIGINS", [])
LIVESHOP_WS_TICKET_SECONDS = env_int("LIVESHOP_WS_TICKET_SECONDS", 30)
LIVESHOP_WS_MAX_FRAME_BYTES = 64 * 1024
# Unsent bytes a socket may hold before it is closed (4009) to resume later.
LIVESHOP_WS_MAX_BACKLOG_BYTES = env_int("LIVESHOP_WS_MAX_BACKLOG_BYTES", 1024 * 1024)
# Refused frames per connection per minute before the socket is closed (4008).
LIVESHOP_WS_MAX_ERRORS_PER_MINUTE = env_int("LIVESHOP_WS_MAX_ERRORS_PER_MINUTE", 20)
# Coalescing window for broadcast frames; grows under load up to 250 ms.
LIVESHOP_FANOUT_WINDOW_MS = env_int("LIVESHOP_FANOUT_WINDOW_MS", 100)
# Sockets a flush writes per event-loop turn (realtime/hub.py): smaller parts let chat
# sends and incoming events in sooner, at a little more overhead per flush.
LIVESHOP_FANOUT_PART_SOCKETS = env_int("LIVESHOP_FANOUT_PART_SOCKETS", 500)
# How long the ASGI process's event loop may hold the GIL while a database thread waits
# (Python's default is 5 ms; liveshop.asgi explains why the server uses less).
LIVESHOP_GIL_SWITCH_INTERVAL_US = env_int("LIVESHOP_GIL_SWITCH_INTERVAL_US", 500)
LIVESHOP_PRESENCE_INTERVAL_SECONDS = env_int("LIVESHOP_PRESENCE_INTERVAL_SECONDS", 5)
# Chat messages per user across all their connections: "count/seconds".
LIVESHOP_CHAT_RATE = env_str("LIVESHOP_CHAT_RATE", "5/10")
LIVESHOP_CHAT_TEAM_RATE = env_str("LIVESHOP_CHAT_TEAM_RATE", "20/10")
LIVESHOP_REACTIONS_PER_SECOND = env_int("LIVESHOP_REACTIONS_PER_SECOND", 10)
LIVESHOP_RESUME_MAX_AGE = env_int("LIVESHOP_RESUME_MAX_AGE", 600)
LIVESHOP_RESUME_MAX_EVENTS = env_int("LIVESHOP_RESUME_MAX_EVENTS", 300)
LIVESHOP_CHAT_HISTORY = 50

# --- Video (docs/video.md) -------------------------------------------------------

LIVESHOP_VIDEO_PROVIDER = env_str("LIVESHOP_VIDEO_PROVIDER", "nginx_rtmp")
# Recordings and HLS files belong to the database whose rows name them: each
# database gets its own folder, so the embedded and the PostgreSQL mode of one
# checkout never see (or delete) each other's files.
LIVESHOP_VIDEO_NAMESPACE = (
    "postgres-" + re.sub(r"[^A-Za-z0-9_.-]", "_", str(DATABASES["default"]["NAME"]))
    if DATABASE_URL
    else "sqlite"
)
LIVESHOP_VIDEO_DIR = Path(
    env_str("LIVESHOP_VIDEO_DIR") or VAR_DIR / "video" / LIVESHOP_VIDEO_NAMESPACE
)
# What broadcasters type into OBS as "Server", and nginx's HTTP side (HLS, VOD, control).
LIVESHOP_VIDEO_RTMP_URL = env_str("LIVESHOP_VIDEO_RTMP_URL", "rtmp://127.0.0.1:1935/live")
LIVESHOP_VIDEO_HTTP_URL = env_str("LIVESHOP_VIDEO_HTTP_URL", "http://127.0.0.1:8080").rstrip("/")
# The media server proves itself with this secret in the callback URL; derived from
# the secret key by default so every liveshop process agrees without configuration.
LIVESHOP_VIDEO_HOOK_SECRET = (
    env_str("LIVESHOP_VIDEO_HOOK_SECRET")
    or hashlib.sha256(f"liveshop-video-hook:{SECRET_KEY}".encode()).hexdigest()[:32]
)
LIVESHOP_VIDEO_HOOK_ALLOWED_ADDRESSES = env_list(
    "LIVESHOP_VIDEO_HOOK_ALLOWED_ADDRESSES", ["127.0.0.1", "::1"]
)
LIVESHOP_VIDEO_START_EARLY_MINUTES = env_int("LIVESHOP_VIDEO_START_EARLY_MINUTES", 30)
LIVESHOP_VIDEO_PLAYABLE_TIMEOUT_SECONDS = env_int("LIVESHOP_VIDEO_PLAYABLE_TIMEOUT_SECONDS", 60)
# Hosted providers' webhooks (/hooks/mux, /hooks/ivs); empty secret = endpoint off.
LIVESHOP_VIDEO_MUX_WEBHOOK_SECRET = env_str("LIVESHOP_VIDEO_MUX_WEBHOOK_SECRET")
LIVESHOP_VIDEO_IVS_WEBHOOK_SECRET = env_str("LIVESHOP_VIDEO_IVS_WEBHOOK_SECRET")
# e.g. 0123abcd.us-west-2.playback.live-video.net (the account's IVS playback host)
LIVESHOP_VIDEO_IVS_PLAYBACK_HOST = env_str("LIVESHOP_VIDEO_IVS_PLAYBACK_HOST")
# Where IVS recordings are served (a CloudFront in front of the bucket); default: S3.
LIVESHOP_VIDEO_IVS_VOD_BASE_URL = env_str("LIVESHOP_VIDEO_IVS_VOD_BASE_URL")

# --- Logging ---------------------------------------------------------------------

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LIVESHOP_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "INFO"},
    },
}
