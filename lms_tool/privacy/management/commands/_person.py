"""Finding the person a privacy command is about."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser

from lms_tool.lti.models import LtiUser


def add_person_arguments(parser: CommandParser) -> None:
    parser.add_argument("--user", type=int, help="The user's id in this tool.")
    parser.add_argument("--issuer", help="With --sub: the platform's issuer.")
    parser.add_argument("--sub", help="With --issuer: the platform's user id (LTI 'sub').")
    parser.add_argument("--email", help="Every user with this email (found by its blind index).")


def people(*, user: int | None, issuer: str | None, sub: str | None, email: str | None) -> list[LtiUser]:
    users = LtiUser.objects.select_related("registration")
    if user is not None:
        found = list(users.filter(pk=user))
    elif issuer and sub:
        found = list(users.filter(registration__issuer=issuer, sub=sub))
    elif email:
        found = list(users.filter(email__blind=email))
    else:
        raise CommandError("Say who: --user ID, or --issuer ISS --sub SUB, or --email ADDRESS.")
    if not found:
        raise CommandError("No such person in this tool.")
    return found
