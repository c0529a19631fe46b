"""The sandbox `make run` opens: a Canvas-like and a Moodle-like platform on one local server, and their pages.

  http://127.0.0.1:<port>/           -> the Canvas-like platform's course page
  http://127.0.0.1:<port>/canvas/... issuer https://canvas.instructure.com, a deployment per course
  http://127.0.0.1:<port>/moodle/... issuer = its base URL, one deployment for the site

Each is a ``Platform`` served by the same routes as the test suite's platform (``server.ROUTES``),
registered in the tool's database like any platform an admin adds (``registry.registration_upsert``),
and seeded with a course: an instructor, a teaching assistant and three students. The tool is not
told that these are sandboxes; it sees two platforms.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from .people import TA_ROLE, SandboxInfo, info, person
from .platform import ROLE, Platform
from .server import PlatformServer, dispatch

logger = logging.getLogger(__name__)

FAMILIES = {
    # family: (label, client_id, deployment id of the seeded course)
    "canvas": ("Canvas-like", "10000000000042", "42:5e7d1c0a9b2f"),
    "moodle": ("Moodle-like", "SandboxMoodle42", "2"),
}
PEOPLE = [
    ("teacher", "Ada Lovelace", [ROLE + "Instructor"]),
    ("ta", "Grace Hopper", [TA_ROLE]),
    ("maya", "Maya Chen", [ROLE + "Learner"]),
    ("luis", "Luis Garcia", [ROLE + "Learner"]),
    ("priya", "Priya Natarajan", [ROLE + "Learner"]),
]
# A site administrator as Moodle sends one who opens a course she is not enrolled in: institution and system
# Administrator, and Instructor in the course (docs/platforms.md, "Moodle 5.x").
SITE_ADMIN_ROLES = [
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
    ROLE + "Instructor",
]
# Paths the tool calls (services, launches), shown on the course page as the conversation between the two.
SERVICE_PREFIXES = ("/auth", "/token", "/jwks", "/courses/", "/deep-link-return")


def seed(platform: Platform, deployment_id: str) -> None:
    """A course with an instructor, a TA and three students (user ids stay the same across restarts)."""
    course = platform.add_course("bio-101", title="Biology 101", label="BIO101", deployment_id=deployment_id)
    for key, name, roles in PEOPLE:
        platform.enrol(course, person(f"{platform.family}-{key}", name, roles))


class SandboxServer(PlatformServer):
    """Serves several platforms under path prefixes on one port, with the sandbox's pages among their routes."""

    def __init__(self, *, tool_url: str, port: int = 0, state_dir: Path | None = None, host: str = "127.0.0.1"):
        from . import ui  # noqa: F401 - registers the sandbox pages' routes

        super().__init__(port)
        self.tool_url = tool_url.rstrip("/")
        self.platforms: dict[str, Platform] = {}
        for family, (label, client_id, deployment_id) in FAMILIES.items():
            platform = Platform(
                base_url=f"{self.base_url}/{family}",
                tool_login_url=f"{self.tool_url}/lti/login/",
                tool_launch_url=f"{self.tool_url}/lti/launch/",
                tool_jwks_url=f"{self.tool_url}/lti/jwks/",
                client_id=client_id,
                family=family,
            )
            state_path = state_dir / f"{family}.json" if state_dir else None
            platform.extensions["sandbox"] = SandboxInfo(
                self.tool_url, label, f"{self.base_url}/{family}/", [], state_path
            )
            if state_path is None or not _restore(platform, state_path):
                seed(platform, deployment_id)
            admin = person(f"{family}-admin", "Sofia Admin", SITE_ADMIN_ROLES)
            platform.site_admins[admin.user_id] = admin
            self.platforms[family] = platform
        for platform in self.platforms.values():
            info(platform).switch = [(info(p).label, info(p).home_url) for p in self.platforms.values()]

    @property
    def url(self) -> str:
        return self.base_url + "/"

    def handle(self, environ: dict[str, Any], path: str) -> tuple[int, dict[str, str], bytes]:
        from . import ui

        family, _, rest = path.lstrip("/").partition("/")
        platform = self.platforms.get(family)
        if platform is None:
            if path in ("", "/"):
                return 302, {"Location": self.url + "canvas/"}, b""
            return ui.not_found()
        path = "/" + rest
        environ["PATH_INFO"] = path
        started = time.monotonic()
        status, headers, body = dispatch(platform, environ, path)
        method = environ["REQUEST_METHOD"]
        if path == "/deep-link-return" and method == "POST":
            status, headers, body = ui.deep_link_result(platform, status, body)
        if path.startswith(SERVICE_PREFIXES):
            _note(platform, method, path, status, started)
        if method != "GET":
            _save(platform)
        with platform.lock:
            del platform.requests_seen[:-200]  # a long-running sandbox keeps only the recent ones
        return status, headers, body

    def register(self) -> None:
        """Register each platform with the tool, as an admin would (Canvas: a deployment per course)."""
        from lms_tool.lti import registry

        for platform in self.platforms.values():
            registry.registration_upsert(
                issuer=platform.issuer,
                client_id=platform.client_id,
                auth_login_url=platform.auth_url,
                auth_token_url=platform.token_url,
                key_set_url=platform.jwks_url,
                family=platform.family,
                name=f"Sandbox ({info(platform).label})",
                deployment_ids=sorted({c.deployment_id for c in platform.courses.values()}),
                actor="sandbox",
            )


def _restore(platform: Platform, path: Path) -> bool:
    from . import persist

    restored = persist.load(platform, path)
    if restored:
        logger.info("sandbox: %s state restored from %s", platform.family, path)
    return restored


def _save(platform: Platform) -> None:
    from . import persist

    path = info(platform).state_path
    if path is not None:
        persist.save(platform, path)


def _note(platform: Platform, method: str, path: str, status: int, started: float) -> None:
    with platform.lock:
        info(platform).calls.append(
            {
                "at": time.time(),
                "method": method,
                "path": path,
                "status": status,
                "ms": (time.monotonic() - started) * 1000,
            }
        )


def sandbox_start(*, tool_url: str, port: int, state_dir: Path) -> SandboxServer:
    """Start the sandbox for `make run`: serve it, register its platforms with the tool."""
    server = SandboxServer(tool_url=tool_url, port=port, state_dir=state_dir)
    server.register()
    server.start()
    return server
