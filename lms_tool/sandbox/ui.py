"""The sandbox's own pages: a course page from which a person launches the tool as anyone in the course.

Routes (under each platform's prefix, e.g. /canvas):
  GET  /                 the course page: launch form, activities, gradebook, roster, what the tool asked
  GET  /ui/launch        check the tool is up (its /healthz), then launch it in an iframe or a new window
  GET  /ui/panels        the live parts of the course page (polled by the page)
  POST /ui/roster/add    enrol a person;  POST /ui/roster/drop   take a person out of the course
  POST /ui/roster/reenrol  enrol a dropped person again (same user id)

The tool learns of what happens here only as a platform tells it: launches, NRPS and AGS.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from string import Template
from urllib.parse import urlencode

import requests

from lms_tool.core import http

from . import ui_panels
from .embedding import storage_frames
from .people import TA_ROLE, info, person
from .platform import ROLE, Course, LaunchSpec, Person, Platform
from .services.ags_book import gradebook
from .services.deep_linking import deep_linking_log
from .web import Req, route

Answer = tuple[int, dict[str, str], bytes]
HEALTH_TIMEOUT_SECONDS = 3
_PAGE = Template((Path(__file__).parent / "templates" / "page.html").read_text())
e = html.escape


def page(title: str, body: str, script: str = "", status: int = 200) -> Answer:
    document = _PAGE.substitute(title=e(title), body=body, script=script)
    return status, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}, document.encode()


def not_found() -> Answer:
    return page("Not found", '<main><p role="alert">There is no such page in the sandbox.</p></main>', status=404)


def tool_problem(tool_url: str) -> str | None:
    """Why the tool cannot be launched right now, in words a person can act on; None when it is up."""
    health = tool_url + "/healthz"
    try:
        # The sandbox is a platform of its own, not part of the tool: it calls the tool as any platform would.
        # Through core.http like every outbound call; the URL is the sandbox's own setting, not a
        # visitor's, so the reasons below can be specific.
        answer = http.get(health, timeout=HEALTH_TIMEOUT_SECONDS)
    except http.BlockedAddressError:
        return (
            f"The tool at {tool_url} is on a private address, which outbound calls refuse: add its host to "
            "HTTP_ALLOWED_PRIVATE_HOSTS (make run does so for 127.0.0.1 and localhost)."
        )
    except requests.ConnectionError:
        return f"Nothing answers at {tool_url}: the tool is not running there. Start it (make run) and launch again."
    except requests.Timeout:
        return f"The tool at {tool_url} did not answer {health} within {HEALTH_TIMEOUT_SECONDS} seconds. It may be busy or stuck."
    except requests.RequestException as exc:
        return f"The tool at {tool_url} could not be reached: {exc.__class__.__name__}."
    if answer.status_code == 200:
        return None
    try:
        checks = answer.json().get("checks") or {}
        failing = ", ".join(name for name, state in checks.items() if state != "ok")
    except (ValueError, AttributeError):
        failing = ""
    detail = f" (failing: {failing})" if failing else ""
    return f"The tool at {tool_url} is up but not healthy: {health} answered {answer.status_code}{detail}."


def _course(platform: Platform, req: Req) -> Course | None:
    wanted = req.query.get("course") or req.form.get("course") or ""
    if wanted:
        return platform.courses.get(wanted)
    return next(iter(platform.courses.values()), None)


# Pages ------------------------------------------------------------------------------------------
@route("GET", r"/")
def course_page(platform: Platform, req: Req) -> Answer:
    course = _course(platform, req)
    if course is None:
        return not_found()
    return _course_page(platform, course, notice=req.query.get("notice", ""))


@route("GET", r"/ui/panels")
def panels(platform: Platform, req: Req) -> Answer:
    course = _course(platform, req)
    if course is None:
        return not_found()
    body = ui_panels.live_panels(platform, course)
    return 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}, body.encode()


@route("GET", r"/ui/launch")
def launch(platform: Platform, req: Req) -> Answer:
    course = _course(platform, req)
    if course is None:
        return not_found()
    user = req.query.get("user", "")
    who = course.members.get(user) or platform.site_admins.get(user)
    what = "link:" + req.query["activity"] if req.query.get("activity") else req.query.get("what", "resource")
    in_window = req.query.get("open") == "window"
    spec = _spec(platform, course, who, what) if who else None
    if spec is None or who is None:
        return _refused(platform, course, "Choose a person of this course and something to open.", 400, in_window)
    problem = tool_problem(info(platform).tool_url)
    if problem:
        return _refused(platform, course, problem, 503, in_window)
    login = platform.login_initiation_url(spec)
    if in_window:  # a top-level window: the tool's own cookies work, no Platform Storage needed
        return 302, {"Location": login}, b""
    forwarding = f"{platform.base_url}/course/{course.context_id}/post_message_forwarding"
    frames, script = storage_frames(login, "forwarding", forwarding, forwarding_first=True)
    caption = (
        f"The tool, launched as {who.name} ({ui_panels.role_label(who.roles)}): {_what_label(platform, course, what)}"
    )
    # The storage answers are set up before the frames exist, so no early message from the tool goes unanswered.
    frame = (
        f'<section class="card" aria-label="The tool"><p class="help" data-testid="launched">{e(caption)}</p>'
        f"<script>{script}</script>{frames}</section>"
    )
    return _course_page(platform, course, frame=frame, launched=(who.user_id, what))


def _refused(platform: Platform, course: Course, problem: str, status: int, in_window: bool) -> Answer:
    if in_window:
        return page("The tool cannot be launched", f"<main>{_alert(problem)}</main>", status=status)
    return _course_page(platform, course, problem=problem, status=status)


def _spec(platform: Platform, course: Course, who: Person, what: str) -> LaunchSpec | None:
    """The launch a choice on the course page stands for (None for an activity that is not in the course)."""
    if what == "resource":
        return LaunchSpec(who, course, resource_link_id=f"menu-{course.context_id}", resource_link_title="Course menu")
    if what == "deeplink":
        return LaunchSpec(who, course, message_type="LtiDeepLinkingRequest")
    if what.startswith("review:"):
        return _review_spec(platform, course, who, what)
    link = ui_panels.link_of(platform, course, what.removeprefix("link:")) if what.startswith("link:") else None
    if link is None:
        return None
    return LaunchSpec(
        who,
        course,
        resource_link_id=link["resource_link_id"],
        resource_link_title=link["title"],
        custom=dict(link["custom"]),
        lineitem_url=link["lineitem_url"],
        target_link_uri=link["url"] or None,
    )


def _review_spec(platform: Platform, course: Course, who: Person, what: str) -> LaunchSpec | None:
    """A grader's LtiSubmissionReviewRequest (LTI Submission Review 1.0 §4) for the learner's work in a link's column:
    the link's resource link and line item, ``for_user`` the learner, the custom parameters of the link merged with
    the column's ``submissionReview.custom``, and its ``url`` as the target."""
    _, resource_link_id, learner_id = [*what.split(":", 2), "", ""][:3]
    link = ui_panels.link_of(platform, course, resource_link_id)
    learner = course.members.get(learner_id)
    item = gradebook(platform).item_by_url(link["lineitem_url"]) if link and link["lineitem_url"] else None
    review = (item or {}).get("submissionReview")
    if link is None or learner is None or not isinstance(review, dict):
        return None
    return LaunchSpec(
        who,
        course,
        message_type="LtiSubmissionReviewRequest",
        resource_link_id=link["resource_link_id"],
        resource_link_title=link["title"],
        custom={**link["custom"], **(review.get("custom") or {})},
        lineitem_url=link["lineitem_url"],
        target_link_uri=review.get("url") or link["url"] or None,
        for_user=learner,
    )


