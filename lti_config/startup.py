"""What the production entry points check before serving: gunicorn's WSGI app (wsgi.py), the ASGI app
(asgi.py) and the Celery worker and beat (celery.py).

Without ``SECRET_KEY`` and ``FIELD_ENCRYPTION_KEYS`` a production process would sign sessions and
encrypt private keys with whatever it found, and a second machine or the next deploy would no longer
read them; so production refuses to start instead. ``LMS_TOOL_MODE=development`` (``make run``) and
``test`` (pytest, ``make test``) are the explicit ways out (docs/production.md).
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


def keys_required() -> None:
    """Raise ``ImproperlyConfigured``, saying what to set, unless this process has the keys it needs."""
    from cryptography.fernet import Fernet
    from django.conf import settings

    def has(name: str) -> bool:
        try:
            return bool(getattr(settings, name))
        except ImproperlyConfigured:  # Django refuses to hand out an empty SECRET_KEY
            return False

    mode = settings.LMS_TOOL_MODE
    if mode != "production":
        if not has("SECRET_KEY"):
            raise ImproperlyConfigured(
                f"Refusing to start: LMS_TOOL_MODE={mode} but {settings.SECRET_KEY_FILE} does not exist. "
                "Run `python manage.py secret_init` once (`make run` does), or set SECRET_KEY."
            )
        return
    missing = [name for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS") if not has(name)]
    if missing:
        raise ImproperlyConfigured(
            f"Refusing to start in production without {' and '.join(missing)}: set them in the environment "
            "(or NAME_FILE for a secret file), as docs/production.md describes. "
            "To try the tool on this machine, use `make run` (LMS_TOOL_MODE=development)."
        )
    for position, key in enumerate(settings.FIELD_ENCRYPTION_KEYS, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"Refusing to start: key {position} of FIELD_ENCRYPTION_KEYS is not a Fernet key "
                "(32 url-safe base64-encoded bytes; docs/production.md shows how to make one)."
            ) from None
