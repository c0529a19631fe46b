"""Which service scopes a platform grants, as its launches show them.

Canvas lets an admin turn scopes off after a dynamic registration, and Moodle maps them to
settings an admin can change later: what the registration answer said is not assumed forever.
Each launch in a course carries the AGS claim with the scopes the tool may use (AGS §3.1,
``scope``) and, when the roster service is on, the NRPS claim (NRPS §3.6.1); the registration's
``scopes`` follow them, so the admin pages and the services see what is granted now. Each message type
changes only the scopes it speaks for (``SPEAKS_FOR``), so a deep-linking launch without the roster claim
does not take away what the course's resource link launches grant.
"""

from __future__ import annotations

import logging
from typing import Any

from . import claims as c
from . import tool_config
from .models import Registration

logger = logging.getLogger(__name__)


AGS_SCOPES = frozenset(tool_config.REQUESTED_SCOPES) - {tool_config.SCOPE_NRPS}
ALL_SCOPES = frozenset(tool_config.REQUESTED_SCOPES)
# Which scopes a launch of each message type speaks for, present or absent. NRPS §3.6.1 asks for the roster
# claim on resource link launches; Moodle leaves it out of its deep-linking (DL §4.4) and submission review
# requests even when the roster service is on, so there its absence says nothing and the stored roster scope
# is kept (a claim that is present still grants it). docs/platforms.md lists the claims each platform sends.
SPEAKS_FOR: dict[str, frozenset[str]] = {"LtiResourceLinkRequest": ALL_SCOPES}


def observed(claims: dict[str, Any]) -> tuple[set[str], frozenset[str]] | None:
    """The tool's scopes granted according to one launch, and the scopes it speaks for; None when it says nothing."""
    ags = claims.get(c.AGS_ENDPOINT)
    if not isinstance(ags, dict) or not isinstance(ags.get("scope"), list):
        return None  # no course context, or grading off for this link: nothing learned
    granted = {s for s in ags["scope"] if s in AGS_SCOPES}
    speaks_for = SPEAKS_FOR.get(str(claims.get(c.MESSAGE_TYPE) or ""), AGS_SCOPES)
    if isinstance(claims.get(c.NRPS), dict):
        granted.add(tool_config.SCOPE_NRPS)
        speaks_for = speaks_for | {tool_config.SCOPE_NRPS}
    return granted, speaks_for


def scopes_observe(*, registration: Registration, claims: dict[str, Any]) -> bool:
    """Record the scopes a launch shows when they differ from the stored ones (no write otherwise).

    Only the scopes the launch's message type speaks for change: the others keep what the last launch
    that did speak for them granted."""
    seen = observed(claims)
    if seen is None:
        return False
    granted, speaks_for = seen
    stored = set(registration.scopes or [])
    scopes = sorted((stored - speaks_for) | granted)
    if sorted(stored) == scopes:
        return False
    logger.info("scopes of %s changed from %s to %s", registration, registration.scopes, scopes)
    Registration.objects.filter(pk=registration.pk).update(scopes=scopes)
    registration.scopes = scopes
    return True
