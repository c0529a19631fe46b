"""A real worker behind a Redis proxy rides out broker outages (refused and silently dropped) and
keeps posting scores afterwards without a restart; behind a PostgreSQL proxy, a score whose task met
the database down is posted once it is back, without waiting for the sweep; a flood of failing webhook
deliveries does not hold up a score."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings as django_settings

from lms_tool.core import crypto
from lms_tool.core.models import DomainEvent
from lms_tool.grading import services
from lms_tool.grading.models import Score
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person
from lms_tool.sandbox.services.ags import gradebook, line_item_add
from lms_tool.webhooks.models import Delivery, DeliveryState, Subscription
from lms_tool.webhooks.tasks import webhook_deliver

from ..celery_worker import Worker, celery_worker, database_url, wait_for
from ..faults.proxy import DROP, REFUSE, FaultProxy, fault_proxy
from ..faults.services import needs_services
from ..grading.conftest import seat

pytestmark = [needs_services, pytest.mark.django_db(transaction=True)]

FAST_RETRIES = {
    "GRADING_RETRY_BASE_SECONDS": "0.05",
    "GRADING_RETRY_CAP_SECONDS": "0.2",
    "HTTP_TIMEOUT_SECONDS": "3",
    # Small broker timeouts so a silent cut is noticed in a second or two, not 30 s.
    "CELERY_BROKER_SOCKET_TIMEOUT": "2",
    "CELERY_BROKER_HEALTH_CHECK_SECONDS": "1",
}


@pytest.fixture
def broker_proxy() -> Iterator[FaultProxy]:
    with fault_proxy(os.environ["REDIS_URL"]) as proxy:
        yield proxy


@pytest.fixture
def worker_behind_proxy(settings, broker_proxy: FaultProxy) -> Iterator[Worker]:  # type: ignore[no-untyped-def]
    env = {**FAST_RETRIES, "SECRET_KEY": settings.SECRET_KEY}
    env["CELERY_BROKER_URL"] = broker_proxy.url_for(django_settings.CELERY_BROKER_URL)
    with celery_worker(env=env) as running:
        settings.GRADING_PASSBACK_ENABLED = True
        yield running


def _posted(score: Score) -> bool:
    return Score.objects.get(pk=score.pk).passback_state == "posted"


@pytest.mark.parametrize("mode", [REFUSE, DROP])
def test_a_worker_keeps_posting_scores_after_a_broker_outage_without_a_restart(
    canvas, course, student, broker_proxy, worker_behind_proxy, mode
):
    url = line_item_add(canvas, course, label="Quiz", resource_link_id="rl-1")
    learner = seat(canvas, LaunchSpec(student, course, resource_link_id="rl-1", lineitem_url=url))
    pid = worker_behind_proxy.process.pid

    with broker_proxy.down(mode):
        time.sleep(4)  # the worker notices (socket timeout, health check) and starts reconnecting

    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=7, score_maximum=10)

    assert wait_for(lambda: _posted(score), 30), "score not posted after the outage:\n" + worker_behind_proxy.output()
    assert worker_behind_proxy.process.poll() is None and worker_behind_proxy.process.pid == pid
    assert "Unrecoverable error" not in worker_behind_proxy.output(100_000)
    assert gradebook(canvas).result(url, student.user_id)["resultScore"] == 7  # type: ignore[index]


@contextmanager
def _worker_behind_database_proxy(settings) -> Iterator[tuple[FaultProxy, Worker]]:  # type: ignore[no-untyped-def]
    """A worker (fast retries) reaching the database through a fault proxy, passback on in this process."""
    with fault_proxy(database_url()) as database:
        env = {
            **FAST_RETRIES,
            "SECRET_KEY": settings.SECRET_KEY,
            "DATABASE_URL": database.url_for(database_url()) + "?connect_timeout=2",
        }
        with celery_worker(env=env) as worker:
            settings.GRADING_PASSBACK_ENABLED = True
            yield database, worker


def test_a_score_whose_task_met_the_database_down_is_posted_once_it_is_back_without_the_sweep(
    canvas, course, student, settings
):
    url = line_item_add(canvas, course, label="Quiz", resource_link_id="rl-1")
    learner = seat(canvas, LaunchSpec(student, course, resource_link_id="rl-1", lineitem_url=url))
    with _worker_behind_database_proxy(settings) as (database, worker):
        with database.down():
            # Submitted here (this process reaches the database directly); the worker's task cannot.
            score = services.score_submit(
                user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10
            )
            assert wait_for(lambda: "grading.score_post" in worker.output(100_000), 20), worker.output()
            time.sleep(1.5)  # the task has met the database down
            assert not _posted(score)
        # No sweep runs here (no beat): only the task asking again can post it.
        assert wait_for(lambda: _posted(score), 20), "score not posted after the outage:\n" + worker.output()
    assert gradebook(canvas).result(url, student.user_id)["resultScore"] == 6  # type: ignore[index]


def test_a_worker_whose_kept_database_connection_was_cut_posts_the_next_score(canvas, course, settings):
    """The worker keeps its database connection between tasks (lti_config/celery.py). A database restart resets it
    while the worker is idle; the next task meets the dead connection, drops it and asks again, and its score is
    posted without the sweep."""
    url = line_item_add(canvas, course, label="Quiz", resource_link_id="rl-1")
    people = [canvas.enrol(course, Person(f"s{n}", f"S {n}", f"s{n}@example.edu", [ROLE + "Learner"])) for n in (1, 2)]
    learners = [seat(canvas, LaunchSpec(p, course, resource_link_id="rl-1", lineitem_url=url)) for p in people]
    with _worker_behind_database_proxy(settings) as (database, worker):
        first = services.score_submit(
            user=learners[0].user, resource_link=learners[0].link, score_given=6, score_maximum=10
        )
        assert wait_for(lambda: _posted(first), 20), worker.output()
        with database.down():  # every open connection reset, as a restart does; the worker is idle
            time.sleep(0.3)
        second = services.score_submit(
            user=learners[1].user, resource_link=learners[1].link, score_given=7, score_maximum=10
        )
        assert wait_for(lambda: _posted(second), 20), "score not posted after the restart:\n" + worker.output()
        assert "the database is unavailable" in worker.output(100_000)  # it met the dead connection, not a new one
    book = gradebook(canvas)
    assert [book.result(url, f"s{n}")["resultScore"] for n in (1, 2)] == [6, 7]  # type: ignore[index]


def test_a_flood_of_failing_webhook_deliveries_does_not_hold_up_a_score(canvas, course, settings):
    """1,000 deliveries to a subscriber that never answers (each waits out its timeout) are queued before a
    burst of scores; every score is posted within 5 s of its submit while nearly all of them still wait."""
    url = line_item_add(canvas, course, label="Quiz", resource_link_id="rl-1")
    people = [
        canvas.enrol(course, Person(f"b{n}", f"B {n}", f"b{n}@example.edu", [ROLE + "Learner"])) for n in range(10)
    ]
    learners = [seat(canvas, LaunchSpec(p, course, resource_link_id="rl-1", lineitem_url=url)) for p in people]
    with socket.create_server(("127.0.0.1", 0), backlog=1024) as silent:  # accepts in the kernel, never answers
        subscription = Subscription.objects.create(
            name="SIS",
            url=f"http://127.0.0.1:{silent.getsockname()[1]}/hook",
            events=["*"],
            secret_encrypted=crypto.encrypt("whsec_test"),
        )
        events = DomainEvent.objects.bulk_create(
            DomainEvent(type="enrollment.added", subject_type="enrollment", subject_id=str(n)) for n in range(1000)
        )
        deliveries = Delivery.objects.bulk_create(Delivery(subscription=subscription, event=e) for e in events)
        env = {
            **FAST_RETRIES,
            "SECRET_KEY": settings.SECRET_KEY,
            "HTTP_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
            "WEBHOOK_TIMEOUT_SECONDS": "2",
        }
        with celery_worker(env=env) as worker:
            for delivery in deliveries:
                webhook_deliver.delay(delivery.pk)
            assert wait_for(lambda: "webhook_deliver" in worker.output(100_000), 20)
            settings.GRADING_PASSBACK_ENABLED = True
            scores = [
                services.score_submit(user=learner.user, resource_link=learner.link, score_given=n, score_maximum=10)
                for n, learner in enumerate(learners)
            ]

            assert wait_for(lambda: all(_posted(score) for score in scores), 30), "scores held up:\n" + worker.output()
            waiting = Delivery.objects.filter(state=DeliveryState.PENDING, attempts=0).count()

    delays = [(s.posted_at - s.created_at).total_seconds() for s in Score.objects.filter(pk__in=[s.pk for s in scores])]
    assert waiting > 900, "the deliveries were not queued ahead of the scores"
    assert max(delays) <= 5, f"score delays behind the webhook backlog: {sorted(delays)}"
    book = gradebook(canvas)
    for n, person in enumerate(people):
        assert book.result(url, person.user_id)["resultScore"] == n  # type: ignore[index]
