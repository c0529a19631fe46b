"""A registration's AI decision from a script: `manage.py ai_control show|set` (docs/ai-control.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lms_tool.lti import ai_control
from lms_tool.lti.models import Registration


class Command(BaseCommand):
    help = "Show or set a registration's AI provider (on/off) and monthly token budget, and what leaves the tool."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("show", help="The decision, this month's usage and what is sent where.")
        show.add_argument("registration", help="The registration's id (see `lti_platform list`).")
        change = sub.add_parser("set", help="Change the decision (audited).")
        change.add_argument("registration", help="The registration's id (see `lti_platform list`).")
        change.add_argument("--ai", choices=["on", "off"], help="off: offline provider only, nothing leaves.")
        change.add_argument("--budget", help="Tokens per calendar month (UTC), at least 1; 'none' for no limit.")

    def handle(self, *args: Any, action: str, registration: str, **opts: Any) -> None:
        found = Registration.objects.filter(pk=int(registration)).first() if registration.isdigit() else None
        if found is None:
            raise CommandError(f"There is no registration with id {registration!r}; `lti_platform list` shows them.")
        if action == "set":
            found = self._set(found, **opts)
        self._show(found)

    def _set(self, registration: Registration, *, ai: str | None, budget: str | None, **_: Any) -> Registration:
        if ai is None and budget is None:
            raise CommandError("Say what to change: --ai on|off and/or --budget N|none.")
        try:
            return ai_control.ai_settings_update(
                registration=registration,
                ai_enabled=registration.ai_enabled if ai is None else ai == "on",
                budget=registration.ai_monthly_token_budget if budget is None else budget,
                actor="cli",
                source="cli",
            )
        except ai_control.AiSettingsInvalid as exc:
            raise CommandError(f"Nothing was changed: {exc}") from exc

    def _show(self, registration: Registration) -> None:
        self.stdout.write(f"Registration {registration.pk}: {registration}")
        self.stdout.write(f"  AI provider: {'on' if registration.ai_enabled else 'off'}")
        self.stdout.write(f"  This month: {ai_control.budget_line(registration)}")
        for line in ai_control.data_flow(registration):
            self.stdout.write(f"  - {line}")
