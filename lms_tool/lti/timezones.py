"""Whose clock a page speaks in, and the dates a platform sends with a launch (docs/assessment.md).

Times are stored in UTC. A page shows them in the person's zone, always named:

1. the zone the platform sends as a custom parameter (``person_timezone=$Person.address.timezone``: Canvas
   and Moodle both expand it, docs/canvas.md and docs/moodle.md);
2. else the zone the person's browser reported (``lti/static/lti/timezone.js`` posts it to ``lti:timezone``),
   kept per person in the shared cache;
3. else the server's ``TIME_ZONE`` (UTC), said as such.

Platform dates: an admin may add custom parameters the platform fills from the assignment
(``due_at=$Canvas.assignment.dueAt.iso8601``, ``unlock_at=...unlockAt...``, ``lock_at=...lockAt...``, or the
LTI 1.3 core substitutions ``$ResourceLink.submission.endDateTime`` etc.). A value the platform did not expand
arrives as the literal ``$...`` text (LTI 1.3 core, "Custom properties and variable substitution") or empty:
both mean "no date".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.utils import dateformat
from django.utils.translation import pgettext

from .types import LtiLaunch

# Custom parameter names read for the person's zone, first found wins.
ZONE_PARAMS = ("person_timezone", "timezone")
# Custom parameter names read for each platform date, first found wins.
DATE_PARAMS: dict[str, tuple[str, ...]] = {
    "opens_at": ("unlock_at", "available_from", "resource_available_start"),
    "due_at": ("due_at", "resource_submission_end"),
    "closes_at": ("lock_at", "available_until", "resource_available_end"),
}
BROWSER_ZONE_TTL = 90 * 24 * 3600
_CACHE_PREFIX = "lti:browser-zone:"


@dataclass(frozen=True)
class PersonZone:
    """A person's time zone and where the tool learnt it: "platform", "browser" or "default"."""

    zone: tzinfo
    source: str

    @property
    def name(self) -> str:
        return str(getattr(self.zone, "key", None) or self.zone.tzname(None) or "UTC")


@dataclass(frozen=True)
class PlatformDates:
    """The dates a platform sent with the launch (UTC, aware), or None where it sent none."""

    opens_at: datetime | None = None
    due_at: datetime | None = None
    closes_at: datetime | None = None

    @property
    def any(self) -> bool:
        return any((self.opens_at, self.due_at, self.closes_at))


def zone_parse(name: object) -> ZoneInfo | None:
    """An IANA zone from a custom parameter or a browser; None for anything else (Moodle sends "99" for the
    site's default, a platform that did not expand the variable sends "$Person.address.timezone")."""
    text = str(name or "").strip()
    if not text or text.startswith("$") or len(text) > 64 or ".." in text or text.startswith("/"):
        return None
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _browser_key(launch: LtiLaunch) -> str:
    return f"{_CACHE_PREFIX}{launch.registration_id}:{launch.user_pk}"


def launch_zone(launch: LtiLaunch | None) -> PersonZone:
    """The zone to show times in for the person of ``launch``."""
    if launch is not None:
        custom = launch.custom
        for param in ZONE_PARAMS:
            zone = zone_parse(custom.get(param))
            if zone is not None:
                return PersonZone(zone, "platform")
        zone = zone_parse(cache.get(_browser_key(launch)))
        if zone is not None:
            return PersonZone(zone, "browser")
    return PersonZone(ZoneInfo(settings.TIME_ZONE), "default")


def browser_zone_record(*, launch: LtiLaunch, name: str) -> PersonZone | None:
    """Keep the zone the person's browser reported; None (nothing kept) when it is not an IANA zone."""
    zone = zone_parse(name)
    if zone is None:
        return None
    cache.set(_browser_key(launch), zone.key, timeout=BROWSER_ZONE_TTL)
    return PersonZone(zone, "browser")


def datetime_parse(value: object) -> datetime | None:
    """An ISO 8601 date-time with an offset (``2026-12-03T23:59:00Z``, ``...+01:00``) in UTC, else None.

    A time without an offset is refused: the platform's zone is unknown, so it could be hours off."""
    text = str(value or "").strip()
    if not text or text.startswith("$") or len(text) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def platform_dates(launch: LtiLaunch | None) -> PlatformDates:
    """The open, due and close dates the platform sent with ``launch`` (custom parameters), field by field."""
    if launch is None:
        return PlatformDates()
    custom = launch.custom
    found: dict[str, datetime | None] = {}
    for field, params in DATE_PARAMS.items():
        found[field] = next((d for d in (datetime_parse(custom.get(p)) for p in params) if d is not None), None)
    return PlatformDates(**found)


@dataclass(frozen=True)
class ActivityWindow(PlatformDates):
    """The open, due and close dates that apply to one launch of a quiz or deck."""

    from_platform: bool = False


def activity_window(
    launch: LtiLaunch | None, *, opens_at: datetime | None, due_at: datetime | None, closes_at: datetime | None
) -> ActivityWindow:
    """The platform's dates when it sent any (they replace the activity's own as a whole, so a blank there means
    "none": docs/assessment.md), else the dates set in the tool."""
    sent = platform_dates(launch)
    if sent.any:
        return ActivityWindow(sent.opens_at, sent.due_at, sent.closes_at, from_platform=True)
    return ActivityWindow(opens_at, due_at, closes_at)


def local_format(value: datetime | None, zone: PersonZone) -> str:
    """``Thu 3 Dec 2026, 14:05 (Europe/Paris)``: the time in the person's zone with the zone named."""
    if value is None:
        return ""
    local = value.astimezone(zone.zone)
    # The pattern is Django's date format syntax and a message of its own, so each language orders the parts
    # and picks its abbreviations (Spanish "jue 3 dic 2026, 14:05"); Django translates the day and month names.
    pattern = pgettext("a date and time shown with its time zone; Django date format", "D j M Y, H:i")
    return f"{dateformat.format(local, pattern)} ({zone.name})"


# What an <input type="datetime-local"> sends and shows: the person's wall-clock time, no zone.
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"


def local_datetime_field(label: Any, help_text: Any) -> forms.DateTimeField:
    """An optional date and time typed in the person's zone (the form is validated under
    ``timezone.override(zone)``, so the value comes back aware, then is stored in UTC)."""
    return forms.DateTimeField(
        required=False,
        label=label,
        help_text=help_text,
        input_formats=[LOCAL_INPUT_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT_FORMAT),
    )


def local_input(value: datetime | None, zone: tzinfo) -> str:
    """A stored time as a datetime-local field's initial value in ``zone``; empty for none."""
    return value.astimezone(zone).strftime(LOCAL_INPUT_FORMAT) if value else ""
