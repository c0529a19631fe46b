"""``{% load zones %}{% local_time value zone %}``: a time in the person's zone, with the zone named.

``zone`` is a ``timezones.PersonZone`` (``timezones.launch_zone(launch)``). The ``<time>`` element carries
the UTC instant, so ``lti/static/lti/timezone.js`` can rewrite it in the browser's zone when the tool knew none.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..timezones import PersonZone, launch_zone, local_format
from ..types import LtiLaunch

register = template.Library()


@register.simple_tag
def local_time(value: datetime | None, zone: PersonZone) -> SafeString | str:
    if value is None:
        return ""
    return format_html(
        '<time datetime="{}" data-zone-source="{}">{}</time>',
        value.isoformat(),
        zone.source,
        local_format(value, zone),
    )


@register.simple_tag
def person_zone_of(launch: LtiLaunch | None) -> PersonZone:
    """``{% person_zone_of launch as zone %}``: the zone a page shows its times in (timezones.launch_zone)."""
    return launch_zone(launch)
