"""What a set of LTI role URIs allows in the tool (LTI core §A.2)."""

from __future__ import annotations

from collections.abc import Iterable

from . import claims as c

STAFF = {"Instructor", "TeachingAssistant", "ContentDeveloper", "Administrator", "Mentor"}
LEARNER = {"Learner"}


def short_names(roles: Iterable[str]) -> set[str]:
    """Context roles by short name; a sub-role (``membership/Instructor#TeachingAssistant``) counts as its principal
    and its own name. Institution and system Administrator roles count as Administrator."""
    names: set[str] = set()
    for role in roles:
        if role.startswith(c.ROLE_CONTEXT):
            names.add(role[len(c.ROLE_CONTEXT):])
        elif role.startswith("http://purl.imsglobal.org/vocab/lis/v2/membership/"):
            principal, _, sub = role.rsplit("/", 1)[1].partition("#")
            names.update(n for n in (principal, sub) if n)
        elif role.startswith((c.ROLE_INSTITUTION, c.ROLE_SYSTEM)):
            if role.endswith(("#Administrator", "#SysAdmin")):
                names.add("Administrator")
        elif "/" not in role and "#" not in role:
            names.add(role)  # LTI 1.1-style simple names, deprecated but still sent
    return names


def is_staff(roles: Iterable[str]) -> bool:
    return bool(short_names(roles) & STAFF)


def is_learner(roles: Iterable[str]) -> bool:
    return bool(short_names(roles) & LEARNER)
