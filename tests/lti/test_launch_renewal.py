"""A launch lives while its person is active: each page and autosave renews it, up to an absolute cap.

The cache's own clock cannot be moved, so "time passing" is two things here: the kept entry is made to
have only seconds left (as it would after a long pause), and the tool's clock (``services._now``) is
moved forward for the renewal and the cap."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import requests
from django.core.cache import cache
from django.db import connection

from lms_tool.lti import services
from lms_tool.quizzes.models import Attempt, Question
from lms_tool.sandbox.platform import LaunchSpec

from ..quizzes.factories import make_quiz
from ..quizzes.flow import seat

HOUR = 3600


def _seconds_left(launch_id: str) -> float:
    """How long the cache will keep the launch (Redis TTL or the database cache's expiry column)."""
    name = services._launch_keys(launch_id)[0]
    key = cache.make_key(name)
    if hasattr(cache, "_cache") and hasattr(cache._cache, "get_client"):
        return float(cache._cache.get_client(key).ttl(key))  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT expires FROM {cache._table} WHERE cache_key = %s", [key])  # type: ignore[attr-defined]
        (expires,) = cursor.fetchone()
    expires = expires if isinstance(expires, datetime) else datetime.fromisoformat(str(expires))
    return (expires.replace(tzinfo=expires.tzinfo or UTC) - datetime.now(UTC)).total_seconds()


def _pause(launch_id: str, *, seconds_left: int, monkeypatch: pytest.MonkeyPatch, later: float) -> None:
    """As after a pause: the kept launch has ``seconds_left`` and the tool's clock is ``later`` s ahead."""
    assert cache.touch(services._launch_keys(launch_id)[0], seconds_left)
    monkeypatch.setattr(services, "_now", lambda: time.time() + later)


def _page(tool_url: str, launch_id: str) -> requests.Response:
    return requests.get(f"{tool_url}/lti/activity/", params={"launch": launch_id}, timeout=10)


def test_a_launch_lasts_one_hour_of_idleness(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course))

    assert HOUR - 60 < _seconds_left(learner.launch_id) <= HOUR


def test_using_a_page_renews_the_launch_without_rewriting_it(canvas, course, student, tool_url, monkeypatch):
    learner = seat(canvas, LaunchSpec(student, course))
    name = services._launch_keys(learner.launch_id)[0]
    sealed = cache.get(name)
    _pause(learner.launch_id, seconds_left=30, monkeypatch=monkeypatch, later=2 * HOUR)

    page = _page(tool_url, learner.launch_id)

    assert page.status_code == 200 and 'data-view="learner"' in page.text
    assert _seconds_left(learner.launch_id) > HOUR - 60  # renewed for the idle time again
    assert cache.get(name) == sealed  # touched, not re-sealed


def test_without_use_the_launch_ends_after_the_idle_time(canvas, course, student, tool_url, settings):
    settings.LTI = {**settings.LTI, "LAUNCH_IDLE_SECONDS": 600}
    learner = seat(canvas, LaunchSpec(student, course))

    assert 0 < _seconds_left(learner.launch_id) <= 600
    cache.delete(services._launch_keys(learner.launch_id)[0])  # what the cache does when those seconds pass
    ended = _page(tool_url, learner.launch_id)
    assert ended.status_code == 401 and "open the tool again" in ended.text


def test_an_autosave_renews_the_launch_of_a_student_typing_an_answer(
    canvas, course, instructor, student, tool_url, monkeypatch
):
    teacher = seat(canvas, LaunchSpec(instructor, course))
    quiz = make_quiz(teacher, count=1, types=["free_text"])  # type: ignore[arg-type]
    learner = seat(canvas, LaunchSpec(student, course, custom={"activity": f"quiz:{quiz.pk}"}))
    requests.post(f"{tool_url}/quizzes/{quiz.pk}/take/", data={"launch": learner.launch_id}, timeout=10)
    attempt = Attempt.objects.get(quiz=quiz)
    question = Question.objects.get(pk__in=attempt.question_ids)
    _pause(learner.launch_id, seconds_left=30, monkeypatch=monkeypatch, later=3 * HOUR)

    saved = requests.post(
        f"{tool_url}/quizzes/attempts/{attempt.pk}/answer/",
        json={"question": question.pk, "response": "The heart pumps blood."},
        headers={"X-LTI-Launch": learner.launch_id, "Accept": "application/json"},
        timeout=10,
    )

    assert saved.status_code == 200 and saved.json()["saved"] is True
    assert _seconds_left(learner.launch_id) > HOUR - 60


def test_no_activity_keeps_a_launch_past_the_absolute_cap(canvas, course, student, tool_url, monkeypatch):
    learner = seat(canvas, LaunchSpec(student, course))
    issued = time.time()
    monkeypatch.setattr(services, "_now", lambda: issued + 12 * HOUR - 120)  # two minutes before the cap

    near = _page(tool_url, learner.launch_id)
    left = _seconds_left(learner.launch_id)
    monkeypatch.setattr(services, "_now", lambda: issued + 12 * HOUR + 1)
    over = _page(tool_url, learner.launch_id)

    assert near.status_code == 200 and 0 < left <= 120  # renewed only up to the cap
    assert over.status_code == 401 and "open the tool again" in over.text
    assert services.launch_get(launch_id=learner.launch_id) is None


def test_the_cap_is_measured_from_the_launch_and_can_be_set(canvas, course, student, tool_url, settings):
    settings.LTI = {**settings.LTI, "LAUNCH_IDLE_SECONDS": 8 * HOUR, "LAUNCH_MAX_SECONDS": 900}

    learner = seat(canvas, LaunchSpec(student, course))

    assert 0 < _seconds_left(learner.launch_id) <= 900
