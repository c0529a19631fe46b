"""A worker killed with SIGKILL in the middle of posting scores: another worker finishes the job, and every
score is in the gradebook once, at its latest value (docs/production.md, "Outages and queues")."""

from __future__ import annotations

import os
import signal

import pytest
from django.db import transaction

from lms_tool.grading import services
from lms_tool.grading.models import PassbackState, Score
from lms_tool.grading.tasks import scores_sweep_task
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person
from lms_tool.sandbox.services.ags import gradebook, line_item_add

from ..celery_worker import celery_worker, needs_worker_services, wait_for
from .conftest import seat

pytestmark = [needs_worker_services, pytest.mark.django_db(transaction=True)]

FAST = {
    "GRADING_RETRY_BASE_SECONDS": "0.05",
    "GRADING_RETRY_CAP_SECONDS": "0.2",
    "GRADING_LEASE_SECONDS": "2",
    "HTTP_TIMEOUT_SECONDS": "5",
}


def test_a_worker_killed_mid_passback_leaves_every_score_posted_once_by_the_next(canvas, course, settings, tool_url):
    settings.GRADING_PASSBACK_ENABLED = True
    url = line_item_add(canvas, course, label="Quiz", resource_link_id="rl-1")
    people = [
        canvas.enrol(course, Person(f"k{n}", f"K {n}", f"k{n}@example.edu", [ROLE + "Learner"])) for n in (1, 2, 3)
    ]
    seats = [seat(canvas, LaunchSpec(p, course, resource_link_id="rl-1", lineitem_url=url)) for p in people]
    canvas.faults["ags_delay"] = 2  # every AGS call takes 2 s: the kill lands while a post is in flight

    with celery_worker(env=FAST) as first:
        with transaction.atomic():
            for n, learner in enumerate(seats, start=1):
                services.score_submit(user=learner.user, resource_link=learner.link, score_given=n, score_maximum=10)
        in_flight = wait_for(lambda: any(path.endswith("/scores") for _, path in canvas.requests_seen), 30)
        assert in_flight, "no score post started:\n" + first.output()
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(10)

    assert Score.objects.exclude(passback_state=PassbackState.POSTED).exists(), "the kill came too late to test"
    canvas.faults.pop("ags_delay")
    with celery_worker(env=FAST, purge=False) as second:
        # The beat's sweep (here every poll, with no grace period), once the dead worker's lease has run out.
        settings.GRADING_SWEEP_SECONDS = 0

        def all_posted() -> bool:
            scores_sweep_task()
            return not Score.objects.exclude(passback_state=PassbackState.POSTED).exists()

        assert wait_for(all_posted, 60), "scores left unposted:\n" + second.output()

    book = gradebook(canvas)
    for n, person in enumerate(people, start=1):
        assert book.result(url, person.user_id)["resultScore"] == n  # type: ignore[index]
    assert Score.objects.count() == 3
    assert not Score.objects.dead_letters().exists()
