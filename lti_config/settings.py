"""Settings for the LTI tool, read from the environment (12-factor).

The embedded default (no variables set) needs no services: SQLite under ``var/``, Django's
database cache and a Celery broker on the filesystem. Production sets ``DATABASE_URL``,
``REDIS_URL``, ``SECRET_KEY`` and friends; nothing else differs.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str = "") -> str:
    """A string setting; ``NAME_FILE`` (a Docker secret) wins over ``NAME``."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    """A yes/no setting; anything but the usual spellings is refused, so ``DEBUG=ture`` cannot pass silently."""
    value = env(name, "").strip().lower()
    if value == "":
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a yes/no value: use 1/0, true/false, yes/no or on/off")


def envint(name: str, default: int) -> int:
    value = env(name, "")
    return int(value) if value else default


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def database_from_url(url: str) -> dict[str, object]:
    """``postgres://user:pass@host:port/name?opt=v`` or ``sqlite:///path`` as a Django database."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parsed.path[1:]) or ":memory:"}
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ValueError(f"DATABASE_URL scheme {parsed.scheme!r} is not supported (use postgres:// or sqlite:///)")
    options: dict[str, object] = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    if envbool("DB_PREPARED_STATEMENTS", True):
        # Parameters bound by the server, and a statement a connection has run 5 times (psycopg's default) kept
        # prepared: PostgreSQL then neither parses nor plans it again, and Python does not quote values into the
        # text. Off behind a pooler that cannot keep prepared statements (docs/production.md).
        options["server_side_binding"] = True
        options["prepare_threshold"] = 5
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path[1:]),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": envint("DB_CONN_MAX_AGE", 60),
        "OPTIONS": options,
    }


DEBUG = envbool("DEBUG", False)
# production (the default, whatever DEBUG says: a mode is chosen, never implied) refuses to start without SECRET_KEY and FIELD_ENCRYPTION_KEYS
# (lti_config/startup.py); development (`make run`) reads the secret `manage.py secret_init` wrote under
# var/; test (pytest, `make test`) uses a fixed, visibly insecure secret. See docs/production.md.
LMS_TOOL_MODE = env("LMS_TOOL_MODE").strip().lower() or "production"
if LMS_TOOL_MODE not in {"production", "development", "test"}:
    raise ImproperlyConfigured(f"LMS_TOOL_MODE={LMS_TOOL_MODE!r}: use production, development or test")
SECRET_KEY_FILE = VAR_DIR / "secret_key"
SECRET_KEY = env("SECRET_KEY", "")
if not SECRET_KEY and LMS_TOOL_MODE == "development" and SECRET_KEY_FILE.exists():
    SECRET_KEY = SECRET_KEY_FILE.read_text().strip()
elif not SECRET_KEY and LMS_TOOL_MODE == "test":
    SECRET_KEY = "django-insecure-test-mode-only-" + "x" * 40

# Keys that encrypt private keys and PII at rest (Fernet). The first encrypts; all decrypt, so a
# rotation adds a new first key and `manage.py lti_keys reencrypt` rewrites old ciphertexts.
# Defaults to a key derived from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = envlist("FIELD_ENCRYPTION_KEYS")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
# The public base URL of the tool, used in the URLs it gives to platforms (login, launch, JWKS).
TOOL_BASE_URL = env("TOOL_BASE_URL", "").rstrip("/")
TOOL_TITLE = env("TOOL_TITLE", "AI Quizzes & Flashcards")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "lms_tool.core",
    "lms_tool.lti",
    "lms_tool.ai",
    "lms_tool.privacy",
    "lms_tool.grading",
    "lms_tool.roster",
    "lms_tool.quizzes",
    "lms_tool.flashcards",
    "lms_tool.webhooks",
    "lms_tool.analytics",
    "lms_tool.xapi",
    "lms_tool.api",
    "lms_tool.launcher",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # CSP frame-ancestors and X-Frame-Options on every response (docs/security.md, "Framing").
    "lms_tool.lti.framing.FramingMiddleware",
    # The login and launch skip the session, CSRF, auth, message and kept-launch middlewares below
    # (lms_tool/lti/middleware.py, docs/benchmarks.md "Launch").
    "lms_tool.lti.middleware.LaunchPathsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "lms_tool.lti.middleware.LtiLaunchMiddleware",
    # After the launch is known: its locale claim picks the language (docs/translation.md).
    "lms_tool.lti.language.LaunchLanguageMiddleware",
]

