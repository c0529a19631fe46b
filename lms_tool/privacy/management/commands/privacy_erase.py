"""`manage.py privacy_erase --user 12 [--delete] --yes`: erase one person's personal data."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lms_tool.privacy.services import person_erase

from ._person import add_person_arguments, people


class Command(BaseCommand):
    help = (
        "Erase one person's PII (name, email, SIS id). With --delete, also delete the person and every record "
        "that belongs to them (attempts, scores, reviews). The audit log keeps a line of the erasure."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_person_arguments(parser)
        parser.add_argument("--delete", action="store_true", help="Delete the person and their records.")
        parser.add_argument("--yes", action="store_true", help="Confirm: erasure cannot be undone.")
        parser.add_argument("--actor", default="cli", help="Who asked (kept in the audit log).")

    def handle(self, *args: Any, **opts: Any) -> None:
        found = people(user=opts["user"], issuer=opts["issuer"], sub=opts["sub"], email=opts["email"])
        if not opts["yes"]:
            raise CommandError(f"This erases {len(found)} person(s) for good; add --yes to go ahead.")
        for user in found:
            summary = person_erase(user=user, actor_type="admin", actor_id=opts["actor"], delete=opts["delete"])
            self.stdout.write(f"user {user.pk}: {summary['mode']}; related rows {summary['related_rows']}")
