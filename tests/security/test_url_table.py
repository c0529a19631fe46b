"""Every URL of the tool, tried by tenant B with tenant A's real ids: it must answer exactly as for a missing id.

The resolver is walked; a URL pattern with neither a case below nor a reviewed exemption fails
``test_every_url_pattern_has_a_case_or_a_reviewed_exemption``, so a new view cannot ship untried.
Each case is sent by B's instructor and B's student (tool pages, with their real launches) or by B's
two API clients (one reaching B's registration, one only B's course), with every method, once with A's
ids in the path, query and body and once with an id no row has. The two answers must be the same
(status, and the error's words), A's names and titles must not show, and no row of any model may change.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from django.urls import URLPattern, URLResolver, get_resolver

from .world import World, state

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
TOOL_ACTORS = ("instructor", "student")
API_ACTORS = ("api-registration", "api-course")


def patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    """Every URL pattern of the project as one string (route syntax, or the regex of a re_path)."""
    out: list[str] = []
    for entry in (resolver or get_resolver()).url_patterns:
        text = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            out.extend(patterns(entry, text))
        elif isinstance(entry, URLPattern):
            out.append(text)
    return out


# Reviewed: patterns no tenant id can steer. A key ending in "/" exempts everything under it.
EXEMPT: dict[str, str] = {
    "": "The admins' landing page: the tool's own URLs, no tenant row read.",
    "healthz": "Database and cache check; answers the same to anyone, reads no tenant row.",
    ".well-known/jwks.json": "The tool's public keys: public by design (LTI Security Framework §6.3).",
    "lti/jwks/": "The tool's public keys: public by design (LTI Security Framework §6.3).",
    "lti/login/": "OIDC login initiation is public by design (LTI core §5.1.1); the platform's signed id_token "
    "decides the tenant at the launch (refusals in tests/lti/test_launch_refusals.py).",
    "lti/launch/": "Takes only a platform-signed id_token and the state; a foreign or forged token is refused "
    "(tests/lti/test_launch_refusals.py).",
    "lti/launch/complete/": "The same launch, its state read back from platform storage "
    "(tests/lti/test_platform_storage.py).",
    "lti/register/": "Dynamic Registration: takes a platform's configuration URL and token, no tenant id "
    "(tests/lti/test_dynamic_registration.py).",
    "lti/config/canvas.json": "The Canvas developer-key JSON: public by design, no tenant row read.",
    "lti/config/": "Django staff only (staff_member_required): a tenant launch gives no access, "
    "see test_django_staff_pages_give_a_tenant_launch_no_access.",
    "lti/config/moodle/": "Django staff only: see test_django_staff_pages_give_a_tenant_launch_no_access.",
    "admin/": "The Django admin is behind Django's staff login, not LTI launches: "
    "see test_django_staff_pages_give_a_tenant_launch_no_access.",
    "healthz/detail": "Django staff only (the admin login): a tenant launch gives no access, "
    "see test_django_staff_pages_give_a_tenant_launch_no_access.",
    "metrics": "The monitoring network only (METRICS_ALLOWED_NETWORKS, never a proxied request) or METRICS_TOKEN; "
    "labels name registrations and queues, never a course or a person (tests/core/test_metrics.py).",
    "api/schema/": "The OpenAPI schema: public by design, describes the API, holds no tenant row.",
    "api/docs/": "The API's documentation page: public by design, holds no tenant row.",
    "api/^(?P<rest>.*)$": "The API's catch-all: the same JSON 404 for every unknown path, reads nothing.",
}


def exemption(pattern: str) -> str | None:
    if pattern in EXEMPT:
        return EXEMPT[pattern]
    return next((why for key, why in EXEMPT.items() if key.endswith("/") and key and pattern.startswith(key)), None)


@dataclass(frozen=True)
class Case:
    kind: str  # "tool" (B's launches) or "api" (B's API clients)
    params: dict[str, str] = field(default_factory=dict)  # pattern parameter -> name of A's id (or "=literal")
    deep_linking: bool = False  # B's instructor sends it from a deep-linking launch (the picker)
    # Models the request may write in B's own course, as much for A's id as for a missing one (with why).
    own_writes: tuple[str, ...] = ()


def tool(deep_linking: bool = False, own_writes: tuple[str, ...] = (), **params: str) -> Case:
    return Case("tool", params, deep_linking, own_writes)


def api(**params: str) -> Case:
    return Case("api", params)


CASES: dict[str, Case] = {
    "lti/activity/": tool(),
    "lti/deep-link/": tool(deep_linking=True),
    "lti/submission-review/": tool(),
    # Keeps the reporting person's browser zone in the cache (lti/timezones.py): no row, no id of anyone else.
    "lti/timezone/": tool(),
    "lti/course/": tool(),
    "roster/": tool(),
    # "Sync now" syncs B's own course: it audits the request and keeps its sync row, whatever ids are sent.
    "roster/sync/": tool(own_writes=("core.AuditEvent", "roster.RosterSync")),
    "quizzes/pick/": tool(deep_linking=True),
    "quizzes/new/": tool(),
    "quizzes/review/": tool(),
    "quizzes/accommodations/": tool(),
    "quizzes/review/<int:answer_id>/": tool(answer_id="answer"),
    "quizzes/<int:quiz_id>/": tool(quiz_id="quiz"),
    "quizzes/<int:quiz_id>/manage/": tool(quiz_id="quiz"),
    "quizzes/<int:quiz_id>/settings/": tool(quiz_id="quiz"),
    "quizzes/<int:quiz_id>/dates/": tool(quiz_id="quiz"),
    "quizzes/<int:quiz_id>/publish/": tool(quiz_id="quiz"),
    "quizzes/<int:quiz_id>/approve-all/": tool(quiz_id="quiz"),
    "quizzes/<int:quiz_id>/runs/<int:run_id>/": tool(quiz_id="quiz", run_id="run"),
    "quizzes/<int:quiz_id>/questions/new/": tool(quiz_id="quiz"),
    "quizzes/<int:quiz_id>/questions/<int:question_id>/edit/": tool(quiz_id="quiz", question_id="question"),
    "quizzes/<int:quiz_id>/questions/<int:question_id>/<str:action>/": tool(
        quiz_id="quiz", question_id="question", action="=approve"
    ),
    "quizzes/<int:quiz_id>/take/": tool(quiz_id="quiz"),
    "quizzes/attempts/<int:attempt_id>/": tool(attempt_id="attempt_open"),
    "quizzes/attempts/<int:attempt_id>/answer/": tool(attempt_id="attempt_open"),
    "quizzes/attempts/<int:attempt_id>/extend/": tool(attempt_id="attempt_open"),
    "quizzes/attempts/<int:attempt_id>/submit/": tool(attempt_id="attempt_open"),
    "quizzes/attempts/<int:attempt_id>/result/": tool(attempt_id="attempt_submitted"),
    "flashcards/decks/": tool(),
    "flashcards/decks/<int:pk>/": tool(pk="deck"),
    "flashcards/decks/<int:pk>/settings": tool(pk="deck"),
    "flashcards/decks/<int:pk>/dates": tool(pk="deck"),
    "flashcards/decks/<int:pk>/publish": tool(pk="deck"),
    "flashcards/decks/<int:pk>/cards/new": tool(pk="deck"),
    "flashcards/decks/<int:pk>/cards/<int:card_pk>/edit": tool(pk="deck", card_pk="card"),
    "flashcards/decks/<int:pk>/cards/review": tool(pk="deck"),
    "flashcards/decks/<int:pk>/generate": tool(pk="deck"),
    "flashcards/decks/<int:pk>/import": tool(pk="deck"),
    "flashcards/decks/<int:pk>/export": tool(pk="deck"),
    "flashcards/decks/<int:pk>/analytics": tool(pk="deck"),
    "flashcards/analytics/": tool(),
    "flashcards/decks/<int:pk>/review/": tool(pk="deck"),
    "flashcards/decks/<int:pk>/review/rate": tool(pk="deck"),
    "flashcards/progress/": tool(),
    "analytics/risk/": tool(),
    # Bad or missing thresholds: refused (400) and nothing stored, whatever ids are sent.
    "analytics/risk/settings/": tool(),
    # "Record the current state now" queues B's own course's check and audits the request, whatever ids are sent.
    "analytics/risk/check/": tool(own_writes=("core.AuditEvent",)),
    "analytics/risk/learners/<int:user_id>/": tool(user_id="student_user"),
    "analytics/retention/": tool(),
    "api/v1/analytics/at-risk": api(),
    "api/v1/users": api(),
    "api/v1/users/<int:pk>": api(pk="student_user"),
    "api/v1/users/<int:pk>/export": api(pk="student_user"),
    "api/v1/users/<int:pk>/erase": api(pk="student_user"),
    "api/v1/analytics/enrollments": api(),
    "api/v1/courses": api(),
    "api/v1/courses/<int:pk>": api(pk="context"),
    "api/v1/enrollments": api(),
    "api/v1/enrollments/<int:pk>": api(pk="membership"),
    "api/v1/quizzes": api(),
    "api/v1/quizzes/<int:pk>": api(pk="quiz"),
    "api/v1/decks": api(),
    "api/v1/decks/<int:pk>": api(pk="deck"),
    "api/v1/attempts": api(),
    "api/v1/attempts/<int:pk>": api(pk="attempt_submitted"),
    "api/v1/scores": api(),
    "api/v1/scores/<int:pk>": api(pk="score"),
    "api/v1/review-items": api(),
    "api/v1/review-items/<int:pk>/decision": api(pk="score"),
    "api/v1/dead-letters": api(),
    "api/v1/dead-letters/<int:pk>/replay": api(pk="score"),
    "api/v1/audit-events": api(),
    "api/v1/events": api(),
    "api/v1/webhooks/subscriptions": api(),
    "api/v1/webhooks/subscriptions/<int:pk>": api(pk="subscription"),
    "api/v1/webhooks/deliveries": api(),
    "api/v1/webhooks/deliveries/<int:pk>/replay": api(pk="delivery"),
}


def fill(pattern: str, values: dict[str, Any]) -> str:
    """The pattern as a path, each ``<conv:name>`` (or regex group) replaced by its value."""
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), pattern)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), path)
    return path.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")


def tool_fields(ids: dict[str, Any]) -> dict[str, Any]:
    """Form fields and query parameters naming A's objects, under the names the pages read."""
    return {
        "item": [f"quiz:{ids['quiz']}", f"deck:{ids['deck']}"],
        "activity": f"quiz:{ids['quiz']}",
        "selected": f"quiz:{ids['quiz']}",
        "quiz": ids["quiz"],
        "deck": ids["deck"],
        "card": ids["card"],
        "question": ids["question"],
        "answer": ids["answer"],
        "attempt": ids["attempt_open"],
        "context": ids["context"],
        "course": ids["context"],
        "user": ids["student_user"],
        "for_user": ids["student_sub"],
        f"q{ids['question']}": "ALPHA overwrite",
        "action": "approve",
        "score": "0",
        "rating": "3",
        "title": "Renamed by B",
        "front": "Written by B",
        "back": "Written by B",
        "prompt": "Written by B",
        "count": "3",
        "text": "Written by B. " * 40,
        "max_attempts": "1",
    }


