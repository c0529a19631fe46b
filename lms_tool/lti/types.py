"""The validated launch as the tool's pages see it: ``request.lti_launch``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import claims as c
from . import roles as r


@dataclass
class LtiLaunch:
    launch_id: str
    claims: dict[str, Any]
    registration_id: int
    deployment_pk: int
    user_pk: int
    context_pk: int | None = None
    resource_link_pk: int | None = None
    membership_pk: int | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def issued_at(self) -> datetime:
        """When the platform signed the launch (``iat``): a membership revoked after it stays refused to it."""
        try:
            return datetime.fromtimestamp(float(self.claims.get("iat") or 0), tz=UTC)
        except (TypeError, ValueError, OverflowError):
            return datetime.fromtimestamp(0, tz=UTC)

    @property
    def message_type(self) -> str:
        return str(self.claims.get(c.MESSAGE_TYPE, ""))

    @property
    def roles(self) -> list[str]:
        return list(self.claims.get(c.ROLES) or [])

    @property
    def role_names(self) -> set[str]:
        return r.short_names(self.roles)

    @property
    def is_staff(self) -> bool:
        return r.is_staff(self.roles)

    @property
    def is_learner(self) -> bool:
        return r.is_learner(self.roles)

    @property
    def sub(self) -> str:
        return str(self.claims.get("sub", ""))

    @property
    def client_id(self) -> str | None:
        """The tool's client_id the launch was validated against (lti/launch.py): ``azp`` when the token has one,
        else its only audience; None for claims that name neither (never a launch this tool validated)."""
        return client_id_of(self.claims)

    @property
    def name(self) -> str:
        return str(self.claims.get("name") or self.claims.get("given_name") or "")

    @property
    def context_claim(self) -> dict[str, Any]:
        return dict(self.claims.get(c.CONTEXT) or {})

    @property
    def resource_link_claim(self) -> dict[str, Any]:
        return dict(self.claims.get(c.RESOURCE_LINK) or {})

    @property
    def custom(self) -> dict[str, Any]:
        return dict(self.claims.get(c.CUSTOM) or {})

    @property
    def ags(self) -> dict[str, Any]:
        return dict(self.claims.get(c.AGS_ENDPOINT) or {})

    @property
    def nrps(self) -> dict[str, Any]:
        return dict(self.claims.get(c.NRPS) or {})

    @property
    def deep_linking_settings(self) -> dict[str, Any]:
        return dict(self.claims.get(c.DL_SETTINGS) or {})

    @property
    def for_user(self) -> dict[str, Any]:
        return dict(self.claims.get(c.FOR_USER) or {})

    @property
    def locale(self) -> str:
        """The language the platform shows this person (LTI 1.3 launch_presentation ``locale``; Canvas also
        sends a top-level ``locale``): a BCP 47 tag such as ``es-MX``, or "" when none was sent."""
        presentation = self.claims.get(c.LAUNCH_PRESENTATION) or {}
        value = presentation.get("locale") if isinstance(presentation, dict) else None
        return str(value or self.claims.get("locale") or "")

    @property
    def return_url(self) -> str:
        return str((self.claims.get(c.LAUNCH_PRESENTATION) or {}).get("return_url") or "")

    def to_cache(self) -> dict[str, Any]:
        return {
            "launch_id": self.launch_id,
            "claims": self.claims,
            "registration_id": self.registration_id,
            "deployment_pk": self.deployment_pk,
            "user_pk": self.user_pk,
            "context_pk": self.context_pk,
            "resource_link_pk": self.resource_link_pk,
            "membership_pk": self.membership_pk,
        }


def client_id_of(claims: dict[str, Any]) -> str | None:
    """The client the id_token was issued to (OIDC Core §3.1.3.7, LTI core §5.1.2): ``azp`` when present, else the
    audience, the first of a list (launch validation refuses several audiences without ``azp``)."""
    azp = claims.get("azp")
    if azp is not None:
        return azp if isinstance(azp, str) and azp else None
    aud = claims.get("aud")
    if isinstance(aud, list):
        aud = aud[0] if aud else None
    return aud if isinstance(aud, str) and aud else None
