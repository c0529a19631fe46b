"""What "Learners who need help" and the retention view add to the staff navigation (lti/course_home.py)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from lms_tool.lti.course_home import NavLink, register_nav_link
from lms_tool.lti.decorators import page_url


def register() -> None:
    register_nav_link(
        NavLink(
            key="risk",
            label=gettext_lazy("Learners who need help"),
            url=lambda launch: page_url("analytics:risk", launch),
            order=40,
        )
    )
    register_nav_link(
        NavLink(
            key="retention",
            label=gettext_lazy("Retention"),
            url=lambda launch: page_url("analytics:retention", launch),
            order=45,
        )
    )
