"""With a real Celery worker (PostgreSQL + Redis): statements recorded while the LRS is down wait in the
outbox, the worker retries them with backoff, and when the LRS is back each arrives once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lms_tool.xapi.models import Statement, StatementState

from ..celery_worker import Worker, celery_worker, needs_worker_services, wait_for
from ..faults.proxy import REFUSE, FaultProxy
from .test_delivery import an_attempt, ids


@pytest.fixture
def worker(transactional_db: None) -> Iterator[Worker]:
    env = {
        "XAPI_ACTIVITY_BASE_URL": "https://tool.example.edu",
        "XAPI_RETRY_BASE_SECONDS": "0.3",
        "XAPI_RETRY_CAP_SECONDS": "1",
        "XAPI_MAX_ATTEMPTS": "50",
        "XAPI_SEND_DELAY_SECONDS": "0.2",
    }
    with celery_worker(env=env, pool="threads", concurrency=2, queues=("webhooks",)) as running:
        yield running


@needs_worker_services
@pytest.mark.django_db(transaction=True)
def test_a_worker_holds_statements_while_the_lrs_is_down_and_delivers_each_once_after(worker, ralph):
    proxy = FaultProxy("127.0.0.1", ralph.port).start()
    try:
        proxy.cut(REFUSE)
        endpoint = an_attempt("-worker", proxy.url_for(ralph.url))  # commits: the send task is queued
        rows = Statement.objects.filter(endpoint=endpoint)
        assert wait_for(lambda: min(rows.values_list("attempts", flat=True)) >= 2, 30), worker.output()
        assert set(rows.values_list("state", flat=True)) == {StatementState.PENDING}
        assert ralph.statements(ids(endpoint)) == []

        proxy.restore()

        assert wait_for(lambda: not rows.exclude(state=StatementState.SENT).exists(), 30), worker.output()
        assert [s["id"] for s in ralph.statements(ids(endpoint))] == ids(endpoint)
    finally:
        proxy.stop()