def _what_label(platform: Platform, course: Course, what: str) -> str:
    if what.startswith("review:"):
        learner = course.members.get([*what.split(":", 2), ""][2])
        return f"the submission of {learner.name if learner else 'a learner'} (Submission Review)"
    if what == "resource":
        return "the course menu entry (a plain launch)"
    if what == "deeplink":
        return "Add an activity (Deep Linking)"
    link = ui_panels.link_of(platform, course, what.removeprefix("link:"))
    return f"the activity \u201c{link['title']}\u201d" if link else what


# Roster -----------------------------------------------------------------------------------------
ROLES = {"Learner": [ROLE + "Learner"], "TeachingAssistant": [TA_ROLE], "Instructor": [ROLE + "Instructor"]}


@route("POST", r"/ui/roster/add")
def roster_add(platform: Platform, req: Req) -> Answer:
    course, form = _course(platform, req), req.form
    name = " ".join(form.get("name", "").split())[:80]
    if course is None or not name or form.get("role") not in ROLES:
        return _back(platform, course, "Give the new person a name and a role.")
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "person"
    user_id, n = f"{platform.family}-{slug}", 1
    while user_id in course.members or user_id in course.dropped:
        n += 1
        user_id = f"{platform.family}-{slug}-{n}"
    platform.enrol(course, person(user_id, name, ROLES[form["role"]]))
    return _back(platform, course, f"{name} joined {course.title}.")


