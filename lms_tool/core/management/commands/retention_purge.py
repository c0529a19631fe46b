"""`manage.py retention_purge [--dry-run]`: delete what is past each registration's retention period
(docs/production.md, "Retention"); run it daily."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from lms_tool.core.tenancy import retention_purge


class Command(BaseCommand):
    help = "Delete answers, flashcard review logs and webhook deliveries older than each registration's retention."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        verb = "would delete" if dry_run else "deleted"
        for row in retention_purge(dry_run=dry_run):
            scope = (
                f"registration {row['registration']}" if row["registration"] is not None else "events without a course"
            )
            counts = ", ".join(
                f"{row.get(k, 0)} {k.replace('_', ' ')}" for k in ("answers", "review_logs", "webhook_deliveries")
            )
            self.stdout.write(
                f"{scope} (kept {row['retention_days']} days, before {row['before']:%Y-%m-%d}): {verb} {counts}"
            )
