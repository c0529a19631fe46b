"""Register, list and remove platforms from a script: `manage.py lti_platform add|list|remove`."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lms_tool.lti import registry
from lms_tool.lti.models import DeploymentPolicy, Family, Registration


class Command(BaseCommand):
    help = "Manage platform registrations (idempotent: `add` updates an existing issuer + client_id)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Add or update a registration.")
        add.add_argument("--issuer", required=True)
        add.add_argument("--client-id", required=True)
        add.add_argument("--login-url", required=True, help="The platform's OIDC auth endpoint.")
        add.add_argument("--token-url", required=True)
        add.add_argument("--jwks-url", required=True)
        add.add_argument("--audience", default="", help="Token audience, if not the token URL.")
        add.add_argument("--deployment-id", action="append", default=[], dest="deployment_ids")
        add.add_argument("--family", choices=Family.values)
        add.add_argument("--name", default="")
        add.add_argument(
            "--deployments",
            choices=DeploymentPolicy.values,
            help="accept: new deployment ids are accepted on launch; refuse: only listed ones.",
        )
        lst = sub.add_parser("list", help="List registrations.")
        lst.add_argument("--json", action="store_true")
        rm = sub.add_parser("remove", help="Remove a registration and everything under it.")
        rm.add_argument("--issuer", required=True)
        rm.add_argument("--client-id", required=True)

    def handle(self, *args: Any, action: str, **opts: Any) -> None:
        getattr(self, f"_{action}")(**opts)

    def _add(self, **o: Any) -> None:
        try:
            registration, created = registry.registration_upsert(
                issuer=o["issuer"],
                client_id=o["client_id"],
                auth_login_url=o["login_url"],
                auth_token_url=o["token_url"],
                key_set_url=o["jwks_url"],
                auth_audience=o["audience"],
                family=o["family"],
                name=o["name"],
                deployment_policy=o["deployments"],
                deployment_ids=o["deployment_ids"],
                actor="cli",
            )
        except registry.RegistrationInvalid as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{'Created' if created else 'Updated'} registration {registration.pk}: {registration}")

    def _list(self, **o: Any) -> None:
        rows: list[dict[str, Any]] = [
            {
                "id": r.pk,
                "issuer": r.issuer,
                "client_id": r.client_id,
                "family": r.family,
                "login_url": r.auth_login_url,
                "token_url": r.auth_token_url,
                "jwks_url": r.key_set_url,
                "deployment_policy": r.deployment_policy,
                "active": r.is_active,
                "deployments": [d.deployment_id for d in r.deployments.all()],
            }
            for r in Registration.objects.prefetch_related("deployments")
        ]
        if o["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("No registrations.")
        for row in rows:
            self.stdout.write(
                f"{row['id']:>4}  {row['issuer']}  client_id={row['client_id']}  family={row['family']}  "
                f"deployments={','.join(row['deployments']) or '-'} ({row['deployment_policy']})"
                + ("" if row["active"] else "  INACTIVE")
            )

    def _remove(self, **o: Any) -> None:
        if not registry.registration_remove(issuer=o["issuer"], client_id=o["client_id"], actor="cli"):
            raise CommandError(f"No registration for issuer {o['issuer']!r} and client_id {o['client_id']!r}.")
        self.stdout.write("Removed.")
