"""What a member's LTI roles let them do in the tool (LTI core appendix A.2 role vocabularies)."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext, gettext_lazy

from lms_tool.lti import claims as c
from lms_tool.lti import roles as lti_roles

SUBROLE_PREFIX = "http://purl.imsglobal.org/vocab/lis/v2/membership/"
INSTITUTION_OR_SYSTEM = (c.ROLE_INSTITUTION, c.ROLE_SYSTEM)

# Tool permissions per context role; a sub-role with an entry here counts as itself, not as its principal
# (``membership/Instructor#TeachingAssistant`` may grade but not manage activities).
PERMISSIONS: dict[str, frozenset[str]] = {
    "Administrator": frozenset({"manage", "grade", "view_roster"}),
    "Instructor": frozenset({"manage", "grade", "view_roster"}),
    "TeachingAssistant": frozenset({"grade", "view_roster"}),
    "Grader": frozenset({"grade", "view_roster"}),
    "ContentDeveloper": frozenset({"manage"}),
    "Mentor": frozenset({"view_roster"}),
    "Learner": frozenset({"learn"}),
}
LABELS = {
    "Administrator": gettext_lazy("Administrator"),
    "Instructor": gettext_lazy("Instructor"),
    "TeachingAssistant": gettext_lazy("Teaching assistant"),
    "Grader": gettext_lazy("Grader"),
    "ContentDeveloper": gettext_lazy("Content developer"),
    "Mentor": gettext_lazy("Mentor"),
    "Learner": gettext_lazy("Student"),  # what Canvas and Moodle call a learner on their own roster pages
}
ORDER = list(LABELS)


def role_names(roles: Iterable[str]) -> frozenset[str]:
    """The known course role names in ``roles``: what decides permissions, and what a role change is."""
    names: set[str] = set()
    for role in roles:
        if role.startswith(INSTITUTION_OR_SYSTEM):
            continue  # not a course role: NRPS does not list them, so they would flip on every sync
        if role.startswith(SUBROLE_PREFIX) and "#" in role:
            principal, _, sub = role[len(SUBROLE_PREFIX) :].partition("#")
            names.add(sub if sub in PERMISSIONS else principal)
        else:
            names.update(lti_roles.short_names([role]))
    return frozenset(names & PERMISSIONS.keys())


def permissions(roles: Iterable[str]) -> frozenset[str]:
    granted: set[str] = set()
    for name in role_names(roles):
        granted |= PERMISSIONS[name]
    return frozenset(granted)


def role_label(roles: Iterable[str]) -> str:
    names = role_names(roles)
    # Shown on the roster page, in the launch's language (docs/translation.md).
    return ", ".join(str(LABELS[n]) for n in ORDER if n in names) or gettext("No course role")
