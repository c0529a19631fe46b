"""`manage.py tenant_offboard --registration ID --export DIR [--delete]`: hand a leaving school its data, then
delete it (docs/production.md, "Tenant offboarding")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lms_tool.core.tenancy import tenant_delete, tenant_export


class Command(BaseCommand):
    help = "Export everything of one registration as JSON files; with --delete, then delete it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--registration", type=int, required=True, help="The registration's id (lti_platform list)."
        )
        parser.add_argument("--export", type=Path, help="A new directory for the JSON files (required).")
        parser.add_argument("--delete", action="store_true", help="After the export, delete the registration's data.")

    def handle(self, *args: Any, registration: int, export: Path | None, delete: bool, **options: Any) -> None:
        if export is None:
            raise CommandError(
                "Refused: give --export DIR. Nothing is deleted before it was exported (add --delete to delete after)."
            )
        try:
            counts = tenant_export(registration_id=registration, directory=export)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"exported {sum(counts.values())} rows of registration {registration} to {export}")
        if delete:
            deleted = tenant_delete(registration_id=registration)
            self.stdout.write(f"deleted registration {registration} and {sum(deleted.values()) - 1} rows under it")
