"""The database goes away between a batch's posts and their recording: the posts the platform took are
recorded once the database answers again, and no score is posted twice (docs/benchmarks.md, "Grade passback":
bench/faults.py counts the same around a real outage)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from lms_tool.grading import passback, services
from lms_tool.grading.models import Score
from lms_tool.sandbox.services.ags import gradebook, line_item_add

from .conftest import drain, learners_seated

pytestmark = pytest.mark.django_db(transaction=True)


def _scores_posts(platform) -> list[str]:  # type: ignore[no-untyped-def]
    return [path for method, path in platform.requests_seen if method == "POST" and path.endswith("/scores")]


def _scores_and_the_worker_session(canvas, course, count: int):  # type: ignore[no-untyped-def]
    """``count`` learners' scores for the column of ``rl-1``; the column's URL, the scores, and the PostgreSQL
    session of this thread, which posts them as a worker would."""
    url = line_item_add(canvas, course, label="Quiz 1", resource_link_id="rl-1")
    seats = learners_seated(canvas, course, url, count)
    scores = [
        services.score_submit(user=learner.user, resource_link=learner.link, score_given=n, score_maximum=10)
        for n, learner in enumerate(seats)
    ]
    connection.ensure_connection()
    return url, scores, connection.connection.info.backend_pid


@pytest.mark.parametrize("in_flight", [1, 3])
def test_a_batch_posted_while_the_database_went_away_is_recorded_once_it_is_back_and_never_posted_again(
    platform_server, canvas, course, settings, in_flight
):
    if connection.vendor != "postgresql":
        pytest.skip("ends the worker's PostgreSQL session from the server side (pg_terminate_backend)")
    settings.GRADING_POSTS_IN_FLIGHT = in_flight
    settings.GRADING_LEASE_SECONDS = 4
    url, scores, worker_backend = _scores_and_the_worker_session(canvas, course, 6)
    handle, lock, answered = platform_server.handle, threading.Lock(), [0]

    def scores_then_cut(environ, path):  # type: ignore[no-untyped-def]
        response = handle(environ, path)
        if path.endswith("/scores"):
            with lock:
                answered[0] += 1
                last = answered[0] == len(scores)
            if last:
                # The platform has taken every score of the batch; before the worker hears so, PostgreSQL ends its
                # session (a real closed connection: the next statement of the worker fails with OperationalError).
                from django.db import connection as own  # this server thread's own connection

                with own.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [worker_backend])
                own.close()
        return response

    platform_server.handle = scores_then_cut

    passback.score_post(score_id=scores[0].pk)

    assert len(_scores_posts(canvas)) == 6
    assert set(Score.objects.values_list("passback_state", flat=True)) == {"posted"}, "recorded after the cut"
    platform_server.handle = handle
    time.sleep(settings.GRADING_LEASE_SECONDS + 0.5)  # the lease is over: a score left claimed would be due again
    drain()
    assert len(_scores_posts(canvas)) == 6, "each score posted exactly once"
    assert sorted(gradebook(canvas).result(url, f"s-{n}")["resultScore"] for n in range(6)) == list(range(6))


def test_a_claim_whose_connection_was_lost_is_made_again_and_its_batch_posted_without_waiting_for_the_lease(
    platform_server, canvas, course, settings
):
    if connection.vendor != "postgresql":
        pytest.skip("ends the worker's PostgreSQL session from the server side (pg_terminate_backend)")
    settings.GRADING_LEASE_SECONDS = 60  # a batch left claimed would wait this long for another worker
    url, scores, worker_backend = _scores_and_the_worker_session(canvas, course, 4)
    cut: list[str] = []

    def end_session() -> None:
        from django.db import connection as own  # this thread's own connection

        with own.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [worker_backend])
        own.close()

    def cut_after_the_claim(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        result = execute(sql, params, many, context)
        if not cut and sql.startswith("UPDATE") and '"claim" = ' in sql:
            cut.append(sql)  # the claim is committed; PostgreSQL ends the session before the batch is read
            killer = threading.Thread(target=end_session)
            killer.start()
            killer.join()
        return result

    started = time.monotonic()
    with connection.execute_wrapper(cut_after_the_claim):
        outcome = passback.score_post(score_id=scores[0].pk)

    assert cut, "the session was ended after the claim"
    assert outcome.state == "posted"
    assert set(Score.objects.values_list("passback_state", flat=True)) == {"posted"}
    assert time.monotonic() - started < 20, "posted in this call, not after the lease"
    assert len(_scores_posts(canvas)) == 4, "each score posted once"
    assert sorted(gradebook(canvas).result(url, f"s-{n}")["resultScore"] for n in range(4)) == list(range(4))
