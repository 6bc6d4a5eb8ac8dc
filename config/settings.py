"""One settings module, read from the environment (12-factor, after cookiecutter-django).

Defaults are safe for a laptop: SQLite file, tasks run inline, DEBUG off unless asked for.
"""

import ipaddress
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and os.environ.get("DJANGO_REQUIRE_SECRET_KEY"):
        raise ImproperlyConfigured("SECRET_KEY must be set in production")
    # A laptop default; the README's production checklist says to set a real one.
    SECRET_KEY = "insecure-local-development-key-change-me"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",  # `make run` serves static files as production does, through whitenoise
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",  # django-csp: only its system checks (settings of the pre-4.0 format are an error); no models
    "common",
    "insights",
    "cdnorigin",
]

MIDDLEWARE = [
    "common.metrics.MetricsMiddleware",  # first: its timing covers every other middleware
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "config.context_processors.operations",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent readers with one writer, and a writer that waits instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
# The zone every "day" is counted in (API.md). Django's TIME_ZONE follows it so the admin shows
# local times too.
INSIGHTS_TIME_ZONE = os.environ.get("INSIGHTS_TIME_ZONE", "Asia/Shanghai")
try:
    ZoneInfo(INSIGHTS_TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(f"INSIGHTS_TIME_ZONE {INSIGHTS_TIME_ZONE!r} is not a known zone") from exc
TIME_ZONE = INSIGHTS_TIME_ZONE
# DORA's rework rate: a production deployment from a run whose branch matches one of these fnmatch
# patterns (comma-separated, case-sensitive) is an unplanned fix (README "DORA metrics").
INSIGHTS_DORA_REWORK_BRANCHES = env_list("INSIGHTS_DORA_REWORK_BRANCHES", ["hotfix/*", "hotfix-*"])

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# whitenoise (middleware above) serves the collected files from the web process itself, no separate
# file server: gzip-compressed and under content-hashed names, which it sends with a year's
# Cache-Control (`make run` and `make serve` run collectstatic first). The tests use plain storage
# (tests/conftest.py), so they need no manifest.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Files served at the site's root: /favicon.ico, which browsers ask for on every page.
WHITENOISE_ROOT = BASE_DIR / "config" / "root_files"

LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "common.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["common.api.permissions.TokenWritePermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "common.api.parsers.JSONParser",
        "common.api.parsers.AnyContentTypeJSONParser",
    ],
    "EXCEPTION_HANDLER": "common.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# OpenAPI schema (/api/schema/) and Swagger UI (/api/docs/): public, since they describe the API and
# hold no data; Swagger UI's assets come from the sidecar package, so the page works offline.
# The documentation itself is in the schema modules: common/api/schema.py (shared parts), insights/api/schema.py,
# insights/api/zadig_schema.py, cdnorigin/api/schema.py; config/api_schema.py describes the API as a whole.
SPECTACULAR_SETTINGS = {
    "TITLE": "Insights service API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "JobTypeEnum": "insights.models.Job.Type",
        "ArtifactTypeEnum": "insights.models.Artifact.Type",
        "ContainerTypeEnum": "insights.api.serializers.CONTAINER_TYPES",
    },
    "PREPROCESSING_HOOKS": ["insights.api.zadig_schema.zadig_paths_without_slash"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.api_schema.describe_api"],
}

# Celery: no broker = every task runs inline, eagerly, in the caller's process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = INSIGHTS_TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Deployments (or test runs) sharing one broker keep apart by queue name; workers consume it by default.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Workers log through LOGGING below (LOG_FORMAT), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# DailyJobStat's covering index (INCLUDE columns) is PostgreSQL's; SQLite builds it without them, which
# is what Django's W040 says on every command. Nothing to act on.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A broker host that drops packets must not hang an ingest request's enqueue for minutes.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3}

CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# CDN origin statistics (API.md section 4).
CDN_RETENTION_DAYS = env_int("CDN_RETENTION_DAYS", 92)
CDN_RATE_LIMIT_PER_SECOND = env_int("CDN_RATE_LIMIT_PER_SECOND", 20)
CDN_MAX_CLOCK_SKEW_SECONDS = env_int("CDN_MAX_CLOCK_SKEW_SECONDS", 900)

# Sources (insights.sources): webhook bodies above this many bytes are refused (GitHub caps its own at 25 MB);
# raw deliveries are kept this many days after a run's last one; secrets are encrypted with this Fernet key
# (blank: one derived from SECRET_KEY).
INSIGHTS_HOOK_MAX_BYTES = env_int("INSIGHTS_HOOK_MAX_BYTES", 5 * 1024 * 1024)
INSIGHTS_DELIVERY_RETENTION_DAYS = env_int("INSIGHTS_DELIVERY_RETENTION_DAYS", 30)
INSIGHTS_SOURCE_KEY = os.environ.get("INSIGHTS_SOURCE_KEY", "")
# The address other systems reach this service at: what add_source prints as the webhook URL.
INSIGHTS_PUBLIC_URL = os.environ.get("INSIGHTS_PUBLIC_URL", "http://127.0.0.1:8000")

# GET /metrics (common.metrics): a Bearer token when METRICS_TOKEN is set, else these networks (CIDRs).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
try:
    METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(network, strict=False)
        for network in env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS must be CIDRs separated by commas: {exc}") from None

# Ingest limits (API.md section 3).
INGEST_MAX_BATCH = 10_000
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 64 * 1024 * 1024)

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind TLS (README "Configuration"): all off by default, so a laptop on plain HTTP keeps working.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# The name of the header a TLS-terminating proxy sets to "https" (e.g. X-Forwarded-Proto). Only safe
# behind a proxy that overwrites the client's own copy of that header.
_PROXY_SSL_HEADER = os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip()
if _PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https")

# Content-Security-Policy (django-csp) on every response: pages load scripts, styles and images from this
# host only (data: images for Swagger UI's icons), nothing may frame them, forms post back here. No inline
# <script>, <style> or style="..." anywhere: page assets live in insights/static/pages/. CSP_REPORT_ONLY=1
# sends the same policy as Content-Security-Policy-Report-Only instead (browsers report but block nothing),
# to relax it while a page is being fixed. Django's DEBUG error pages (404, 500) are left without it.
_CSP_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _CSP_DIRECTIVES}
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _CSP_DIRECTIVES}

# LOG_FORMAT=plain: one line per event with `key=value` fields; json: one JSON object per line. Every line
# passes RedactTokens: the value of a `?token=` query parameter never reaches the log. gunicorn's own error
# and access logs go through this same configuration (config/gunicorn.py).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain").lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "common.logs.KeyValueFormatter", "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "common.logs.JsonFormatter"},
    },
    "filters": {"redact_tokens": {"()": "common.logs.RedactTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["redact_tokens"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Inline mode runs every rollup task inside the request or command that wrote: Celery's line per
        # task ("Task ... succeeded") would only repeat `rollup recomputed`. A worker keeps them.
        **({} if CELERY_BROKER_URL else {"celery.app.trace": {"level": "WARNING"}}),
    },
}