ROOT_URLCONF = "lti_config.urls"
WSGI_APPLICATION = "lti_config.wsgi.application"
ASGI_APPLICATION = "lti_config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {"default": database_from_url(env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL with synchronous=NORMAL: readers never block the writer and a commit is not an fsync
    # (a crash may lose the last commits, never corrupt). Connections are kept, since opening one
    # per request costs more than most requests.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = None
elif LMS_TOOL_MODE == "test":  # test teardown empties every table, the append-only audit log too
    DATABASES["default"]["OPTIONS"]["options"] = "-c lms_tool.audit_purge=test"  # type: ignore[index]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", "")
CACHES: dict[str, dict[str, object]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "lms_tool.core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "lms"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "lms_cache",
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "lms"),
            # Launches (kept 8 h), login states and nonces live here: Django's default of 300
            # entries would evict live launches on any busy day.
            "OPTIONS": {"MAX_ENTRIES": envint("CACHE_MAX_ENTRIES", 200_000), "CULL_FREQUENCY": 10},
        }
    }

# Celery: Redis in production; kombu's filesystem transport in the embedded default, so tasks
# are asynchronous with no server to install.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem"):
    # The folders are made where the Celery app is set up (lti_config/celery.py): settings write nothing.
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "store_processed": False,
        # kombu keeps fanout exchanges (worker control, pidbox) in "control/" of the working
        # directory unless told otherwise.
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
else:
    # Redis: a message a worker took stays hidden this long before Redis hands it to another worker;
    # it must outlast the longest task (tasks are acks_late: a generation must not run twice at once).
    # Short socket timeouts and health checks notice a silently dropped connection within seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 6 * 3600),
        "socket_timeout": float(env("CELERY_BROKER_SOCKET_TIMEOUT", "30")),
        "socket_connect_timeout": float(env("CELERY_BROKER_SOCKET_TIMEOUT", "30")),
        "socket_keepalive": True,
        "health_check_interval": envint("CELERY_BROKER_HEALTH_CHECK_SECONDS", 10),
    }
# A worker rides out broker outages of any length: it retries connecting at start and forever after
# (docs/production.md, "Outages and queues"); queues and routes are in lti_config/celery.py.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A task running when the connection drops finishes (tasks are idempotent); its message comes back later.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fixup closes the database connections before and after every task unless this is set, then
# every this-many tasks: a new PostgreSQL connection, and a new server process, for each score posted. Out of
# reach here: a worker keeps its connections for CONN_MAX_AGE and drops a broken one, as a web process does
# (lti_config/celery.py, docs/architecture.md "Workers and the database").
CELERY_DB_REUSE_MAX = 10**12
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
# AI generations still unfinished this long after they were asked for are marked failed (a lost task).
GENERATION_STUCK_SECONDS = envint("GENERATION_STUCK_SECONDS", 2 * 3600)
CELERY_BEAT_SCHEDULE["quizzes-generations-fail-stuck"] = {
    "task": "lms_tool.quizzes.tasks.generation_runs_fail_stuck_task",
    "schedule": 600.0,
}
CELERY_BEAT_SCHEDULE["flashcards-generations-fail-stuck"] = {
    "task": "flashcards.generations_fail_stuck",
    "schedule": 600.0,
}

SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_HTTPONLY = True
# Platforms embed the tool in a cross-site iframe: cookies it needs there must be SameSite=None
# and therefore Secure. Plain-HTTP development on 127.0.0.1 keeps Lax. Security settings follow the
# tool's own URL, never DEBUG: turning on tracebacks must not turn off a protection.
COOKIES_SECURE = envbool("COOKIES_SECURE", TOOL_BASE_URL.startswith("https://"))
SESSION_COOKIE_SECURE = COOKIES_SECURE
CSRF_COOKIE_SECURE = COOKIES_SECURE
SESSION_COOKIE_SAMESITE = "None" if COOKIES_SECURE else "Lax"
CSRF_COOKIE_SAMESITE = SESSION_COOKIE_SAMESITE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("BEHIND_TLS_PROXY", False) else None
# An https tool (production) tells browsers to stay on https (HSTS) and, once it can tell https requests
# apart (behind its TLS proxy), redirects plain ones; load balancers' /healthz probes stay plain.
_HTTPS = TOOL_BASE_URL.startswith("https://")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", _HTTPS and SECURE_PROXY_SSL_HEADER is not None)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
# lms_tool.lti.framing decides who may frame each page; this only serves Django's own decorators.
X_FRAME_OPTIONS = "DENY"
# Django's clickjacking check looks for its own XFrameOptionsMiddleware; lms_tool.lti.framing.FramingMiddleware
# sends X-Frame-Options: DENY and frame-ancestors 'none' on every page that is not a tool page
# (tests/lti/test_framing.py), and per-registration frame-ancestors on tool pages.
SILENCED_SYSTEM_CHECKS = ["security.W002"]

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# `collectstatic` makes it (make run, the Dockerfile); settings write nothing at import.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
# The interface's languages (docs/translation.md): the launch's locale claim picks one, else the browser's
# Accept-Language, else English. A language is listed only with a catalog in locale/ (a listed language
# without one would show English text laid out for that language).
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

# LTI behaviour -------------------------------------------------------------------------------
LTI = {
    # Largest id_token accepted, in bytes; a larger one is refused before any parsing.
    "MAX_ID_TOKEN_BYTES": envint("LTI_MAX_ID_TOKEN_BYTES", 64 * 1024),
    # Clock skew tolerated on exp / iat / nbf, in seconds.
    "LEEWAY_SECONDS": envint("LTI_LEEWAY_SECONDS", 60),
    # How long a login's state/nonce stays valid before the launch must arrive.
    "STATE_TTL_SECONDS": envint("LTI_STATE_TTL_SECONDS", 600),
    # A launch stays usable by the tool's pages IDLE seconds past its last use (each page and autosave
    # renews it), never more than MAX seconds past the launch (docs/security.md, "Launch ids").
    # LTI_LAUNCH_TTL_SECONDS, the fixed lifetime before, still sets the idle time.
    "LAUNCH_IDLE_SECONDS": envint("LTI_LAUNCH_IDLE_SECONDS", envint("LTI_LAUNCH_TTL_SECONDS", 3600)),
    "LAUNCH_MAX_SECONDS": envint("LTI_LAUNCH_MAX_SECONDS", 12 * 3600),
    # How long a platform JWKS is cached.
    "JWKS_CACHE_SECONDS": envint("LTI_JWKS_CACHE_SECONDS", 24 * 3600),
    # After a rotation the retiring key stays in our JWKS this long.
    "KEY_OVERLAP_SECONDS": envint("LTI_KEY_OVERLAP_SECONDS", 7 * 24 * 3600),
}

# Outbound HTTP (lms_tool/core/http.py).
HTTP_TIMEOUT_SECONDS = float(env("HTTP_TIMEOUT_SECONDS", "10"))
HTTP_USER_AGENT = env("HTTP_USER_AGENT", "lms-tool/0.1 (+https://github.com/lms-tool)")
# Plain-HTTP platform URLs (dynamic registration's OpenID configuration, registration endpoint) are
# refused unless this is on: for development and tests only. It also lets loopback hosts through
# the private-address block below, so a sandbox platform on 127.0.0.1 can be registered. Off unless set:
# it does not follow DEBUG.
LTI_DEV_ALLOW_HTTP = envbool("LTI_DEV_ALLOW_HTTP", False)
# Dynamic Registration without an invitation creates a registration that waits for a tool admin's
# approval; this makes it active at once instead, for development only (docs/canvas.md).
LTI_DYNAMIC_REGISTRATION_OPEN = envbool("LTI_DYNAMIC_REGISTRATION_OPEN", False)
# Every outbound call to a private, loopback or link-local address is refused unless its host is
# listed here (a platform on an intranet, say). Development, and the sandbox platforms (SANDBOX, which
# listen on 127.0.0.1 and which `make run` starts), need loopback.
HTTP_ALLOWED_PRIVATE_HOSTS = envlist(
    "HTTP_ALLOWED_PRIVATE_HOSTS",
    "127.0.0.1,localhost" if LTI_DEV_ALLOW_HTTP or envbool("SANDBOX", False) else "",
)