def api_query(ids: dict[str, Any]) -> dict[str, Any]:
    """The list filters of the API (unknown ones are ignored), each naming an A object."""
    return {
        "course": ids["context"],
        "user": ids["student_user"],
        "quiz": ids["quiz"],
        "registration": ids["registration"],
        "subscription": ids["subscription"],
        "sub": ids["student_sub"],
        "context_id": ids["context_id"],
        "object_id": str(ids["student_user"]),
    }


def api_body(ids: dict[str, Any]) -> dict[str, Any]:
    """A body each write accepts (a valid one reaches the reach check, not the validation)."""
    return {
        "course": ids["context"],
        "user": {"sub": "intruder-from-b"},
        "roles": ["Learner"],
        "reviewer": ids["teacher_user"],
        "score_given": 0,
        "comment": "B",
        "mode": "delete",
        "is_active": False,
    }


def send(world: World, pattern: str, case: Case, actor: str, method: str, ids: dict[str, Any]) -> requests.Response:
    values = {name: (ref[1:] if ref.startswith("=") else ids[ref]) for name, ref in case.params.items()}
    url = world.tool_url + "/" + fill(pattern, values)
    if case.kind == "api":
        headers = {"Authorization": f"Bearer {world.api[actor]}", "Accept": "application/json"}
        body = None if method == "GET" else api_body(ids)
        return requests.request(method, url, params=api_query(ids), json=body, headers=headers, timeout=15)
    seat = {
        "instructor": world.b_instructor_dl if case.deep_linking else world.b_instructor,
        "student": world.b_student,
    }
    launch_id = seat[actor].launch_id
    fields = tool_fields(ids)
    data = None if method == "GET" else {"launch": launch_id, **fields}
    return requests.request(
        method,
        url,
        params={"launch": launch_id, **fields},
        data=data,
        headers={"X-LTI-Launch": launch_id},
        timeout=15,
    )


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def answer(response: requests.Response, ids: dict[str, Any]) -> dict[str, Any]:
    """What an attacker can tell from an answer: statuses, where it ended, the error it gives."""
    mask = {str(v) for v in ids.values()}
    path = "/".join("<id>" if part in mask else part for part in urlparse(response.url).path.split("/"))
    seen: dict[str, Any] = {
        "status": response.status_code,
        "redirects": [r.status_code for r in response.history],
        "path": path,
    }
    kind = response.headers.get("Content-Type", "")
    if "json" in kind:
        try:
            seen["json"] = response.json()
        except json.JSONDecodeError:
            seen["json"] = response.text
    elif response.status_code >= 400:
        error = re.search(r'<section class="card error"[^>]*>(.*?)</section>', response.text, re.S)
        # The error page's words, without its per-request reference.
        words = _text(error.group(1)) if error else _text(response.text)[:400]
        seen["error"] = re.sub(r"Reference: (?:(\S+) · )?[0-9a-f]{8}", r"Reference: \1", words)
    else:
        view = re.search(r'data-view="([^"]+)"', response.text)
        seen["view"] = view.group(1) if view else None
    return seen


