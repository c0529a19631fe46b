"""The parts of the sandbox's course page: header, launch form, the live panels and the roster (HTML strings)."""

from __future__ import annotations

import html
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from .people import info
from .platform import ROLE, Course, Person, Platform
from .services.ags_book import gradebook, lineitems_url, result_of
from .services.deep_linking import deep_linking_log
from .services.nrps import state as nrps_state

e = html.escape
RULES = {
    "canvas": (
        "Canvas keeps <code>scoreGiven</code> when <code>gradingProgress</code> is <code>FullyGraded</code>, and also "
        "when it is <code>PendingManual</code>, flagging the submission \u201cneeds grading\u201d (so an AI grade awaiting "
        "review shows with its flag). <code>NotReady</code>, <code>Pending</code> and <code>Failed</code> drop it. An older "
        "timestamp is refused (400); a score for someone who is not a student, 422."
    ),
    "moodle": (
        "Moodle keeps <code>scoreGiven</code> only when <code>gradingProgress</code> is <code>FullyGraded</code>; "
        "anything else is recorded without a grade. So the tool holds an AI grade awaiting review and posts it "
        "<code>FullyGraded</code> once an instructor confirms it. A repeated or older timestamp (to the second) is refused (409)."
    ),
}
GRADED = " \u00b7 graded (a gradebook column)"
CALLS = {
    "/auth": "launch (OIDC authorization)",
    "/token": "access token (client credentials)",
    "/jwks": "the platform's public keys",
    "/deep-link-return": "Deep Linking response",
}


def role_label(roles: list[str]) -> str:
    if ROLE + "Instructor" in roles:
        return "Instructor"
    if any(r.endswith("#TeachingAssistant") for r in roles):
        return "Teaching assistant"
    if ROLE + "Learner" in roles:
        return "Student"
    return "Member"


def link_of(platform: Platform, course: Course, resource_link_id: str) -> dict[str, Any] | None:
    links = deep_linking_log(platform).links
    return next(
        (x for x in links if x["course"] == course.context_id and x["resource_link_id"] == resource_link_id), None
    )


def _links(platform: Platform, course: Course) -> list[dict[str, Any]]:
    return [x for x in deep_linking_log(platform).links if x["course"] == course.context_id]


def header(platform: Platform, course: Course) -> str:
    about = info(platform)
    nav = "".join(
        f'<a class="here" aria-current="page" href="{e(url)}">{e(label)}</a>'
        if url == about.home_url
        else f'<a href="{e(url)}" data-testid="switch-platform">{e(label)}</a>'
        for label, url in about.switch
    )
    return (
        f'<header class="bar"><h1>LTI sandbox: {e(course.title)}</h1><nav aria-label="Platform">{nav}</nav>'
        f'<span class="meta">issuer <code>{e(platform.issuer)}</code> \u00b7 client_id <code>{e(platform.client_id)}</code>'
        f' \u00b7 deployment <code>{e(course.deployment_id)}</code> \u00b7 tool <a href="{e(about.tool_url)}/">{e(about.tool_url)}</a>'
        "</span></header>"
    )


