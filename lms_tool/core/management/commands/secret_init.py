"""`make run`: create the development secret once, before the tool starts (settings only read it)."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create var/secret_key (mode 0600) for LMS_TOOL_MODE=development if it does not exist yet."
    requires_system_checks: list[str] = []  # the checks would read the secret this command creates

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.LMS_TOOL_MODE == "production":
            raise CommandError(
                "LMS_TOOL_MODE is production: production reads SECRET_KEY from the environment, "
                "never from a file this command writes (docs/production.md)."
            )
        path = settings.SECRET_KEY_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: two `make run`s starting at once cannot both write (and one overwrite the other's) secret.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            self.stdout.write(f"{path} exists; kept.")
            return
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
        self.stdout.write(f"Created {path} (mode 0600): the development secret.")