def _cases() -> list[Any]:
    out = []
    for pattern, case in CASES.items():
        actors = TOOL_ACTORS if case.kind == "tool" else API_ACTORS
        for actor in actors:
            for method in METHODS:
                out.append(pytest.param(pattern, actor, method, id=f"{method} /{pattern} as {actor}"))
    return out


def test_every_url_pattern_has_a_case_or_a_reviewed_exemption():
    known = patterns()
    uncovered = [p for p in known if p not in CASES and exemption(p) is None]
    stale = [p for p in CASES if p not in known]

    assert not uncovered, f"URL patterns with neither a tenant case nor a reviewed exemption: {uncovered}"
    assert not stale, f"cases for URL patterns that no longer exist: {stale}"
    assert not [p for p in CASES if exemption(p)], "a pattern is both tried and exempted"


@pytest.mark.parametrize(("pattern", "actor", "method"), _cases())
def test_tenant_b_gets_from_a_real_id_of_tenant_a_what_it_gets_from_a_missing_id(world, pattern, actor, method):
    case = CASES[pattern]
    real, missing = world.ids, world.missing_ids()

    before = state()
    with_a = send(world, pattern, case, actor, method, real)
    after_a = state()
    with_missing = send(world, pattern, case, actor, method, missing)
    after_missing = state()

    leaked = [s for s in world.secrets if s in with_a.text]
    assert not leaked, f"tenant A's {leaked} shown to B: {with_a.status_code} {with_a.text[:600]}"
    assert answer(with_a, real) == answer(with_missing, missing), "A's id answers unlike a missing one"
    changed_by_a = {m: (before[m], after_a[m]) for m in before if before[m] != after_a[m]}
    changed_by_missing = {m for m in after_a if after_a[m] != after_missing[m]}
    assert set(changed_by_a) <= set(case.own_writes), f"rows changed: {changed_by_a}"
    assert set(changed_by_a) == changed_by_missing, "A's id writes unlike a missing one"
    if 200 <= with_a.status_code < 300 and urlparse(with_a.url).path != urlparse(with_a.request.url).path:
        assert not any(part in {str(v) for v in real.values()} for part in urlparse(with_a.url).path.split("/")), (
            f"redirected into A's object: {with_a.url}"
        )