def launch_form(platform: Platform, course: Course, launched: tuple[str, str] | None) -> str:
    who, what = launched or ("", "resource")
    people = "".join(
        f'<option value="{e(p.user_id)}"{" selected" if p.user_id == who else ""}>{e(p.name)} \u2014 {role_label(p.roles)}</option>'
        for p in course.members.values()
    ) + "".join(
        f'<option value="{e(p.user_id)}"{" selected" if p.user_id == who else ""}>{e(p.name)} \u2014 site admin, '
        "not enrolled (the roster never lists her)</option>"
        for p in platform.site_admins.values()
    )
    choices = [
        ("resource", "The tool from the course menu (a plain launch)"),
        ("deeplink", "Add an activity (Deep Linking)"),
    ]
    choices += [("link:" + x["resource_link_id"], "Activity: " + x["title"]) for x in _links(platform, course)]
    options = "".join(f'<option value="{e(v)}"{" selected" if v == what else ""}>{e(t)}</option>' for v, t in choices)
    return (
        '<section class="card" aria-labelledby="launch-h"><h2 id="launch-h">Launch the tool</h2>'
        f'<form id="launch-form" class="row" method="get" action="{e(info(platform).home_url)}ui/launch">'
        f'<input type="hidden" name="course" value="{e(course.context_id)}">'
        f'<div><label for="who">As</label><select id="who" name="user" data-testid="launch-person">{people}</select></div>'
        f'<div><label for="what">Open</label><select id="what" name="what" data-testid="launch-what">{options}</select></div>'
        '<button type="submit" name="open" value="iframe" data-testid="launch">Launch in this page</button>'
        '<button type="submit" name="open" value="window" formtarget="_blank" class="secondary" data-testid="launch-window">'
        "Launch in a new window</button></form>"
        '<p class="help">Instructors and the TA add activities through Deep Linking; students then open them. In this page '
        "the tool runs in an iframe, as platforms embed it, keeping its launch state through LTI Platform Storage.</p></section>"
    )


def live_panels(platform: Platform, course: Course) -> str:
    return (
        _activities(platform, course)
        + _gradebook(platform, course)
        + '<div class="grid">'
        + _scores(platform, course)
        + _deep_linking(platform, course)
        + _calls(platform)
        + "</div>"
    )


def _activities(platform: Platform, course: Course) -> str:
    rows = "".join(
        f'<li data-testid="activity" data-activity="{e(x["custom"].get("activity", ""))}"><strong>{e(x["title"])}</strong> '
        f'<span class="help">custom: <code>{e(", ".join(f"{k}={v}" for k, v in x["custom"].items()))}</code>'
        f"{GRADED if x['lineitem_url'] else ''}</span> "
        f'<button class="small" form="launch-form" name="activity" value="{e(x["resource_link_id"])}" '
        f'data-testid="launch-activity">Open as the person chosen above</button></li>'
        for x in _links(platform, course)
    )
    empty = '<p class="muted">None yet. Launch as the instructor with \u201cAdd an activity (Deep Linking)\u201d.</p>'
    return (
        '<section class="card" aria-labelledby="act-h"><h2 id="act-h">Activities</h2>'
        + (f'<ul class="plain">{rows}</ul>' if rows else empty)
        + "</section>"
    )


def _gradebook(platform: Platform, course: Course) -> str:
    book = gradebook(platform)
    items = book.items_in(course.context_id)
    learners: dict[str, str] = {p.user_id: p.name for p in course.members.values() if role_label(p.roles) == "Student"}
    for item_key, user_id in book.results:
        if book.line_items.get(item_key, {}).get("_context") == course.context_id and user_id not in learners:
            learners[user_id] = f"{user_id} (not in the course now)"
    head = "".join(
        f'<th scope="col">{e(str(i.get("label", "")))}<br><span class="help">out of {i.get("scoreMaximum", 0):g}</span></th>'
        for i in items
    )
    rows = "".join(
        f'<tr data-testid="grade-row" data-user="{e(uid)}"><th scope="row">{e(name)}</th>'
        + "".join(
            _cell(book.results.get((i["_key"], uid)), uid, i, _review_url(platform, course, i, uid)) for i in items
        )
        + "</tr>"
        for uid, name in learners.items()
    )
    table = (
        f'<div class="table-wrap"><table data-testid="gradebook"><caption>{len(items)} column{"s" * (len(items) != 1)}</caption>'
        f'<thead><tr><th scope="col">Student</th>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
        if items
        else '<p class="muted">No gradebook columns yet: a graded activity added through Deep Linking brings one.</p>'
    )
    return (
        '<section class="card" aria-labelledby="book-h"><h2 id="book-h">Gradebook</h2>'
        f'{table}<p class="help" data-testid="score-rules"><strong>Score rules of this platform.</strong> {RULES.get(platform.family, "")}</p></section>'
    )


def _grader(course: Course) -> Person | None:
    return next((p for p in course.members.values() if role_label(p.roles) == "Instructor"), None)


