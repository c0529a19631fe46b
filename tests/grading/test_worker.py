"""A real Celery worker (another process) posts scores after commit, retries, and follows the sweep."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from lms_tool.grading import services
from lms_tool.grading.models import Score
from lms_tool.grading.tasks import scores_sweep_task
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person
from lms_tool.sandbox.services.ags import gradebook, line_item_add

from ..celery_worker import celery_worker, database_url, needs_worker_services, wait_for
from .conftest import seat

pytestmark = needs_worker_services


def _wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    assert wait_for(check, seconds), f"timed out waiting for {what}"


def _posted(count: int) -> Callable[[], bool]:
    """Whether ``count`` scores are posted, for ``wait_for``."""
    return lambda: Score.objects.filter(passback_state="posted").count() == count


@pytest.fixture
def worker(settings, tool_url) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """``celery -A lti_config worker`` on the test database and the test's Redis, with fast retries."""
    env = {
        "SECRET_KEY": settings.SECRET_KEY,
        "GRADING_RETRY_BASE_SECONDS": "0.05",
        "GRADING_RETRY_CAP_SECONDS": "0.2",
        "GRADING_MAX_ATTEMPTS": "5",
        "HTTP_TIMEOUT_SECONDS": "3",
    }
    with celery_worker(env=env) as running:
        settings.GRADING_PASSBACK_ENABLED = True
        yield running.lines


@pytest.mark.django_db(transaction=True)
def test_a_worker_posts_scores_after_commit_retrying_the_platform_s_errors(canvas, course, instructor, worker):
    url = line_item_add(canvas, course, label="Quiz", resource_link_id="rl-1")
    people = [canvas.enrol(course, Person(f"s{n}", f"S {n}", f"s{n}@example.edu", [ROLE + "Learner"])) for n in (1, 2)]
    learners = [seat(canvas, LaunchSpec(p, course, resource_link_id="rl-1", lineitem_url=url)) for p in people]
    teacher = seat(canvas, LaunchSpec(instructor, course, resource_link_id="rl-1", lineitem_url=url))
    canvas.faults["ags"] = [500, {"status": 429, "retry_after": "1"}]

    with transaction.atomic():
        automatic = services.score_submit(
            user=learners[0].user, resource_link=learners[0].link, score_given=8, score_maximum=10
        )
        unsure = services.score_submit(
            user=learners[1].user,
            resource_link=learners[1].link,
            score_given=4,
            score_maximum=10,
            source="ai",
            confidence=0.3,
        )
        time.sleep(0.5)
        assert not [path for _, path in canvas.requests_seen if path.endswith("/scores")], "posted before commit"

    def posted() -> bool:
        return Score.objects.filter(passback_state="posted").count() == 2

    _wait_for(posted, 30, "both scores to be posted")
    book = gradebook(canvas)
    assert book.result(url, "s1")["resultScore"] == 8  # type: ignore[index]
    assert book.result(url, "s2")["_grading"] == "PendingManual"  # type: ignore[index]
    assert sum(s.attempts for s in Score.objects.all()) == 4  # one 500 and one 429 retried by the worker
    assert any("grading.score_post" in line for line in worker)

    services.score_review_decide(score=unsure, reviewer=teacher.user, score_given=5)
    _wait_for(lambda: (book.result(url, "s2") or {}).get("_grading") == "FullyGraded", 30, "the reviewed grade")
    assert book.result(url, "s2")["resultScore"] == 5  # type: ignore[index]
    automatic.refresh_from_db()
    assert automatic.passback_state == "posted"