def test_the_table_tells_a_reachable_id_from_a_missing_one(world):
    """The control: A's own instructor gets A's quiz, so an answer that matches "missing" means refused."""
    case, pattern = CASES["quizzes/<int:quiz_id>/manage/"], "quizzes/<int:quiz_id>/manage/"
    world.b_instructor, saved = world.a_instructor, world.b_instructor
    try:
        own = send(world, pattern, case, "instructor", "GET", world.ids)
        missing = send(world, pattern, case, "instructor", "GET", world.missing_ids())
    finally:
        world.b_instructor = saved

    assert own.status_code == 200 and "ALPHASECRET" in own.text
    assert answer(own, world.ids) != answer(missing, world.missing_ids())


STAFF_PATTERNS = [
    p
    for p in patterns()
    if p.startswith("admin/") or (p.startswith("lti/config/") and "json" not in p) or p == "healthz/detail"
]


@pytest.mark.parametrize("pattern", STAFF_PATTERNS, ids=[f"/{p}" for p in STAFF_PATTERNS])
def test_django_staff_pages_give_a_tenant_launch_no_access(world, pattern):
    values = {
        "object_id": world.ids["registration"],
        "id": world.ids["registration"],
        "app_label": "lti",
        "content_type_id": 1,
        "url": "lti/registration/",
    }
    launch_id = world.b_instructor.launch_id
    url = world.tool_url + "/" + fill(pattern, values)
    before = state()

    for method in ("GET", "POST"):
        response = requests.request(
            method,
            url,
            params={"launch": launch_id},
            data={"launch": launch_id} if method == "POST" else None,
            headers={"X-LTI-Launch": launch_id},
            allow_redirects=False,
            timeout=15,
        )
        location = response.headers.get("Location", "")
        public = pattern in {"admin/login/", "admin/logout/"} and response.status_code in {200, 405}
        assert public or response.status_code in {302, 403, 404, 405}, (method, response.status_code)
        if response.status_code == 302:
            assert "/admin/login/" in location or location.endswith("/"), location
        assert not any(s in response.text for s in world.secrets)
        assert "Site administration" not in response.text

    assert state() == before
