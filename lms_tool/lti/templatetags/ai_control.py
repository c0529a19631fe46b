"""``{% ai_notice %}``: why the institution's AI model will not be used for this launch's registration, if so.

Shown where instructors ask for generation (docs/ai-control.md), so they learn it before they ask, not after."""

from __future__ import annotations

from typing import Any

from django import template

from .. import ai_control

register = template.Library()


@register.inclusion_tag("core/_ai_notice.html", takes_context=True)
def ai_notice(context: template.Context) -> dict[str, Any]:
    launch = context.get("launch")
    registration_id = getattr(launch, "registration_id", None)
    if registration_id is None or not getattr(launch, "is_staff", False):
        return {"notice": ""}
    return {"notice": ai_control.ai_notice(registration_id)}
