"""Tasks go to queues by urgency, so webhook retries and AI generation never wait in front of a grade."""

from __future__ import annotations

import pytest

from lti_config.celery import QUEUES, app


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("grading.score_post", "passback"),
        ("lms_tool.roster.tasks.roster_sync_task", "passback"),
        ("lms_tool.quizzes.tasks.generation_run_task", "generation"),
        ("flashcards.generation_run", "generation"),
        ("lms_tool.webhooks.tasks.webhook_deliver", "webhooks"),
        ("lms_tool.webhooks.tasks.webhook_fan_out", "webhooks"),
        ("lms_tool.webhooks.tasks.webhooks_sweep", "housekeeping"),
        ("grading.scores_sweep", "housekeeping"),
        ("some.task.nobody.routed", "housekeeping"),
    ],
)
def test_each_task_goes_to_the_queue_of_its_urgency(task, queue):
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_a_worker_without_queues_named_consumes_all_four():
    assert sorted(app.amqp.queues) == sorted(QUEUES)
