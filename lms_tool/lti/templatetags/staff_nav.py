"""``{% staff_nav %}``: the same navigation on every page a staff launch opens (templates/base.html)."""

from __future__ import annotations

from typing import Any

from django import template

from .. import course_home

register = template.Library()


@register.inclusion_tag("lti/_staff_nav.html", takes_context=True)
def staff_nav(context: template.Context) -> dict[str, Any]:
    launch = context.get("launch")
    if launch is None or not getattr(launch, "is_staff", False) or launch.context_pk is None:
        return {"links": []}
    request = getattr(context, "request", None)
    here = request.get_full_path() if request is not None else ""
    links = course_home.nav_links(launch)
    path = here.split("?", 1)[0]
    for link in links:
        link["current"] = str(link["url"]).split("?", 1)[0] == path
    return {"links": links}