@pytest.mark.django_db(transaction=True)
def test_the_sweep_sends_a_stuck_score_to_the_worker(canvas, course, student, worker, settings):
    url = line_item_add(canvas, course, label="Quiz", resource_link_id="rl-1")
    learner = seat(canvas, LaunchSpec(student, course, resource_link_id="rl-1", lineitem_url=url))
    settings.GRADING_PASSBACK_ENABLED = False  # as if the broker had been down when the score was written
    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    Score.objects.filter(pk=score.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    settings.GRADING_PASSBACK_ENABLED = True

    assert scores_sweep_task() == 1

    _wait_for(lambda: Score.objects.get(pk=score.pk).passback_state == "posted", 30, "the swept score")
    assert gradebook(canvas).result(url, student.user_id)["resultScore"] == 6  # type: ignore[index]


@pytest.mark.django_db(transaction=True)
def test_a_classs_scores_queue_one_post_per_batch_and_each_is_posted_once(canvas, course, settings):
    """Scores of one platform written while its post is queued queue nothing more: that post's batch takes them
    (grading/queue.py). A batch that came out full queues the next; a score after the last claim queues its own."""
    from lti_config.celery import QUEUES, app

    url = line_item_add(canvas, course, label="Quiz", resource_link_id="rl-1")
    people = [
        canvas.enrol(course, Person(f"s{n}", f"S {n}", f"s{n}@example.edu", [ROLE + "Learner"])) for n in range(6)
    ]
    learners = [seat(canvas, LaunchSpec(p, course, resource_link_id="rl-1", lineitem_url=url)) for p in people]
    with app.connection_for_write() as conn:  # only this test's messages on the broker
        for queue in QUEUES:
            conn.default_channel.queue_purge(queue)
    settings.GRADING_PASSBACK_ENABLED, settings.GRADING_POSTS_QUEUED_ONCE = True, True
    for n, learner in enumerate(learners[:5]):  # five submits, each its own transaction, no worker running yet
        with transaction.atomic():
            services.score_submit(user=learner.user, resource_link=learner.link, score_given=n, score_maximum=10)
    with app.connection_for_write() as conn:
        queued = sum(conn.default_channel.client.llen(queue) for queue in QUEUES)
    assert queued == 1  # the first score's post; the other four are in its batch

    # Two scores a batch: the queued post takes two, and each full batch queues the next post.
    with celery_worker(env={"SECRET_KEY": settings.SECRET_KEY, "GRADING_POST_BATCH": "2"}, purge=False) as running:
        assert wait_for(_posted(5), 30), running.output()
        # A score written after the last claim queues a post of its own.
        services.score_submit(user=learners[5].user, resource_link=learners[5].link, score_given=9, score_maximum=10)
        assert wait_for(_posted(6), 30), running.output()
        received = [line for line in running.lines if "grading.score_post" in line and "received" in line]

    assert len(received) == 4, running.output()  # 2 + 2 + 1 for the five, then 1 for the sixth
    book = gradebook(canvas)
    assert [book.result(url, f"s{n}")["resultScore"] for n in range(6)] == [0, 1, 2, 3, 4, 9]  # type: ignore[index]
    assert len([path for _, path in canvas.requests_seen if path.endswith("/scores")]) == 6  # each posted once


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_database_connection_from_one_task_to_the_next(canvas, course, settings):
    """Celery's Django fixup closes the database connection around every task; the worker keeps it instead, for
    ``CONN_MAX_AGE`` as a web process does (lti_config/celery.py): one server process, not one per score posted."""
    url = line_item_add(canvas, course, label="Quiz", resource_link_id="rl-1")
    people = [
        canvas.enrol(course, Person(f"s{n}", f"S {n}", f"s{n}@example.edu", [ROLE + "Learner"])) for n in range(3)
    ]
    learners = [seat(canvas, LaunchSpec(p, course, resource_link_id="rl-1", lineitem_url=url)) for p in people]
    name = f"lms-tool-worker-{connection.settings_dict['NAME']}"  # this test's worker's sessions, by name

    def sessions() -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [name])
            return [pid for (pid,) in cursor.fetchall()]

    settings.GRADING_PASSBACK_ENABLED = True
    env = {"SECRET_KEY": settings.SECRET_KEY, "DATABASE_URL": f"{database_url()}?application_name={name}"}
    seen: list[list[int]] = []
    with celery_worker(env=env) as running:
        for n, learner in enumerate(learners):  # one score, one task, one after the other
            services.score_submit(user=learner.user, resource_link=learner.link, score_given=n, score_maximum=10)
            assert wait_for(_posted(n + 1), 30), running.output()
            time.sleep(0.3)  # the task has ended (its database work is done): what the worker does after it
            seen.append(sessions())

    assert len(seen[0]) == 1, seen  # the worker's one connection, still open between tasks
    assert seen == [seen[0]] * 3, seen  # and the same server process for all three
