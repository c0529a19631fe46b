"""Read a roster from a platform's Names and Role Provisioning Services 2.0, every page, into memory.

Nothing here writes: a read either returns every page or raises ``RosterReadError`` with a reason an
instructor and an admin can read, so a partial read can never change the roster.
https://www.imsglobal.org/spec/lti-nrps/v2p0 (§2.4 paging with ``Link: rel="next"``, §2.4.2 differences).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lms_tool.lti import service_client as sc
from lms_tool.lti.models import Registration

MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
# Some platforms label the container plain JSON; anything else (an HTML login page...) is refused.
ACCEPTED_TYPES = {MEDIA_TYPE, "application/json"}
STATUSES = {"Active", "Inactive", "Deleted"}


@dataclass(frozen=True)
class Member:
    user_id: str
    roles: tuple[str, ...]
    status: str
    name: str = ""
    email: str = ""

    @property
    def is_active(self) -> bool:
        return self.status == "Active"


@dataclass
class RosterRead:
    pages: list[list[Member]] = field(default_factory=list)
    differences_url: str = ""


class RosterReadError(Exception):
    """The roster could not be read in full. ``reason`` is for people; ``detail`` is the platform's answer."""

    def __init__(self, reason: str, *, detail: str = "", status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail[:2000]
        self.status = status
        self.retry_after = retry_after


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to its query (the NRPS URL may already carry one)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def read_all(*, registration: Registration, url: str, max_pages: int) -> RosterRead:
    """Every page from ``url`` on, following ``rel="next"`` exactly as sent (case kept: docs/platforms.md, pylti1p3 defect 7)."""
    read = RosterRead()
    seen: set[str] = set()
    next_url: str | None = url
    while next_url:
        page_no = len(read.pages) + 1
        if next_url in seen:
            raise RosterReadError(f"The platform's roster pages loop back to a page already read (page {page_no}).")
        if page_no > max_pages:
            raise RosterReadError(f"The roster has more than {max_pages} pages; raise ROSTER_MAX_PAGES to read it.")
        seen.add(next_url)
        response = _get(registration, next_url, page_no)
        read.pages.append(parse_page(response.headers.get("Content-Type", ""), response.content, page_no))
        read.differences_url = sc.next_link(response, "differences") or read.differences_url
        next_url = sc.next_link(response)
    return read


def _get(registration: Registration, url: str, page_no: int) -> Any:
    try:
        return sc.call(registration, "GET", url, scopes=[sc.SCOPE_NRPS], accept=MEDIA_TYPE)
    except sc.ServiceUnavailable as exc:
        raise RosterReadError(
            f"The platform did not deliver page {page_no} of the roster ({exc}). It will be tried again later.",
            detail=exc.body,
            status=exc.status,
            retry_after=exc.retry_after,
        ) from exc
    except sc.ServiceRefused as exc:
        if exc.status in (401, 403):
            reason = (
                f"The platform refused access to the roster (HTTP {exc.status}). An administrator may have "
                "removed the Names and Roles Provisioning scope from this tool's registration."
            )
        else:
            reason = f"The platform refused page {page_no} of the roster (HTTP {exc.status})."
        raise RosterReadError(reason, detail=exc.body, status=exc.status) from exc


def parse_page(content_type: str, body: bytes, page_no: int) -> list[Member]:
    """The members of one membership container page (NRPS §2.3), or ``RosterReadError``."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in ACCEPTED_TYPES:
        raise RosterReadError(
            f"Page {page_no} of the roster came as {media_type or 'an unlabelled document'}, not as a membership "
            "container.",
            detail=body[:500].decode(errors="replace"),
        )
    try:
        data = json.loads(body)
    except ValueError:
        raise RosterReadError(
            f"Page {page_no} of the roster is not valid JSON.", detail=body[:500].decode(errors="replace")
        ) from None
    members = data.get("members") if isinstance(data, dict) else None
    if not isinstance(members, list):
        raise RosterReadError(f"Page {page_no} of the roster has no list of members.")
    return [_member(raw, page_no, index) for index, raw in enumerate(members, start=1)]


def _member(raw: Any, page_no: int, index: int) -> Member:
    where = f"Member {index} on page {page_no} of the roster"
    if not isinstance(raw, dict):
        raise RosterReadError(f"{where} is not an object.")
    user_id = raw.get("user_id")
    if not isinstance(user_id, str) or not user_id.strip():
        raise RosterReadError(f"{where} has no user_id, so it cannot be matched to anyone.", detail=str(raw)[:500])
    roles = raw.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise RosterReadError(f"{where} ({user_id}) has roles that are not a list of role names.")
    status = raw.get("status") or "Active"
    if status not in STATUSES:
        raise RosterReadError(f"{where} ({user_id}) has an unknown status {str(status)[:40]!r}.")
    return Member(
        user_id=user_id[:255],
        roles=tuple(roles),
        status=status,
        name=str(raw.get("name") or " ".join(filter(None, [raw.get("given_name"), raw.get("family_name")])))[:500],
        email=str(raw.get("email") or "")[:500],
    )
