"""What staff see on every page of a course: the course home's sections, and the navigation bar.

The apps register what they show (``register_course_section``, ``register_nav_link`` in ``AppConfig.ready()``),
as they register activity sources for the picker (``deep_linking.register_activity_source``): lti lists
them without importing the apps above it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.functional import Promise

from .decorators import page_url
from .types import LtiLaunch

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CourseItem:
    """One quiz or deck of the course, published or still a draft."""

    title: str
    published: bool
    status: str  # "Published", "Draft"
    url: str  # where staff work on it
    text: str = ""  # "4 questions", "12 cards · 3 awaiting approval"
    activity: str = ""  # "quiz:12": the picker's value for a published item


@dataclass(frozen=True)
class CourseSection:
    kind: str
    # Labels may be lazy translations (gettext_lazy): they are registered at start-up and shown in the
    # launch's language (docs/translation.md).
    label: str | Promise  # "Quizzes"
    items: Callable[[LtiLaunch], list[CourseItem]]
    new_label: str | Promise  # "Create a new quiz"
    # (launch, picking) -> the page that creates one; ``picking``: back to the picker once published
    new_url: Callable[[LtiLaunch, bool], str]


@dataclass(frozen=True)
class NavLink:
    key: str
    label: str | Promise
    url: Callable[[LtiLaunch], str]
    count: Callable[[LtiLaunch], int] | None = None  # shown beside the label ("Review queue (2)")
    order: int = 50


@dataclass(frozen=True)
class HomePanel:
    """A block of the course home above the sections (the analytics app's figures): rendered HTML."""

    key: str
    render: Callable[[HttpRequest, LtiLaunch], str]
    order: int = 50


_SECTIONS: dict[str, CourseSection] = {}
_LINKS: dict[str, NavLink] = {}
_PANELS: dict[str, HomePanel] = {}


def register_course_section(section: CourseSection) -> None:
    _SECTIONS[section.kind] = section


def register_nav_link(link: NavLink) -> None:
    _LINKS[link.key] = link


def register_home_panel(panel: HomePanel) -> None:
    _PANELS[panel.key] = panel


def home_panels(request: HttpRequest, launch: LtiLaunch) -> list[str]:
    """The registered panels' HTML, in order (each renders through the app's own template, escaped there)."""
    return [panel.render(request, launch) for panel in sorted(_PANELS.values(), key=lambda item: item.order)]


def course_sections(launch: LtiLaunch) -> list[tuple[CourseSection, list[CourseItem]]]:
    return [(section, section.items(launch)) for section in _SECTIONS.values()]


def sections() -> list[CourseSection]:
    return list(_SECTIONS.values())


def nav_links(launch: LtiLaunch) -> list[dict[str, object]]:
    """The staff navigation of ``launch``: course home, the registered links, "add an activity" when picking."""
    links: list[dict[str, object]] = [
        {"key": "home", "label": "Course home", "url": page_url("lti:course_home", launch), "count": None}
    ]
    if launch.message_type == "LtiDeepLinkingRequest":
        links.append({"key": "pick", "label": "Add to course", "url": page_url("quizzes:pick", launch), "count": None})
    for link in sorted(_LINKS.values(), key=lambda item: item.order):
        links.append(
            {
                "key": link.key,
                "label": link.label,
                "url": link.url(launch),
                "count": link.count(launch) if link.count else None,
            }
        )
    return links