# Launch ids and registration tokens are bearer secrets: the console handler blanks them in any line
# (runserver's request lines included, routed through it); gunicorn's access log leaves query strings
# out (lti_config/gunicorn_conf.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"secrets": {"()": "lms_tool.core.logs.RedactSecrets"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["secrets"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# API, webhooks, privacy ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["lms_tool.api.auth.ApiClientAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["lms_tool.api.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["lms_tool.api.throttling.ApiClientRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "lms_tool.api.pagination.KeysetCursorPagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "lms_tool.api.errors.exception_handler",
    "PAGE_SIZE": envint("API_PAGE_SIZE", 100),
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LMS tool integration API",
    "DESCRIPTION": "Versioned REST API for SIS/ERP systems: rosters, enrollments, assessments, scores, audit.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "lms_tool.api.schema.add_error_responses",
    ],
    # /api/docs/ serves Swagger UI from our own static files: no CDN, works offline and under a strict CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}
INSTALLED_APPS += ["drf_spectacular_sidecar"]
API = {
    # Largest request body accepted, in bytes; a larger one is answered 413 before any parsing.
    "MAX_BODY_BYTES": envint("API_MAX_BODY_BYTES", 64 * 1024),
    # Requests per minute for a client that has no limit of its own.
    "DEFAULT_RATE_PER_MINUTE": envint("API_DEFAULT_RATE_PER_MINUTE", 600),
    "MAX_PAGE_SIZE": envint("API_MAX_PAGE_SIZE", 1000),
    # Stored answers to writes sent with an Idempotency-Key are replayed for this long.
    "IDEMPOTENCY_TTL_SECONDS": envint("API_IDEMPOTENCY_TTL_SECONDS", 24 * 3600),
}
WEBHOOKS = {
    # Attempts before a delivery is dead-lettered (the first try included).
    "MAX_ATTEMPTS": envint("WEBHOOK_MAX_ATTEMPTS", 8),
    # Base of the exponential backoff between attempts, in seconds (lms_tool.lti.service_client.backoff).
    "RETRY_BASE_SECONDS": float(env("WEBHOOK_RETRY_BASE_SECONDS", "30")),
    "RETRY_CAP_SECONDS": float(env("WEBHOOK_RETRY_CAP_SECONDS", "3600")),
    "TIMEOUT_SECONDS": float(env("WEBHOOK_TIMEOUT_SECONDS", "10")),
    # A worker holds a delivery this long while sending it; after that another may pick it up.
    "LEASE_SECONDS": envint("WEBHOOK_LEASE_SECONDS", 60),
}
# Key of the pseudonymous ids given to analytics consumers (a keyed hash, never the PII itself).
# Defaults to one derived from SECRET_KEY; set it to keep pseudonyms stable across SECRET_KEY changes.
PRIVACY_PSEUDONYM_KEY = env("PRIVACY_PSEUDONYM_KEY", "")
# Audit lines older than this are deleted by `manage.py audit_purge` (run it daily); nothing else may.
AUDIT_RETENTION_DAYS = envint("AUDIT_RETENTION_DAYS", 400)
# Page, admin and API actions record where they came from (truncated address, user agent) in the audit log.
MIDDLEWARE.append("lms_tool.core.origin.RequestOriginMiddleware")
if AUDIT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be at least 1")
# xAPI learning records (lms_tool/xapi, docs/xapi.md): each registration's LRS is set in the admin.
XAPI = {
    # Activity ids, pseudonymous actors' homePage and extension IRIs live under this URL; set TOOL_BASE_URL.
    "ACTIVITY_BASE_URL": env("XAPI_ACTIVITY_BASE_URL", TOOL_BASE_URL or "https://lms-tool.invalid"),
    # Attempts before a statement is dead-lettered (the first try included).
    "MAX_ATTEMPTS": envint("XAPI_MAX_ATTEMPTS", 10),
    "RETRY_BASE_SECONDS": float(env("XAPI_RETRY_BASE_SECONDS", "30")),
    "RETRY_CAP_SECONDS": float(env("XAPI_RETRY_CAP_SECONDS", "3600")),
    "TIMEOUT_SECONDS": float(env("XAPI_TIMEOUT_SECONDS", "15")),
    "LEASE_SECONDS": envint("XAPI_LEASE_SECONDS", 120),
    # Statements recorded within this many seconds go out in one batch.
    "SEND_DELAY_SECONDS": float(env("XAPI_SEND_DELAY_SECONDS", "2")),
    # Statements the LRS took are deleted from the outbox after this many days (the LRS keeps them).
    "KEEP_SENT_DAYS": envint("XAPI_KEEP_SENT_DAYS", 14),
}
CELERY_BEAT_SCHEDULE["xapi-sweep"] = {"task": "lms_tool.xapi.tasks.xapi_sweep", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["webhooks-sweep"] = {"task": "lms_tool.webhooks.tasks.webhooks_sweep", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["api-idempotency-purge"] = {"task": "lms_tool.api.tasks.idempotency_purge", "schedule": 3600.0}

# Roster --------------------------------------------------------------------------------------
# NRPS roster sync (lms_tool/roster). Each roster is re-read when its last attempt is older than
# SYNC_INTERVAL (incrementally through the platform's differences link) and in full once FULL_SYNC
# has passed; the beat looks for due rosters every BEAT seconds. PAGE_LIMIT is the page size asked
# of the platform. A failed read retries MAX_RETRIES times with backoff from RETRY_BASE seconds.
ROSTER = {
    "SYNC_INTERVAL_SECONDS": envint("ROSTER_SYNC_INTERVAL_SECONDS", 3600),
    "FULL_SYNC_SECONDS": envint("ROSTER_FULL_SYNC_SECONDS", 24 * 3600),
    "BEAT_SECONDS": envint("ROSTER_BEAT_SECONDS", 300),
    "PAGE_LIMIT": envint("ROSTER_PAGE_LIMIT", 1000),
    "MAX_PAGES": envint("ROSTER_MAX_PAGES", 2000),
    "MAX_RETRIES": envint("ROSTER_MAX_RETRIES", 5),
    "RETRY_BASE_SECONDS": envint("ROSTER_RETRY_BASE_SECONDS", 30),
    "DUE_BATCH": envint("ROSTER_DUE_BATCH", 500),
}
CELERY_BEAT_SCHEDULE["roster-sync-due"] = {
    "task": "lms_tool.roster.tasks.roster_sync_due_task",
    "schedule": float(ROSTER["BEAT_SECONDS"]),
}

# AI and quizzes -------------------------------------------------------------------------------
# With AI_BASE_URL and AI_MODEL set, an OpenAI-compatible server (OpenAI, Azure OpenAI, vLLM, Ollama,
# llama.cpp) generates and grades; without them the offline deterministic provider does (no network).
AI = {
    "BASE_URL": env("AI_BASE_URL", ""),
    "MODEL": env("AI_MODEL", ""),
    "API_KEY": env("AI_API_KEY", ""),
    "TIMEOUT_SECONDS": float(env("AI_TIMEOUT_SECONDS", "60")),
    "MAX_RETRIES": envint("AI_MAX_RETRIES", 2),
    # json_schema (structured output), json_object, or none, for servers that support less.
    "RESPONSE_FORMAT": env("AI_RESPONSE_FORMAT", "json_schema"),
    # Generated content also goes to the server's /moderations where it has one (auto), or never (off);
    # the offline word list runs either way (docs/ai-control.md, "Moderation").
    "MODERATION": env("AI_MODERATION", "auto"),
    "MODERATION_MODEL": env("AI_MODERATION_MODEL", ""),
}
# A school's own word list for moderation, same format as lms_tool/ai/data/unsafe_terms.txt (blank: that one).
AI_MODERATION_TERMS_FILE = env("AI_MODERATION_TERMS_FILE", "")
QUIZZES = {
    "MAX_UPLOAD_BYTES": envint("QUIZ_MAX_UPLOAD_BYTES", 5 * 1024 * 1024),
    "MAX_TEXT_CHARS": envint("QUIZ_MAX_TEXT_CHARS", 200_000),
    "MAX_QUESTIONS": envint("QUIZ_MAX_QUESTIONS", 50),
    # AI grades with a confidence below this wait for an instructor (per quiz; this is the default).
    "REVIEW_THRESHOLD": float(env("QUIZ_REVIEW_THRESHOLD", "0.8")),
}
# Attempts whose time ran out while the student was away are submitted with what they saved.
CELERY_BEAT_SCHEDULE["quizzes-close-expired"] = {
    "task": "lms_tool.quizzes.tasks.attempts_close_expired_task",
    "schedule": 60.0,
}

# Grading -------------------------------------------------------------------------------------
# Grade passback (lms_tool/grading). Scores wait in the outbox table until the platform has them.
# False keeps new scores in the outbox (pending) without enqueueing them; the sweep posts them once on.
GRADING_PASSBACK_ENABLED = envbool("GRADING_PASSBACK_ENABLED", True)
# Retries of a platform that is down: exponential backoff with full jitter from BASE, capped at
# CAP seconds per wait, never sooner than the platform's Retry-After; then the score is a dead letter.
GRADING_RETRY_BASE_SECONDS = float(env("GRADING_RETRY_BASE_SECONDS", "2"))
GRADING_RETRY_CAP_SECONDS = float(env("GRADING_RETRY_CAP_SECONDS", "600"))
GRADING_MAX_ATTEMPTS = envint("GRADING_MAX_ATTEMPTS", 12)
# How long a worker holds a score while posting it (longer than a token request, a post and a retry).
GRADING_LEASE_SECONDS = envint("GRADING_LEASE_SECONDS", 120)
# The sweep re-enqueues pending scores overdue by more than this (lost messages, dead workers).
GRADING_SWEEP_SECONDS = envint("GRADING_SWEEP_SECONDS", 60)
# A posting task that finds the database unreachable asks again, from 0.5 s doubling to 10 s, this many times
# (about 6 minutes), so its score goes out within seconds of the database's return; then the sweep has it.
GRADING_DATABASE_RETRIES = envint("GRADING_DATABASE_RETRIES", 40)
# A worker posts the score it was given with other due scores of the same platform, this many at
# most, over its kept connections and one token, recording them in parts (grading/passback.RECORD_PART)
# while the later posts are out. Claiming a batch costs a few statements: a larger one spreads them.
GRADING_POST_BATCH = envint("GRADING_POST_BATCH", 200)
# Posts of one batch (one platform) a worker keeps in flight at once, each over its own kept connection: the cap
# on how hard one worker presses one platform (a platform that answers at once gets 2: grading/passback.window_for).
# 1 on the embedded SQLite default (one writer at a time there).
GRADING_POSTS_IN_FLIGHT = envint(
    "GRADING_POSTS_IN_FLIGHT", 1 if str(DATABASES["default"]["ENGINE"]).endswith("sqlite3") else 4
)
# After an outage, the first retried score that gets through makes this many waiting scores of the
# same platform due at once (each of those pulls the next batch), instead of waiting out their backoff.
GRADING_RECOVERY_BATCH = envint("GRADING_RECOVERY_BATCH", 100)
# A new score queues its post only if no post of its platform is queued and waiting to claim (its batch will take
# the score): one task per batch in a class's submits, not one per score (grading/queue.py). The mark lives in the
# shared cache, so on by default with Redis; the embedded database cache would pay a write per score for it.
GRADING_POSTS_QUEUED_ONCE = envbool("GRADING_POSTS_QUEUED_ONCE", bool(REDIS_URL))
CELERY_BEAT_SCHEDULE["grading-scores-sweep"] = {
    "task": "grading.scores_sweep",
    "schedule": float(GRADING_SWEEP_SECONDS),
}

# Flashcards ----------------------------------------------------------------------------------
# FSRS decks (lms_tool/flashcards). Deck progress goes to the gradebook at most once per learner and
# placement per GRADE_INTERVAL (a debounce); the flush, every GRADE_INTERVAL / 2, posts what changed since,
# so a rating reaches the gradebook within GRADE_INTERVAL * 1.5 (45 s by default). Recall-graded columns are
# also recomputed every GRADE_REFRESH (memories fade without a rating). See docs/production.md.
FLASHCARDS = {
    "GRADE_INTERVAL_SECONDS": envint("FLASHCARDS_GRADE_INTERVAL_SECONDS", 30),
    "GRADE_REFRESH_SECONDS": envint("FLASHCARDS_GRADE_REFRESH_SECONDS", 3600),
    "MAX_IMPORT_BYTES": envint("FLASHCARDS_MAX_IMPORT_BYTES", 2 * 1024 * 1024),
    "MAX_IMPORT_ROWS": envint("FLASHCARDS_MAX_IMPORT_ROWS", 5000),
    # FSRS weights are fitted to a learner with this many reviews (lms_tool/flashcards/optimizer.py), and to a
    # deck once its learners without weights of their own have this many between them.
    "OPTIMIZER_MIN_REVIEWS": envint("FLASHCARDS_OPTIMIZER_MIN_REVIEWS", 400),
    "OPTIMIZER_MIN_DECK_REVIEWS": envint("FLASHCARDS_OPTIMIZER_MIN_DECK_REVIEWS", 1000),
    # Of the days FSRS's fuzz allows for a card, pick the one with the fewest of the learner's cards due.
    "LOAD_BALANCING": envbool("FLASHCARDS_LOAD_BALANCING", True),
}
CELERY_BEAT_SCHEDULE["flashcards-grades-flush"] = {
    "task": "flashcards.grades_flush",
    "schedule": float(max(5, FLASHCARDS["GRADE_INTERVAL_SECONDS"] // 2)),
}
# Fits FSRS weights for the learners and decks due for it (lms_tool/flashcards/optimizer.py).
CELERY_BEAT_SCHEDULE["flashcards-optimize-parameters"] = {"task": "flashcards.optimize_parameters", "schedule": 86400.0}
# Learners who need help: every course with something published is assessed this often; a change of a
# learner's state publishes learner.at_risk / learner.recovered (docs/analytics.md, "Learners who need help").
ANALYTICS_RISK_REFRESH_SECONDS = envint("ANALYTICS_RISK_REFRESH_SECONDS", 3600)
CELERY_BEAT_SCHEDULE["analytics-risk-refresh"] = {
    "task": "analytics.risk_refresh",
    "schedule": float(ANALYTICS_RISK_REFRESH_SECONDS),
}

# Sandbox -------------------------------------------------------------------------------------
# A Canvas-like and a Moodle-like LTI platform beside the tool (lms_tool/sandbox), to try it without an
# LMS: `make run` turns it on. They register themselves in the tool's database as two platforms, so
# it is never on in production unless an admin sets SANDBOX. SANDBOX_PORT 0 means PORT + 1.
SANDBOX = envbool("SANDBOX", False)
SANDBOX_PORT = envint("SANDBOX_PORT", 0)

# Operations ----------------------------------------------------------------------------------
# /metrics (lms_tool/core/metrics.py) answers only clients in these networks (loopback by default) or a
# request with "Authorization: Bearer METRICS_TOKEN"; under gunicorn set PROMETHEUS_MULTIPROC_DIR so the
# web processes' counters add up (docs/production.md, "Objectives and alerts"). Scraped over plain HTTP.
METRICS_ALLOWED_NETWORKS = envlist("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
METRICS_TOKEN = env("METRICS_TOKEN", "")
SECURE_REDIRECT_EXEMPT += [r"^metrics$"]
# A generation's worker holds its run this long between two parts (more than one model call with its
# retries); a re-delivered task finding the lease held does nothing (lms_tool/core/leases.py).
GENERATION_LEASE_SECONDS = envint("GENERATION_LEASE_SECONDS", 600)
# `manage.py retention_purge` deletes attempts' answers, flashcard review logs and webhook deliveries older
# than this, unless a registration sets its own period (Registration.retention_days).
RETENTION_DAYS = envint("RETENTION_DAYS", 730)
