"""SkillQuest settings: one module, configured only from the environment (see .env.example).

Longer than our ~250-line rule on purpose: Django reads one settings module, and every setting here
sits next to the environment variable it comes from and the reason for its default.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from skillquest import redis_sentinel
from skillquest.replicas import CHECK_SECONDS, replica_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: set SECRET_KEY (or DEBUG=true for local development)."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # First: its `runserver` serves the ASGI application, so `make run` answers /ws/ in the same process.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "django_prometheus",
    "channels",
    # Its abstract key model and hashing (challenges.models.ApiKey); its own APIKey table stays empty
    # and its admin is replaced by ours (challenges.admin).
    "rest_framework_api_key",
    "accounts",
    "challenges",
    "progress",
    "skillquest.audit",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "skillquest.middleware.RequestIdMiddleware",
    "skillquest.http_cache.CacheControlMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "skillquest.security.ContentSecurityPolicyMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "skillquest.security.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the view (it sees DRF's JWT and API-key users): a player's writes pin their reads a while.
    "skillquest.replicas.ReadYourWritesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# --- HTTPS and security headers. Production defaults are strict (`manage.py check --deploy` is
# clean); `make run` (DEBUG on) and the test settings in pyproject.toml work over plain HTTP.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes from a load balancer come over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# Behind a TLS-terminating proxy that sets it, e.g. "HTTP_X_FORWARDED_PROTO,https". Only set this
# when the proxy always overwrites the header, or clients could claim HTTPS.
SECURE_PROXY_SSL_HEADER = tuple(env.list("SECURE_PROXY_SSL_HEADER", default=[])) or None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# --- Live updates (progress.live): the origin of the `ws` process, where pages open their WebSocket
# (`<WS_PUBLIC_URL>/ws/live/`), e.g. wss://live.example.com. Unset: the page's own host, whose proxy
# routes /ws/ to the `ws` process (`make run` serves /ws/ itself). Pages authenticate the socket with
# the session cookie, so the browser must send it there: the same host on another port does (cookies
# ignore ports), another host needs SESSION_COOKIE_DOMAIN to cover both.
WS_PUBLIC_URL = env.str("WS_PUBLIC_URL", default="").rstrip("/")
_ws = urlsplit(WS_PUBLIC_URL)
if WS_PUBLIC_URL and (_ws.scheme not in {"ws", "wss"} or not _ws.netloc or _ws.path or _ws.query):
    raise ImproperlyConfigured(f"WS_PUBLIC_URL: {WS_PUBLIC_URL!r} is not a ws:// or wss:// origin.")

# Our pages load scripts and styles only from our own origin: no inline script, style or handler.
# connect-src also names the live socket's origin, added per request (skillquest.security).
CSP_DEFAULT = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI (/api/docs/) and DRF's browsable API ship inline `style` attributes and a <style> block:
# they may use inline styles, but scripts stay same-origin only (the docs use the split view).
CSP_TOOL_PAGES = CSP_DEFAULT.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
CSP_RELAXED_STYLE_PATHS = ["/api/", "/api-auth/"]
# Cross-origin API calls only from these origins (e.g. "https://app.example.com"); none by default.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"

# Benchmarks only: the bench harness sets bench.urls (the site plus its ceiling views,
# bench/README.md) for the gunicorn it starts. Never set in production.
ROOT_URLCONF = env.str("ROOT_URLCONF", default="skillquest.urls")
WSGI_APPLICATION = "skillquest.wsgi.application"
# HTTP and /ws/ (progress.live): the Procfile's `ws:` process (daphne) and `make run`'s runserver.
ASGI_APPLICATION = "skillquest.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "progress.pages.context.live",
            ],
        },
    },
]

# --- Database: SQLite for the no-server quickstart, PostgreSQL in production and tests.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Persistent connections: opening one per request made database views ~7x slower (bench/).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Behind PgBouncer in transaction pooling mode: a server-side cursor Django declares outside a
# transaction (WITH HOLD) would outlive the pooled server connection it was opened on. `iterator()`
# then fetches from a client-side cursor. skillquest/tests/test_pgbouncer.py runs suites through a
# real one (with DATABASE_PREPARED_STATEMENTS off, below).
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DISABLE_SERVER_SIDE_CURSORS", default=False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str("TEST_DATABASE_NAME", default=None)
    # Prepared statements: parameters bound by the server, and a statement run 5 times on a
    # connection prepared there, so PostgreSQL stops planning it anew (planning was most of the
    # server's time on the progress endpoint's five reads: bench/README.md, issue 13). Off behind a
    # pooler that cannot track them (PgBouncer before 1.21 in transaction mode).
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
# The same engines wrapped to count queries and errors for /metrics (django_prometheus); PostgreSQL's
# with a health check that asks the server only when the connection's socket has something to say
# (skillquest.db.postgresql).
_ENGINE = DATABASES["default"]["ENGINE"]
if _ENGINE == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "skillquest.db.postgresql"
elif _ENGINE == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.sqlite3"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# --- Read replicas (skillquest.replicas): comma-separated URLs of streaming replicas of DATABASE_URL,
# connected as `replica_1`, ... Only reads that tolerate lag go there (public boards, challenges, other
# players' progress, admin stats, `rebuild_leaderboard`'s scan); writes and transactions never do.
DATABASE_REPLICA_URLS = env.list("DATABASE_REPLICA_URLS", default=[])
DATABASES.update(replica_settings(DATABASE_REPLICA_URLS, DATABASES["default"], env.db_url_config))
DATABASE_ROUTERS = ["skillquest.replicas.ReplicaRouter"]
# A replica further behind than this (seconds since the last transaction it replayed, while it has
# not replayed all it received) is skipped until it catches up.
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=10.0)
# After a player's write (their unsafe-method request, or an award for them) their reads stay on the
# primary this long. It must outlast the lag a replica in use may have (plus the second its verdict is
# kept), or a player could read a replica that has not replayed their write yet.
REPLICA_STICKY_SECONDS = env.float("REPLICA_STICKY_SECONDS", default=12.0)
if DATABASE_REPLICA_URLS:
    if REPLICA_STICKY_SECONDS < REPLICA_MAX_LAG_SECONDS + CHECK_SECONDS:
        raise ImproperlyConfigured(
            "REPLICA_STICKY_SECONDS must be at least REPLICA_MAX_LAG_SECONDS + 1, or a player could read "
            "a replica that has not replayed their own write yet."
        )
    if not env.str("REDIS_URL", default=""):
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URLS needs REDIS_URL: every process must see which players just wrote "
            "(and the worker's awards), to keep their reads on the primary."
        )

# --- Redis: optional. Unset means in-process jobs, local-memory cache and SQL leaderboards.
REDIS_URL = env.str("REDIS_URL", default="")
# High availability: the sentinels ("host:port,...") that watch the master named REDIS_SENTINEL_MASTER.
# Every client (queues, cache and throttles, boards and our keys, the channel layer, /readyz, /metrics)
# then asks them where the master is, and asks again after a failover (skillquest/redis_sentinel.py).
# REDIS_URL stays required and gives the database index (its path) and the master's user and
# password; its host and port are not used. REDIS_SENTINEL_PASSWORD: the sentinels' own password.
try:
    REDIS_SENTINELS = redis_sentinel.parse_sentinels(env.list("REDIS_SENTINELS", default=[]))
except ValueError as error:
    raise ImproperlyConfigured(f"REDIS_SENTINELS: {error}; expected host:port,host:port,...")
REDIS_SENTINEL_MASTER = env.str("REDIS_SENTINEL_MASTER", default="")
REDIS_SENTINEL_PASSWORD = env.str("REDIS_SENTINEL_PASSWORD", default="")
_sentinel: dict[str, Any] | None = None
if REDIS_SENTINELS:
    if not REDIS_URL or not REDIS_SENTINEL_MASTER:
        raise ImproperlyConfigured(
            "REDIS_SENTINELS needs REDIS_SENTINEL_MASTER (the master's name) and REDIS_URL (its database "
            "index and password, e.g. redis://:password@mymaster/0)."
        )
    try:
        redis_sentinel.master_options(REDIS_URL)
    except ValueError as error:
        raise ImproperlyConfigured(f"REDIS_URL: {error}.")
    _sentinel = {
        "sentinels": REDIS_SENTINELS,
        "master": REDIS_SENTINEL_MASTER,
        "redis_url": REDIS_URL,
        "password": REDIS_SENTINEL_PASSWORD,
    }
if _sentinel:
    CACHES = {"default": redis_sentinel.cache(**_sentinel)}
elif REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The channel layer carries live messages from the process that commits an award (the RQ worker) to
# the `ws` process holding the player's socket: Redis pub/sub (progress.live.layer says why, and how
# a socket learns that its process was cut off from Redis). Without Redis, jobs run in the web
# process, which with `make run` is also the one serving /ws/: process memory is enough there.
# A process subscribes over one connection per Redis host and publishes over a pool; redis-py 8 caps
# an asyncio pool at 100 connections by default and refuses the 101st at once, so the cap is raised.
CHANNEL_LAYER_CONNECTIONS = 2000
# No read timeout on the layer's connections (redis-py 8 sets 5 s by default): the subscriber waits
# on its connection for as long as nobody publishes, and a send under a timeout goes through
# asyncio.wait_for, which on Python 3.11 can swallow the cancellation of a closing consumer. TCP
# keepalive (probes after 10 s idle, 5 s apart, 3 unanswered: ~25 s) finds a host that went away
# without a word, which Linux' defaults would take over two hours to notice; the publisher has
# deadlines of its own (progress.live.publish).
CHANNEL_LAYER_POOL = {
    "max_connections": CHANNEL_LAYER_CONNECTIONS,
    "socket_timeout": None,
    "socket_keepalive": True,
    "socket_keepalive_options": {socket.TCP_KEEPIDLE: 10, socket.TCP_KEEPINTVL: 5, socket.TCP_KEEPCNT: 3},
}
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "progress.live.layer.LiveChannelLayer",
            "CONFIG": {
                "hosts": [
                    {**redis_sentinel.channel_host(**_sentinel), **CHANNEL_LAYER_POOL}
                    if _sentinel
                    else {"address": REDIS_URL, **CHANNEL_LAYER_POOL}
                ],
                "prefix": "skillquest:live:",
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# One connection configuration for every queue: redis_client.redis_connection() shares its client.
_rq_connection = (
    redis_sentinel.rq_queue(**_sentinel) if _sentinel else {"URL": REDIS_URL or "redis://127.0.0.1:6379/0"}
)
RQ_QUEUES = {
    "default": {**_rq_connection, "DEFAULT_TIMEOUT": 300},
    # Webhook deliveries (progress.webhooks): the worker takes them after every award job waiting.
    "webhooks": {**_rq_connection, "DEFAULT_TIMEOUT": 300},
}
# We schedule jobs with transaction.on_commit ourselves; django-rq must enqueue at once when asked,
# so that a Redis failure surfaces where we handle it (its default defers inside atomic blocks).
RQ = {"COMMIT_MODE": "auto"}
# Jobs run on the RQ worker when Redis is configured, else in the web process right after commit.
JOBS_IN_PROCESS = not REDIS_URL

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameOrEmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files need `collectstatic`; the quickstart and tests serve them as they are.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Without collectstatic (quickstart, tests) whitenoise serves straight from the app and static dirs.
WHITENOISE_USE_FINDERS = not env.bool("STATIC_MANIFEST", default=not DEBUG)

# Request bodies above this size are refused before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        # `Authorization: Api-Key <key>`: servers' keys with scopes (challenges/ingest/).
        "challenges.ingest.authentication.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["skillquest.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "skillquest.api.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "skillquest.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "skillquest.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": [
        "skillquest.throttling.AnonThrottle",
        "skillquest.throttling.UserThrottle",
        "skillquest.throttling.ApiKeyThrottle",
    ],
    # Counted in the cache (Redis when REDIS_URL is set). Raise them by environment for load tests.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="300/minute"),
        "user": env.str("THROTTLE_USER", default="1200/minute"),
        "start": env.str("THROTTLE_START", default="60/minute"),
        "submit": env.str("THROTTLE_SUBMIT", default="30/minute"),
        "login": env.str("THROTTLE_LOGIN", default="10/minute"),
        "register": env.str("THROTTLE_REGISTER", default="20/hour"),
        # Per client IP and per address alike (accounts.throttles): reset links and verification mails.
        "password_reset": env.str("THROTTLE_PASSWORD_RESET", default="5/hour"),
        "verify_email": env.str("THROTTLE_VERIFY_EMAIL", default="5/hour"),
        # WebSocket connects per player (progress.live.admission): every page a player opens is one.
        "live_connect": env.str("THROTTLE_LIVE_CONNECT", default="60/minute"),
        # Every request made with one API key (challenges/ingest/): ingestion and its reads alike.
        "ingest": env.str("THROTTLE_INGEST", default="6000/minute"),
    },
    # How many proxies in front of the app append to X-Forwarded-For. 0 (default): the header is
    # ignored and the client IP is the connection's address, so it cannot be spoofed.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

SIMPLE_JWT: dict[str, Any] = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("ACCESS_TOKEN_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("REFRESH_TOKEN_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    # Pinned: a token whose header names another algorithm (or "none") is refused.
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SkillQuest API",
    "DESCRIPTION": "Challenges, attempts, XP, levels, badges and leaderboards.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One schema for everyone (generated clients use it as it is): every operation listed whoever
    # asks, and nobody authenticated while it is built, so no view documents a shape for its caller
    # only; staff shapes are named explicitly (skillquest/openapi.py).
    "SERVE_PUBLIC": True,
    "SERVE_AUTHENTICATION": [],
    # Two fields are named "kind" (an XP entry's and a quest's): each enum gets a name of its own.
    "ENUM_NAME_OVERRIDES": {
        "XpEntryKindEnum": "progress.models.XpEntry.Kind",
        "QuestKindEnum": "progress.quests.kinds.KIND_CHOICES",
        "StatusEnum": "challenges.models.Attempt.Status",  # the name clients had before webhooks came
        "WebhookDeliveryStatusEnum": "progress.models.WebhookDelivery.Status",
    },
}

# --- Email: sent by the worker (accounts.emails), never inside a request. EMAIL_URL is
# django-environ's email_url: smtp://user:pass@host:587/?tls=True (STARTTLS), smtp+ssl://...:465
# (implicit TLS), consolemail:// (prints each message: the quickstart's and `make run`'s default),
# dummymail:// (drops them).
_email = env.email_url("EMAIL_URL", default="consolemail://")
# django-environ puts query options such as `?tls=True` into OPTIONS, which Django never reads.
for _name, _value in _email.pop("OPTIONS", {}).items():
    if _name.lower() in {"tls", "ssl"}:
        _email[f"EMAIL_USE_{_name.upper()}"] = str(_value).strip().lower() in {"1", "true", "yes", "on"}
if _email.get("EMAIL_USE_TLS") and _email.get("EMAIL_USE_SSL"):
    raise ImproperlyConfigured("EMAIL_URL: choose STARTTLS (tls) or implicit TLS (ssl), not both.")
vars().update({name: value for name, value in _email.items() if value is not None})
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="SkillQuest <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# The address links in emails point to (a job has no request to build them from).
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
# Seconds a password-reset link works (Django's token; used once: it dies with the password it reset).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
# Seconds an email-verification link works.
EMAIL_VERIFICATION_TIMEOUT = env.int("EMAIL_VERIFICATION_TIMEOUT", default=3 * 24 * 3600)

# --- Open Badges 2.0 (progress.openbadges): the issuer every BadgeClass names. Assertion, BadgeClass
# and issuer URLs are absolute on SITE_URL (an assertion's `id` must be the URL it is fetched from,
# and a validator accepts it only on the issuer's own host), so SITE_URL must be the public address.
OB_ISSUER_NAME = env.str("OB_ISSUER_NAME", default="SkillQuest")
OB_ISSUER_URL = env.str("OB_ISSUER_URL", default=SITE_URL)
OB_ISSUER_EMAIL = env.str("OB_ISSUER_EMAIL", default=parseaddr(DEFAULT_FROM_EMAIL)[1])

# --- Metrics (/metrics): open to these networks (the direct peer address) or to the bearer token.
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
for _network in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_network!r} is not an address or network.")

# Error reports hide passwords, tokens and solutions (by key, at any depth) as well as settings.
DEFAULT_EXCEPTION_REPORTER_FILTER = "skillquest.logging.ExceptionReporterFilter"

# How long each web process reuses a rendered `GET /api/v1/leaderboard` page (0: never). Boards
# change with every award; a second of staleness lets one process answer a busy board from memory.
LEADERBOARD_CACHE_SECONDS = env.float("LEADERBOARD_CACHE_SECONDS", default=1.0)
# How long an award job waits after it was enqueued, so that submissions of those milliseconds share
# its batch (progress.jobs); 0 awards at once. 100 ms, not 50: at 200 submissions/s a job's fixed
# cost paid 20 times a second kept two cores so full that submit -> socket p99 went over 400 ms;
# 10 jobs a second left room (p99 ~200 - 230 ms, bench/README.md, issue 15).
AWARD_COALESCE_SECONDS = env.float("AWARD_COALESCE_SECONDS", default=0.1)
# At most this long after an award, each badge's rarity (`earned_by_percent`) is recounted by a job
# (progress.badges.rarity); awards meanwhile join the one already scheduled.
BADGE_RARITY_REFRESH_SECONDS = env.float("BADGE_RARITY_REFRESH_SECONDS", default=60.0)
# How long after an event's end its standings are frozen (progress.events): a submission graded just
# before the end, by a web host's clock, commits and is awarded in that time and still counts.
EVENT_FREEZE_DELAY_SECONDS = env.float("EVENT_FREEZE_DELAY_SECONDS", default=5.0)

# --- Webhooks (progress.webhooks): signed deliveries of the outbox to staff-registered endpoints.
# Seconds to wait after each failed attempt, in order; after the last the delivery is given up.
WEBHOOK_RETRY_SCHEDULE = [
    float(value)
    for value in env.list("WEBHOOK_RETRY_SCHEDULE", default=["5", "30", "120", "600", "3600", "21600"])
]
if not WEBHOOK_RETRY_SCHEDULE or any(value < 0 for value in WEBHOOK_RETRY_SCHEDULE):
    raise ImproperlyConfigured("WEBHOOK_RETRY_SCHEDULE: a comma-separated list of seconds, none negative.")
# An endpoint whose deliveries fail this many times in a row is disabled, with the reason shown.
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=10)
# Per attempt: connecting, sending and each read of the answer (tests shorten it).
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Loopback, private, link-local and metadata addresses are refused (at registration and at every
# delivery) unless this is on: tests and local demos only. It also allows plain http:// URLs.
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
# `manage.py webhooks_prune` deletes finished events (none of their deliveries pending) older than this.
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=30)

# --- Logging: one JSON object per line in production, readable lines with DEBUG on.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# Python warnings become log records too, so stderr stays one JSON object per line.
logging.captureWarnings(True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "skillquest.logging.JsonFormatter"},
        "console": {"()": "skillquest.logging.ConsoleFormatter"},
    },
    "handlers": {
        "default": {"class": "logging.StreamHandler", "formatter": "console" if DEBUG else "json"},
    },
    "root": {"handlers": ["default"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "rq.worker": {"level": "WARNING"},
    },
}
