"""Rotate and list the tool's signing keys: `manage.py lti_keys rotate|list`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from lms_tool.lti import keys
from lms_tool.lti.models import ToolKey


class Command(BaseCommand):
    help = "Manage the tool's RSA signing keys."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rotate = sub.add_parser("rotate", help="Make a new key active; the old one stays published for the overlap.")
        rotate.add_argument("--overlap-hours", type=float, help="Default: LTI_KEY_OVERLAP_SECONDS (7 days).")
        sub.add_parser("list", help="List keys and whether they are published.")

    def handle(self, *args: Any, action: str, **opts: Any) -> None:
        if action == "rotate":
            hours = opts.get("overlap_hours")
            new = keys.key_rotate(overlap=timedelta(hours=hours) if hours is not None else None, actor="cli")
            self.stdout.write(f"New active key {new.kid}")
            return
        now = timezone.now()
        published = set(ToolKey.objects.published(now).values_list("pk", flat=True))
        for key in ToolKey.objects.all():
            state = "active" if key.is_active else ("retiring" if key.pk in published else "retired")
            until = f" until {key.retired_at:%Y-%m-%d %H:%M}" if key.retired_at and state == "retiring" else ""
            self.stdout.write(f"{key.kid}  {state}{until}  created {key.created_at:%Y-%m-%d %H:%M}")
