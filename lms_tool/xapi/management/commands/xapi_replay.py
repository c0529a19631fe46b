"""Send dead-lettered xAPI statements again (after the LRS or its credentials were fixed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lms_tool.xapi import services
from lms_tool.xapi.models import LrsEndpoint


class Command(BaseCommand):
    help = "Replay dead-lettered xAPI statements: all of them, one LRS endpoint's, or the given statement pks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("pks", nargs="*", type=int, help="Statement pks (as the admin lists them).")
        parser.add_argument("--endpoint", type=int, help="Only this LRS endpoint's dead letters (its pk).")

    def handle(self, *args: Any, **options: Any) -> None:
        endpoint = options.get("endpoint")
        if endpoint is not None and not LrsEndpoint.objects.filter(pk=endpoint).exists():
            raise CommandError(f"No LRS endpoint {endpoint}: see the admin's 'LRS endpoints' for their numbers.")
        pks = options["pks"] or services.dead_statements(endpoint_pk=endpoint)
        count = services.statements_replay(pks=pks, actor="manage.py xapi_replay")
        self.stdout.write(f"{count} statement(s) queued again.")
