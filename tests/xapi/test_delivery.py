"""Delivery faults against the real LRS behind a proxy the test cuts: statements wait while it is down
and arrive once when it is back; a batch the LRS stored but whose answer was lost is not duplicated;
what keeps failing is dead-lettered and replayed; a statement the LRS refuses is found alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from lms_tool.core import http
from lms_tool.quizzes import services as quizzes
from lms_tool.quizzes.models import Question
from lms_tool.xapi import delivery, tasks
from lms_tool.xapi.models import Statement, StatementState
from lti_config.celery import app

from ..faults.proxy import REFUSE, FaultProxy
from ..quizzes.factories import make_course, make_quiz
from ..quizzes.test_attempts import right_answer
from .conftest import lrs_connect
from .ralph import PASSWORD, USER

pytestmark = pytest.mark.django_db


@pytest.fixture
def proxy(ralph) -> Iterator[FaultProxy]:  # type: ignore[no-untyped-def]
    p = FaultProxy("127.0.0.1", ralph.port).start()
    yield p
    p.stop()


def an_attempt(suffix: str, lrs_url: str, **endpoint: object):  # type: ignore[no-untyped-def]
    course = make_course(suffix=suffix)
    endpoint_row = lrs_connect(course.registration, lrs_url, **endpoint)  # type: ignore[arg-type]
    quiz = make_quiz(course, count=2, types=["true_false"])
    attempt = quizzes.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    questions = Question.objects.in_bulk(attempt.question_ids)
    quizzes.attempt_submit(attempt=attempt, responses={pk: right_answer(q) for pk, q in questions.items()})
    return endpoint_row


def ids(endpoint) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        str(i)
        for i in Statement.objects.filter(endpoint=endpoint).order_by("pk").values_list("statement_id", flat=True)
    ]


def make_due(endpoint) -> None:  # type: ignore[no-untyped-def]
    """The backoff has passed (the test does not sleep through it)."""
    Statement.objects.filter(endpoint=endpoint, state=StatementState.PENDING).update(next_attempt_at=timezone.now())


def test_statements_wait_while_the_lrs_is_down_and_arrive_once_when_it_is_back(ralph, proxy):
    endpoint = an_attempt("-down-1", proxy.url_for(ralph.url))
    proxy.cut(REFUSE)

    delay = delivery.endpoint_drain(endpoint_pk=endpoint.pk)

    rows = Statement.objects.filter(endpoint=endpoint)
    assert delay is not None and delay > 0
    assert {(r.state, r.attempts, r.last_error) for r in rows} == {(StatementState.PENDING, 1, http.UNREACHABLE)}
    assert ralph.statements(ids(endpoint)) == []

    proxy.restore()
    make_due(endpoint)
    assert delivery.endpoint_drain(endpoint_pk=endpoint.pk) is None

    assert {(r.state, r.attempts) for r in rows.all()} == {(StatementState.SENT, 2)}
    stored = ralph.statements(ids(endpoint))
    assert [s["id"] for s in stored] == ids(endpoint)  # each once, in order
    assert ralph.validate(stored) == {}


def test_a_batch_the_lrs_stored_whose_answer_was_lost_is_sent_again_without_a_duplicate(ralph):
    endpoint = an_attempt("-lost", ralph.url)
    rows = delivery.batch_claim(endpoint)
    response, error = delivery.batch_post(endpoint, rows)  # the LRS stores the batch...
    assert error == "" and response is not None
    # ...and the worker dies before it records that: its lease runs out and the rows are due again.
    Statement.objects.filter(pk__in=[r.pk for r in rows]).update(lease_until=timezone.now())

    assert delivery.endpoint_drain(endpoint_pk=endpoint.pk) is None

    assert set(Statement.objects.filter(endpoint=endpoint).values_list("state", flat=True)) == {StatementState.SENT}
    assert [s["id"] for s in ralph.statements(ids(endpoint))] == ids(endpoint)  # the same ids: still once each


def test_what_keeps_failing_is_dead_lettered_and_a_replay_delivers_it_once(ralph, proxy, settings):
    settings.XAPI = {**settings.XAPI, "MAX_ATTEMPTS": 2}
    endpoint = an_attempt("-down-3", proxy.url_for(ralph.url))
    with proxy.down(REFUSE):
        assert delivery.endpoint_drain(endpoint_pk=endpoint.pk) is not None
        make_due(endpoint)
        assert delivery.endpoint_drain(endpoint_pk=endpoint.pk) is None  # second failure: dead
    rows = Statement.objects.filter(endpoint=endpoint)
    assert {(r.state, r.attempts) for r in rows} == {(StatementState.DEAD, 2)}
    assert delivery.endpoint_drain(endpoint_pk=endpoint.pk) is None and ralph.statements(ids(endpoint)) == []

    call_command("xapi_replay", "--endpoint", str(endpoint.pk))
    assert {(r.state, r.attempts) for r in rows.all()} == {(StatementState.PENDING, 0)}
    assert delivery.endpoint_drain(endpoint_pk=endpoint.pk) is None

    assert {r.state for r in rows.all()} == {StatementState.SENT}
    assert [s["id"] for s in ralph.statements(ids(endpoint))] == ids(endpoint)


def test_a_statement_the_lrs_refuses_is_sent_alone_and_only_it_is_dead_lettered(ralph):
    endpoint = an_attempt("-refused", ralph.url)
    rows = list(Statement.objects.filter(endpoint=endpoint).order_by("pk"))
    bad = rows[1]
    bad.body = {**bad.body, "actor": {"objectType": "Agent"}}  # no identifier: not a statement an LRS may store
    bad.save()

    assert delivery.endpoint_drain(endpoint_pk=endpoint.pk) is None

    states = dict(Statement.objects.filter(endpoint=endpoint).values_list("pk", "state"))
    assert states.pop(bad.pk) == StatementState.DEAD
    assert set(states.values()) == {StatementState.SENT}
    bad.refresh_from_db()
    assert bad.last_status == 422 and bad.attempts == 1 and bad.alone  # Ralph: 422 for a body its models refuse
    good = [i for i in ids(endpoint) if i != str(bad.statement_id)]
    assert [s["id"] for s in ralph.statements(ids(endpoint))] == good


def test_a_batch_is_one_post_of_up_to_batch_size_statements(ralph):
    endpoint = an_attempt("-batch", ralph.url, batch_size=2)
    total = len(ids(endpoint))

    claimed = delivery.batch_claim(endpoint)
    again = delivery.batch_claim(endpoint)  # another worker: not the leased rows

    assert len(claimed) == 2 and {r.pk for r in claimed}.isdisjoint({r.pk for r in again})
    response, error = delivery.batch_post(endpoint, claimed)
    assert error == "" and response is not None and response.json() == [str(r.statement_id) for r in claimed]
    delivery.batch_settle(claimed, response, error)
    delivery.batch_settle(again, *delivery.batch_post(endpoint, again))
    assert delivery.endpoint_drain(endpoint_pk=endpoint.pk) is None
    assert Statement.objects.filter(endpoint=endpoint, state=StatementState.SENT).count() == total


def test_the_sweep_sends_what_a_lost_task_left_and_forgets_what_the_lrs_took_long_ago(ralph, settings):
    settings.XAPI = {**settings.XAPI, "KEEP_SENT_DAYS": 14}
    old = an_attempt("-sweep-1", ralph.url)
    assert delivery.endpoint_drain(endpoint_pk=old.pk) is None
    Statement.objects.filter(endpoint=old).update(sent_at=timezone.now() - timedelta(days=15))
    waiting = an_attempt("-sweep-2", ralph.url)  # recorded, but its send task was lost
    Statement.objects.filter(endpoint=waiting).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    before, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        tasks.xapi_sweep()
    finally:
        app.conf.task_always_eager = before

    assert not Statement.objects.filter(endpoint=old).exists()
    assert set(Statement.objects.filter(endpoint=waiting).values_list("state", flat=True)) == {StatementState.SENT}
    assert [s["id"] for s in ralph.statements(ids(waiting))] == ids(waiting)


def test_an_id_the_lrs_already_holds_is_counted_as_sent_without_holding_back_the_rest(ralph):
    endpoint = an_attempt("-conflict", ralph.url)
    rows = list(Statement.objects.filter(endpoint=endpoint).order_by("pk"))
    known = {**rows[0].body, "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"}}  # same id, other content
    posted = requests.post(
        ralph.url + "/statements",
        json=[known],
        auth=(USER, PASSWORD),
        headers={"X-Experience-API-Version": "1.0.3"},
        timeout=10,
    )
    assert posted.status_code == 200

    assert delivery.endpoint_drain(endpoint_pk=endpoint.pk) is None

    assert set(Statement.objects.filter(endpoint=endpoint).values_list("state", flat=True)) == {StatementState.SENT}
    first = Statement.objects.get(pk=rows[0].pk)
    assert first.last_status == 409 and first.alone and "409" in first.last_error
    stored = ralph.statements(ids(endpoint))
    assert [s["id"] for s in stored] == ids(endpoint)
    assert stored[0]["verb"]["id"].endswith("/experienced")  # the LRS never changes what it holds
