"""`manage.py check --deploy`: what production must have set (docs/production.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register(checks.Tags.security, deploy=True)
def keys_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    mode = settings.LMS_TOOL_MODE
    if mode != "production":
        return [
            checks.Warning(
                f"LMS_TOOL_MODE is {mode}: secrets come from a file under var/ or are fixed for tests.",
                hint="Leave LMS_TOOL_MODE unset (production) and set SECRET_KEY and FIELD_ENCRYPTION_KEYS.",
                id="lms_tool.W001",
            )
        ]
    try:
        secret = settings.SECRET_KEY
    except ImproperlyConfigured:
        secret = ""
    missing = [
        name
        for name, value in (("SECRET_KEY", secret), ("FIELD_ENCRYPTION_KEYS", settings.FIELD_ENCRYPTION_KEYS))
        if not value
    ]
    if missing:
        return [
            checks.Error(
                f"{' and '.join(missing)} not set: production refuses to start without them.",
                hint="Set them in the environment (docs/production.md).",
                id="lms_tool.E001",
            )
        ]
    return []