def _review_url(platform: Platform, course: Course, item: dict[str, Any], user_id: str) -> str:
    """The grader's Submission Review link of a cell (LTI Submission Review 1.0 §3), when the column has one."""
    grader = _grader(course)
    if not isinstance(item.get("submissionReview"), dict) or not item.get("resourceLinkId") or grader is None:
        return ""
    what = f"review:{item['resourceLinkId']}:{user_id}"
    return f"{info(platform).home_url}ui/launch?" + urlencode(
        {"course": course.context_id, "user": grader.user_id, "what": what}
    )


def reviewable(item: dict[str, Any], result: dict[str, Any] | None) -> bool:
    """Submission Review 1.0 §3.1: the link is offered at the activityProgress values the tool listed."""
    statuses = (item.get("submissionReview") or {}).get("reviewableStatus") or []
    return result is not None and (not statuses or result.get("_activity") in statuses)


def _cell(result: dict[str, Any] | None, user_id: str, item: dict[str, Any], review_url: str = "") -> str:
    attrs = f'data-testid="cell" data-user="{e(user_id)}" data-column="{e(str(item.get("label", "")))}"'
    if result is None:
        return f'<td {attrs}><span class="muted">\u2014</span></td>'
    progress = str(result.get("_grading", ""))
    badges = f'<span class="badge {e(progress)}">{e(progress)}</span>'
    if result.get("_needs_grading"):
        badges += ' <span class="badge needs">needs grading</span>'
    if "resultScore" in result:
        shown = f'<strong data-testid="score">{result["resultScore"]:g} / {result.get("resultMaximum", 1):g}</strong>'
    else:
        shown = '<span class="muted">no grade kept</span>'
    if review_url and reviewable(item, result):
        badges += f' <a href="{e(review_url)}" data-testid="submission-review">Review submission</a>'
    return f'<td {attrs} data-progress="{e(progress)}">{shown} {badges}</td>'


def _scores(platform: Platform, course: Course) -> str:
    book, prefix = gradebook(platform), lineitems_url(platform, course.context_id) + "/"
    names = {p.user_id: p.name for p in course.members.values()}
    rows = []
    for entry in reversed([x for x in book.log if str(x.get("lineItem", "")).startswith(prefix)][-12:]):
        item = book.item_by_url(entry["lineItem"]) or {"id": entry["lineItem"], "label": "(column deleted)"}
        kept = "resultScore" in result_of(item, entry, platform.family)
        given = entry.get("scoreGiven")
        score = f"{given:g} / {entry.get('scoreMaximum', 1):g}" if given is not None else "no score"
        rows.append(
            f'<li data-testid="score-received"><span class="help">{e(str(entry.get("timestamp", ""))[11:19])}</span> '
            f"{e(names.get(entry['userId'], entry['userId']))} \u00b7 {e(str(item.get('label', '')))} \u00b7 {score} "
            f'<span class="badge">{e(str(entry.get("activityProgress")))}</span> '
            f'<span class="badge {e(str(entry.get("gradingProgress")))}">{e(str(entry.get("gradingProgress")))}</span> '
            + ("" if kept or given is None else '<span class="help">(not kept by this platform\u2019s rules)</span>')
            + "</li>"
        )
    body = f'<ul class="plain">{"".join(rows)}</ul>' if rows else '<p class="muted">No scores yet.</p>'
    return (
        f'<section class="card" aria-labelledby="scores-h"><h2 id="scores-h">Scores received (AGS)</h2>{body}</section>'
    )


def _deep_linking(platform: Platform, course: Course) -> str:
    log = deep_linking_log(platform)
    rows = [
        f'<li>{e(str(r.get("errormsg") or r.get("msg") or ""))} <span class="help">{len(r["links"])} item(s)</span></li>'
        for r in log.responses[-5:]
        if r["course"] == course.context_id
    ]
    rows += [f'<li class="alert" data-testid="dl-refused-log">Refused: {e(reason)}</li>' for reason in log.refused[-5:]]
    body = f'<ul class="plain">{"".join(rows)}</ul>' if rows else '<p class="muted">No deep-linking responses yet.</p>'
    return f'<section class="card" aria-labelledby="dl-h"><h2 id="dl-h">Deep-linking responses</h2>{body}</section>'


