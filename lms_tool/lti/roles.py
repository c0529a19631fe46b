"""What a set of LTI role URIs allows in the tool (LTI core §A.2)."""

from __future__ import annotations

from collections.abc import Iterable

from . import claims as c

# Mentor is not staff: Canvas observers (parents) launch as Mentor and must not get the staff view.
STAFF = {"Instructor", "TeachingAssistant", "ContentDeveloper", "Administrator"}
LEARNER = {"Learner"}
# Principal context roles (LTI core §A.2.3). A sub-role named like one of them (``Learner#Instructor``)
# is a kind of its own principal, not that role.
PRINCIPALS = {"Administrator", "ContentDeveloper", "Instructor", "Learner", "Mentor", "Manager", "Member", "Officer"}
SUB_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership/"


def short_names(roles: Iterable[str]) -> set[str]:
    """Context roles by short name; a sub-role (``membership/Instructor#TeachingAssistant``) counts as its principal
    and, unless it is named like a principal role, as its own name. Institution and system Administrator roles count
    as Administrator."""
    names: set[str] = set()
    for role in roles:
        if role.startswith(c.ROLE_CONTEXT):
            names.add(role[len(c.ROLE_CONTEXT) :])
        elif role.startswith(SUB_ROLE):
            principal, _, sub = role[len(SUB_ROLE) :].partition("#")
            names.update(n for n in (principal, sub if sub not in PRINCIPALS else "") if n)
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