@route("POST", r"/ui/roster/drop")
def roster_drop(platform: Platform, req: Req) -> Answer:
    course = _course(platform, req)
    user_id = req.form.get("user", "")
    with platform.lock:
        gone = course.members.pop(user_id, None) if course else None
        if course is not None and gone is not None:
            course.dropped[user_id] = gone
    if course is None or gone is None:
        return _back(platform, course, "That person is not in the course any more.")
    return _back(platform, course, f"{gone.name} was dropped from {course.title}.")


@route("POST", r"/ui/roster/reenrol")
def roster_reenrol(platform: Platform, req: Req) -> Answer:
    """Enrol a dropped person again, under the same user id: the platform's next launch names them active."""
    course = _course(platform, req)
    user_id = req.form.get("user", "")
    with platform.lock:
        back = course.dropped.pop(user_id, None) if course else None
        if course is not None and back is not None:
            platform.enrol(course, back)
    if course is None or back is None:
        return _back(platform, course, "That person was not dropped from this course.")
    return _back(platform, course, f"{back.name} is enrolled in {course.title} again.")


def _back(platform: Platform, course: Course | None, notice: str) -> Answer:
    query = {"notice": notice, **({"course": course.context_id} if course else {})}
    return 303, {"Location": info(platform).home_url + "?" + urlencode(query)}, b""


# Deep-linking result, inside the tool's frame ---------------------------------------------------
def deep_link_result(platform: Platform, status: int, body: bytes) -> Answer:
    """What the frame shows once the tool's deep-linking response reached the platform: the activities
    added, or why the response was refused; the course page around it refreshes."""
    notify = 'window.parent.postMessage({subject: "sandbox.refresh"}, window.location.origin);'
    if status != 200:
        try:
            reason = json.loads(body).get("error_description") or body.decode(errors="replace")
        except ValueError:
            reason = body.decode(errors="replace")
        content = (
            '<main><div class="alert" role="alert"><h2>The platform refused the tool\u2019s deep-linking response</h2>'
            f'<p data-testid="dl-refused">{e(reason)}</p><p>Nothing was added to the course.</p></div></main>'
        )
        return page("Deep-linking response refused", content, notify, status=status)
    record = deep_linking_log(platform).responses[-1]
    message = record.get("errormsg") or record.get("msg") or f"{len(record['links'])} item(s) added."
    items = "".join(
        f"<li>{e(link['title'])}: {'a gradebook column was added' if link['lineitem_url'] else 'no gradebook column'}</li>"
        for link in record["links"]
    )
    home = info(platform).home_url + "?" + urlencode({"course": record["course"]})
    content = (
        f'<main><h2 data-testid="dl-result">{e(str(message))}</h2><ul>{items}</ul>'
        f"<p>The course page below now lists {'them' if len(record['links']) > 1 else 'it'} under Activities. "
        f'<a href="{e(home)}" target="_top">Back to the course page</a></p></main>'
    )
    return page("Deep-linking response received", content, notify)


# The course page --------------------------------------------------------------------------------
def _alert(problem: str) -> str:
    return f'<div class="alert" role="alert" data-testid="tool-down"><strong>The tool cannot be launched.</strong><p>{e(problem)}</p></div>'


def _course_page(
    platform: Platform,
    course: Course,
    *,
    problem: str = "",
    notice: str = "",
    frame: str = "",
    launched: tuple[str, str] | None = None,
    status: int = 200,
) -> Answer:
    parts = [
        ui_panels.header(platform, course),
        "<main>",
        _alert(problem) if problem else "",
        f'<p role="status" class="ok" data-testid="notice">{e(notice)}</p>' if notice else "",
        ui_panels.launch_form(platform, course, launched),
        frame,
        f'<div id="panels" data-url="{e(info(platform).home_url)}ui/panels?{e(urlencode({"course": course.context_id}))}">',
        ui_panels.live_panels(platform, course),
        "</div>",
        ui_panels.roster(platform, course),
        "</main>",
    ]
    title = f"{course.title} \u00b7 {info(platform).label} sandbox"
    return page(title, "".join(parts), _POLL, status=status)


# The live panels follow the tool's calls (scores arriving, deep-linking responses) without a reload.
_POLL = """
(function () {
  var panels = document.getElementById("panels"), last = null, tries = 0;
  if (!panels) return;
  function refresh() {
    fetch(panels.dataset.url, {cache: "no-store"}).then(function (r) { return r.ok ? r.text() : null; }).then(function (text) {
      if (text !== null && text !== last) { panels.innerHTML = text; last = text; }
    }).catch(function () {});
  }
  function loop() { if (++tries < 5000) { refresh(); setTimeout(loop, 2000); } }
  window.addEventListener("message", function (event) {
    if (event.origin === window.location.origin && event.data && event.data.subject === "sandbox.refresh") refresh();
  });
  loop();
})();
"""
