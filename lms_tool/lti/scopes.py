"""Which service scopes a platform grants, as its launches show them.

Canvas lets an admin turn scopes off after a dynamic registration, and Moodle maps them to
settings an admin can change later: what the registration answer said is not assumed forever.
Each launch in a course carries the AGS claim with the scopes the tool may use (AGS §3.1,
``scope``) and, when the roster service is on, the NRPS claim (NRPS §3.6.1); the registration's
``scopes`` follow them, so the admin pages and the services see what is granted now.
"""

from __future__ import annotations

import logging
from typing import Any

from . import claims as c
from . import tool_config
from .models import Registration

logger = logging.getLogger(__name__)


def observed(claims: dict[str, Any]) -> list[str] | None:
    """The tool's scopes granted according to one launch, or None when it does not say."""
    ags = claims.get(c.AGS_ENDPOINT)
    if not isinstance(ags, dict) or not isinstance(ags.get("scope"), list):
        return None  # no course context, or grading off for this link: nothing learned
    scopes = {s for s in ags["scope"] if s in tool_config.REQUESTED_SCOPES}
    if isinstance(claims.get(c.NRPS), dict):
        scopes.add(tool_config.SCOPE_NRPS)
    return sorted(scopes)


def scopes_observe(*, registration: Registration, claims: dict[str, Any]) -> bool:
    """Record the scopes a launch shows when they differ from the stored ones (no write otherwise)."""
    seen = observed(claims)
    if seen is None or sorted(registration.scopes or []) == seen:
        return False
    logger.info("scopes of %s changed from %s to %s", registration, registration.scopes, seen)
    Registration.objects.filter(pk=registration.pk).update(scopes=seen)
    registration.scopes = seen
    return True