def _call_label(path: str) -> str:
    if path in CALLS:
        return CALLS[path]
    if path.endswith("/memberships"):
        return "roster read (NRPS)"
    if path.endswith("/scores"):
        return "score (AGS)"
    if path.endswith("/results"):
        return "results (AGS)"
    return "line items (AGS)"


def _calls(platform: Platform) -> str:
    with platform.lock:
        calls = list(info(platform).calls)[-14:]
        pages = nrps_state(platform).pages_served
    rows = "".join(
        f'<li><span class="help">{time.strftime("%H:%M:%S", time.localtime(c["at"]))}</span> {e(c["method"])} '
        f'<code>{e(urlsplit(c["path"]).path)}</code> \u2192 {c["status"]} <span class="help">{_call_label(c["path"])}</span></li>'
        for c in reversed(calls)
    )
    body = (
        f'<ul class="plain">{rows}</ul>' if rows else '<p class="muted">The tool has not called this platform yet.</p>'
    )
    return (
        '<section class="card" aria-labelledby="calls-h"><h2 id="calls-h">What the tool asked this platform</h2>'
        f'<p class="help" data-testid="nrps-pages">Roster pages served through NRPS so far: {pages}.</p>{body}</section>'
    )


def roster(platform: Platform, course: Course) -> str:
    home = e(info(platform).home_url)
    hidden = f'<input type="hidden" name="course" value="{e(course.context_id)}">'
    rows = "".join(
        f'<tr data-testid="member" data-user="{e(p.user_id)}"><th scope="row">{e(p.name)}</th><td>{role_label(p.roles)}</td>'
        f"<td><code>{e(p.user_id)}</code></td><td>{e(p.status)}</td>"
        f'<td><form method="post" action="{home}ui/roster/drop">{hidden}<input type="hidden" name="user" value="{e(p.user_id)}">'
        f'<button type="submit" class="small secondary" aria-label="Drop {e(p.name)}" data-testid="drop">Drop</button></form></td></tr>'
        for p in course.members.values()
    ) + "".join(
        f'<tr data-testid="dropped" data-user="{e(p.user_id)}"><th scope="row">{e(p.name)}</th><td>{role_label(p.roles)}</td>'
        f"<td><code>{e(p.user_id)}</code></td><td>Dropped</td>"
        f'<td><form method="post" action="{home}ui/roster/reenrol">{hidden}<input type="hidden" name="user" value="{e(p.user_id)}">'
        f'<button type="submit" class="small secondary" aria-label="Enrol {e(p.name)} again" data-testid="reenrol">'
        "Enrol again</button></form></td></tr>"
        for p in course.dropped.values()
    )
    return (
        '<section class="card" aria-labelledby="roster-h"><h2 id="roster-h">Roster</h2>'
        '<p class="help">The tool reads this roster through NRPS: after the first launch in the course, on its schedule, and '
        "when an instructor presses <em>Sync now</em> on the tool\u2019s roster page (launch as the instructor from the course "
        "menu, then Roster). Someone dropped here loses access to the tool at its next sync.</p>"
        f'<div class="table-wrap"><table data-testid="sandbox-roster"><thead><tr><th scope="col">Name</th><th scope="col">Role</th>'
        f'<th scope="col">User id</th><th scope="col">Status</th><th scope="col"><span class="help">Action</span></th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
        f'<form class="row" method="post" action="{home}ui/roster/add">{hidden}'
        '<div><label for="new-name">Name</label><input id="new-name" name="name" type="text" required maxlength="80"></div>'
        '<div><label for="new-role">Role</label><select id="new-role" name="role"><option value="Learner">Student</option>'
        '<option value="TeachingAssistant">Teaching assistant</option><option value="Instructor">Instructor</option></select></div>'
        '<button type="submit" data-testid="roster-add">Add to the course</button></form></section>'
    )
