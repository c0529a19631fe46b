"""`manage.py reencrypt`: after adding a new first key to FIELD_ENCRYPTION_KEYS, rewrite every ciphertext."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from lms_tool.privacy.rotation import reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column (PII, signing keys, webhook secrets) with the first key of "
        "FIELD_ENCRYPTION_KEYS. Run it after putting a new key first; then the old key can be removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int, **opts: Any) -> None:
        counts = reencrypt(batch_size=batch_size)
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {sum(counts.values())} value(s) re-encrypted."))
