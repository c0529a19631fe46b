"""Generation in a real Celery worker process (Redis broker, PostgreSQL), with progress seen from outside."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lms_tool.quizzes import services
from lms_tool.quizzes.models import GenerationRun

from ..celery_worker import Worker, celery_worker, needs_worker_services, wait_for
from .factories import course_text, make_course

pytestmark = [needs_worker_services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker() -> Iterator[Worker]:
    with celery_worker(env={"AI_BASE_URL": "", "AI_MODEL": ""}) as running:
        yield running


def test_a_worker_generates_the_questions_of_a_new_quiz(worker):
    course = make_course()
    long_text = "\n\n".join(course_text(n) for n in ("heart.md", "printing.md", "water_cycle.md"))

    quiz, run = services.quiz_create(
        context=course.context,
        user=course.instructor,
        title="Worker quiz",
        text=long_text,
        count=12,
        types=["single", "true_false", "short"],
    )

    def finished() -> bool:
        run.refresh_from_db()
        return run.is_finished

    assert wait_for(finished), "the worker did not finish:\n" + worker.output()
    assert run.state == GenerationRun.State.DONE and run.percent == 100
    assert quiz.questions.count() == 12 and run.model == "offline-v1"
