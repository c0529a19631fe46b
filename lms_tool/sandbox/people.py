"""What the sandbox's pages and its launcher share: the teaching-assistant role, a seeded person, and the
sandbox's record on each platform (``platform.extensions["sandbox"]``).

It sits below ``embedded`` (the launcher) and ``ui``/``ui_panels`` (the pages the launcher serves), so the
pages need not import the launcher that imports them (docs/architecture.md, "Layers").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .platform import Person, Platform

TA_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"


@dataclass
class SandboxInfo:
    """What the sandbox's own pages need beyond the platform: the tool, the other platform, the state file."""

    tool_url: str
    label: str
    home_url: str
    switch: list[tuple[str, str]] = field(default_factory=list)  # (label, url) of every platform of the sandbox
    state_path: Path | None = None
    calls: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=40))


def info(platform: Platform) -> SandboxInfo:
    return platform.extensions["sandbox"]  # type: ignore[no-any-return]


def person(user_id: str, name: str, roles: list[str]) -> Person:
    given, _, family = name.partition(" ")
    return Person(user_id, name, f"{user_id}@sandbox.example.edu", roles, given, family)
