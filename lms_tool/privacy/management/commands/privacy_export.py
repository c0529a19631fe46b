"""`manage.py privacy_export --user 12 [--out file.json]`: everything held about one person."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from lms_tool.privacy.services import person_export

from ._person import add_person_arguments, people


class Command(BaseCommand):
    help = "Export one person's data (access request) as JSON; the export is recorded in the audit log."

    def add_arguments(self, parser: CommandParser) -> None:
        add_person_arguments(parser)
        parser.add_argument("--out", help="Write to this file instead of standard output.")
        parser.add_argument("--actor", default="cli", help="Who asked (kept in the audit log).")

    def handle(self, *args: Any, **opts: Any) -> None:
        found = people(user=opts["user"], issuer=opts["issuer"], sub=opts["sub"], email=opts["email"])
        exports = [person_export(user=u, actor_type="admin", actor_id=opts["actor"]) for u in found]
        text = json.dumps(exports[0] if len(exports) == 1 else exports, indent=2, ensure_ascii=False)
        if opts["out"]:
            Path(opts["out"]).write_text(text)
            self.stdout.write(f"Wrote {len(exports)} export(s) to {opts['out']}")
        else:
            self.stdout.write(text)
