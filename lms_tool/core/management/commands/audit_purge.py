"""Delete audit lines older than AUDIT_RETENTION_DAYS: the one deletion the append-only log allows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from lms_tool.core.models import AuditEvent
from lms_tool.core.services import audit_purge


class Command(BaseCommand):
    help = "Delete audit lines older than AUDIT_RETENTION_DAYS and record the purge in the audit log (run daily)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; delete nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        days = settings.AUDIT_RETENTION_DAYS
        before = timezone.now() - timedelta(days=days)
        if options["dry_run"]:
            count = AuditEvent.objects.filter(created_at__lt=before).count()
            self.stdout.write(
                f"{count} audit lines older than {days} days (before {before:%Y-%m-%d %H:%M} UTC) would be deleted."
            )
            return
        deleted = audit_purge(before=before)
        self.stdout.write(f"Deleted {deleted} audit lines older than {days} days (before {before:%Y-%m-%d %H:%M} UTC).")
