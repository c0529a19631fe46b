"""The audit log is append-only in the database; only `manage.py audit_purge` removes expired lines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from io import StringIO
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.core.management import call_command
from django.db import DatabaseError, connection, models, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lms_tool.core import audit_guard
from lms_tool.core.models import AuditEvent
from lms_tool.core.services import audit_record
from lms_tool.lti import keys
from lms_tool.sandbox.platform import LaunchSpec

from ..lti.flow import launch

pytestmark = pytest.mark.django_db
TABLE = AuditEvent._meta.db_table


@pytest.fixture(autouse=True)
def _production_guard() -> Iterator[None]:
    """Drop the test mode's allowance (test teardown empties every table): the guard as production has it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, '', true)", [audit_guard.SETTING])
        yield
        return
    connection.ensure_connection()
    connection.audit_purge_before = ""  # type: ignore[attr-defined]
    yield
    connection.audit_purge_before = None  # type: ignore[attr-defined]


def line_at(when: datetime, action: str) -> None:
    """An audit line written ``when`` (created_at is set on insert, and cannot be changed afterwards)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (created_at, actor_type, actor_id, action, object_type, object_id, source,"
            " address, user_agent) VALUES (%s, 'system', '', %s, 'test', '1', '', '', '')",
            [when, action],
        )


def refused(sql: str) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


def test_the_orm_refuses_to_update_or_delete_audit_lines() -> None:
    event = audit_record(actor_type="system", action="thing.done", object_type="thing", object_id=1)
    with pytest.raises(ValueError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(action="thing.undone")
    with pytest.raises(ValueError, match="append-only"):
        AuditEvent.objects.all().delete()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["thing.done"]


def test_the_database_refuses_to_rewrite_or_delete_audit_lines() -> None:
    event = audit_record(actor_type="system", action="thing.done", object_type="thing", object_id=1)
    # Past the ORM's own refusal: the statements Django would send, and hand-written SQL.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        models.QuerySet.update(AuditEvent.objects.filter(pk=event.pk), action="thing.undone")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        models.QuerySet._raw_delete(AuditEvent.objects.all(), connection.alias)
    refused(f"UPDATE {TABLE} SET after = NULL")
    refused(f"DELETE FROM {TABLE}")
    if connection.vendor == "postgresql":
        refused(f"TRUNCATE {TABLE}")
    assert list(AuditEvent.objects.values_list("action", "object_id")) == [("thing.done", "1")]


def test_audit_purge_deletes_only_lines_older_than_the_retention_and_says_so() -> None:
    now = timezone.now()
    line_at(now - timedelta(days=31), "old.enough")
    line_at(now - timedelta(days=29), "still.kept")
    audit_record(actor_type="system", action="today", object_type="thing", object_id=1)

    with override_settings(AUDIT_RETENTION_DAYS=30):
        out = StringIO()
        call_command("audit_purge", "--dry-run", stdout=out)
        assert "1 audit lines older than 30 days" in out.getvalue()
        assert AuditEvent.objects.count() == 3

        call_command("audit_purge", stdout=StringIO())

    assert sorted(AuditEvent.objects.values_list("action", flat=True)) == ["audit.purged", "still.kept", "today"]
    purged = AuditEvent.objects.get(action="audit.purged")
    assert purged.actor_type == "system"
    assert purged.after["deleted"] == 1
    assert datetime.fromisoformat(purged.after["before"]) < now - timedelta(days=29)
    # The window closed with the purge: the same deletion by hand is refused again.
    refused(f"DELETE FROM {TABLE} WHERE action = 'still.kept'")


def test_the_purge_window_lets_no_younger_line_go() -> None:
    now = timezone.now()
    line_at(now - timedelta(days=31), "old.enough")
    line_at(now - timedelta(days=1), "young")
    with transaction.atomic(), audit_guard.purge_window(connection, before=now - timedelta(days=30)):
        refused(f"DELETE FROM {TABLE}")
        refused(f"UPDATE {TABLE} SET action = 'changed'")
    assert sorted(AuditEvent.objects.values_list("action", flat=True)) == ["old.enough", "young"]


def test_a_page_action_records_the_network_and_browser_it_came_from(canvas, course, instructor, tool_url):
    response = launch(canvas, LaunchSpec(instructor, course))
    lid = parse_qs(urlparse(response.url).query)["launch"][0]

    answer = requests.post(
        f"{tool_url}/roster/sync/", data={"launch": lid}, headers={"User-Agent": "Firefox/140 (audit test)"}, timeout=30
    )

    assert answer.status_code == 200
    line = AuditEvent.objects.get(action="roster.sync_requested")
    assert (line.actor_type, line.actor_id) == ("user", "instructor-1")
    assert (line.address, line.user_agent) == ("127.0.0.0/24", "Firefox/140 (audit test)")  # the network, not the host


def test_an_admin_action_records_the_network_and_browser_it_came_from(admin_client):
    keys.key_create()

    page = admin_client.post(
        "/admin/lti/toolkey/",
        {"action": "rotate", "_selected_action": [str(keys.key_create().pk)]},
        REMOTE_ADDR="2001:db8:85a3:8d3:1319:8a2e:370:7348",
        HTTP_USER_AGENT="Ops browser",
        follow=True,
    )

    assert page.status_code == 200
    line = AuditEvent.objects.get(action="tool_key.rotate")
    assert (line.actor_type, line.actor_id) == ("admin", "admin")
    assert (line.address, line.user_agent) == ("2001:db8:85a3::/48", "Ops browser")


def test_a_line_written_outside_a_request_has_no_origin_and_a_given_origin_wins(rf):
    assert AuditEvent.objects.count() == 0
    audit_record(actor_type="system", action="nightly", object_type="thing", object_id=1)
    from lms_tool.core.services import audit_origin

    with audit_origin(rf.get("/", REMOTE_ADDR="198.51.100.23", HTTP_USER_AGENT="x" * 300)):
        audit_record(actor_type="user", action="page", object_type="thing", object_id=1)
        audit_record(actor_type="user", action="given", object_type="thing", object_id=1, address="", user_agent="cli")
    origins = dict(AuditEvent.objects.values_list("action", "address"))
    assert origins == {"nightly": "", "page": "198.51.100.0/24", "given": ""}
    assert AuditEvent.objects.get(action="page").user_agent == "x" * 255


def test_no_purge_window_reaches_the_last_day() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the one-day floor is PostgreSQL's trigger; SQLite (trials) trusts the purge's cut-off")
    line_at(timezone.now() - timedelta(hours=2), "recent")
    with transaction.atomic(), audit_guard.purge_window(connection, before=timezone.now() + timedelta(days=1)):
        refused(f"DELETE FROM {TABLE}")
    assert AuditEvent.objects.filter(action="recent").exists()


def test_lines_recorded_together_go_in_as_one_statement_at_the_end_of_the_block_and_none_if_it_fails(rf):
    """A submit records its own line and its score's: one insert, in the submit's transaction."""
    from lms_tool.core.services import audit_origin, audit_together

    with (
        audit_origin(rf.get("/", REMOTE_ADDR="198.51.100.23", HTTP_USER_AGENT="Exam browser")),
        transaction.atomic(),
        CaptureQueriesContext(connection) as queries,
    ):
        with audit_together():
            first = audit_record(actor_type="system", action="score.submitted", object_type="score", object_id=7)
            audit_record(actor_type="user", actor_id="3", action="quiz.attempt.submit", object_type="a", object_id=9)
            assert first.pk is None and AuditEvent.objects.count() == 0  # not written yet
            written_inside = len(queries.captured_queries)
        inserts = [q["sql"] for q in queries.captured_queries[written_inside:] if q["sql"].startswith("INSERT")]
    assert written_inside == 1 and len(inserts) == 1, queries.captured_queries  # the count() above; then one insert
    lines = list(AuditEvent.objects.order_by("id").values_list("action", "object_id", "address", "user_agent"))
    assert lines == [
        ("score.submitted", "7", "198.51.100.0/24", "Exam browser"),
        ("quiz.attempt.submit", "9", "198.51.100.0/24", "Exam browser"),
    ]

    with pytest.raises(RuntimeError), transaction.atomic(), audit_together():
        audit_record(actor_type="system", action="never", object_type="thing", object_id=1)
        raise RuntimeError("the change being recorded failed")
    assert not AuditEvent.objects.filter(action="never").exists()
