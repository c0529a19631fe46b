"""What "Learners who need help" and the retention view add to the staff navigation (lti/course_home.py)."""

from __future__ import annotations

from lms_tool.lti.course_home import NavLink, register_nav_link
from lms_tool.lti.decorators import page_url


def register() -> None:
    register_nav_link(
        NavLink(
            key="risk", label="Learners who need help", url=lambda launch: page_url("analytics:risk", launch), order=40
        )
    )
    register_nav_link(
        NavLink(
            key="retention", label="Retention", url=lambda launch: page_url("analytics:retention", launch), order=45
        )
    )
