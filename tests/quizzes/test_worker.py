"""Generation in a real Celery worker process (Redis broker, PostgreSQL), with progress seen from outside."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from lms_tool.quizzes import services
from lms_tool.quizzes.models import GenerationRun

from .factories import course_text, make_course

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="needs a real broker and a database another process can read: set REDIS_URL and a postgres:// "
        "DATABASE_URL",
    ),
    pytest.mark.django_db(transaction=True),
]
BASE_DIR = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"]) + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker():  # type: ignore[no-untyped-def]
    from lti_config.celery import app

    app.control.purge()  # messages of earlier tests name rows this database does not have
    env = {**os.environ, "DATABASE_URL": _database_url(), "AI_BASE_URL": "", "AI_MODEL": "", "LOG_LEVEL": "INFO"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "lti_config",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


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

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_finished:
            break
        time.sleep(0.2)
    else:
        worker.terminate()
        pytest.fail("the worker did not finish:\n" + worker.communicate(timeout=15)[0].decode()[-3000:])
    assert run.state == GenerationRun.State.DONE and run.percent == 100
    assert quiz.questions.count() == 12 and run.model == "offline-v1"
