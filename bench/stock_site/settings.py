"""A minimal Django project serving stock pylti1p3 as its README shows it: the baseline for bench/launch.py.

Signed-cookie sessions (pylti1p3's default ``SessionService`` keeps state, nonce and launch data in
the Django session), no database (``bench/burst.py`` gives it one through ``STOCK_DATABASE_URL`` for its plain form POST), the
usual middleware. The tool configuration arrives as JSON in
``STOCK_LTI_CONF`` (a ``ToolConfDict``); ``STOCK_KEY_CACHING=1`` turns on pylti1p3's
``set_public_key_caching`` with a per-process locmem cache (off by default, as shipped).
"""

import os

SECRET_KEY = os.environ.get("STOCK_SECRET_KEY", "bench-only-not-a-secret-" + "x" * 40)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.stock_site.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
DATABASES: dict[str, dict[str, object]] = {}
# bench/burst.py: the stock tool stores each form POST as a row in PostgreSQL, with the same persistent
# connections (CONN_MAX_AGE) and prepared statements as the tool's own settings, so the baseline pays no
# connection set-up per request and PostgreSQL plans its INSERT once per connection.
if os.environ.get("STOCK_DATABASE_URL"):
    from urllib.parse import urlparse

    _db = urlparse(os.environ["STOCK_DATABASE_URL"])
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _db.path.lstrip("/"),
        "USER": _db.username or "",
        "PASSWORD": _db.password or "",
        "HOST": _db.hostname or "",
        "PORT": str(_db.port or 5432),
        "CONN_MAX_AGE": 60,
        "OPTIONS": {"server_side_binding": True, "prepare_threshold": 5},
    }
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
USE_TZ = True
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
