"""Invite a platform to register by Dynamic Registration: `manage.py lti_invitation create|list|revoke`.

`create` prints the registration URL once (only a keyed hash of its token is stored); the platform
admin pastes it into Canvas or Moodle, and the registration is active at once (docs/canvas.md).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from lms_tool.lti import dynamic_registration, registry, selectors
from lms_tool.lti.models import RegistrationInvitation


class Command(BaseCommand):
    help = "Create, list and revoke single-use Dynamic Registration invitations."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create an invitation and print its registration URL (shown once).")
        create.add_argument("--label", required=True, help='Who it is for, e.g. "Springfield HS".')
        create.add_argument(
            "--days", type=int, default=registry.INVITATION_DAYS, help="Days until it expires (default 7)."
        )
        create.add_argument("--base-url", default="", help="The tool's address, if not TOOL_BASE_URL.")
        lst = sub.add_parser("list", help="List invitations and their status.")
        lst.add_argument("--open", action="store_true", help="Only those that can still be used.")
        revoke = sub.add_parser("revoke", help="Revoke an unused invitation.")
        revoke.add_argument("id", type=int)

    def handle(self, *args: Any, action: str, **opts: Any) -> None:
        getattr(self, f"_{action}")(**opts)

    def _create(self, **o: Any) -> None:
        try:
            invitation, token = registry.invitation_create(label=o["label"], days=o["days"], created_by="cli")
        except registry.RegistrationInvalid as exc:
            raise CommandError(str(exc)) from exc
        base = (o["base_url"] or selectors.base_url()).rstrip("/")
        self.stdout.write(
            f"Invitation {invitation.pk} for {invitation.label!r}, single use, "
            f"expires {invitation.expires_at:%Y-%m-%d %H:%M %Z}.\n"
            "Paste this URL in Canvas (Developer Keys > + LTI Registration) or Moodle (Manage tools > Tool URL);\n"
            "it is shown only now:\n"
        )
        self.stdout.write(dynamic_registration.invitation_url(base=base, token=token))

    def _list(self, **o: Any) -> None:
        now = timezone.now()
        rows = [
            i
            for i in RegistrationInvitation.objects.select_related("registration")
            if not o["open"] or i.status(now) == "open"
        ]
        if not rows:
            self.stdout.write("No invitations.")
        for i in rows:
            self.stdout.write(
                f"{i.pk:>4}  {i.status(now):<8} {i.label or '-'}  expires {i.expires_at:%Y-%m-%d %H:%M}"
                f"  by {i.created_by or '-'}" + (f"  -> {i.registration}" if i.registration else "")
            )

    def _revoke(self, **o: Any) -> None:
        if not registry.invitation_revoke(invitation_id=o["id"], actor="cli"):
            raise CommandError(f"No unused invitation {o['id']}: see `manage.py lti_invitation list`.")
        self.stdout.write(f"Revoked invitation {o['id']}.")
