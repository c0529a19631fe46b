"""The database's side of the append-only audit log (core migration 0004_audit_append_only).

PostgreSQL: a trigger refuses UPDATE, DELETE and TRUNCATE on ``core_auditevent``. The one way through is
the purge: inside its transaction ``manage.py audit_purge`` sets ``lms_tool.audit_purge`` (``SET LOCAL``,
so it ends with the transaction) to the retention cut-off, and the trigger then lets DELETE through for rows
older than that cut-off, and never a line of the last day. ``test`` (set on the connections by the settings in
LMS_TOOL_MODE=test) lets test teardown empty the table, in a database named ``test_...`` only.

Whoever can run SQL as the tool's database role can open the same window: the trigger keeps the application's
own code paths and mistakes from rewriting history; a role that does not own the table (docs/production.md)
keeps the trigger itself in place.

SQLite (trials, ``make run``): triggers refuse UPDATE always and DELETE unless the row is older than what
``lms_tool_audit_purge_before()`` returns, a function this module gives each connection; another SQLite
client has no such function, so its deletes fail too. Django rebuilds a SQLite table to alter it, which
drops its triggers: a later migration that alters AuditEvent must call ``install`` again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.dispatch import receiver

SETTING = "lms_tool.audit_purge"
SQLITE_FUNCTION = "lms_tool_audit_purge_before"

POSTGRES_INSTALL = [
    r"""
    CREATE OR REPLACE FUNCTION core_auditevent_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        purge text := coalesce(current_setting('lms_tool.audit_purge', true), '');
    BEGIN
        IF purge = 'test' THEN
            IF TG_OP IN ('DELETE', 'TRUNCATE') AND current_database() LIKE 'test\_%' THEN
                RETURN OLD;  -- only Django's test databases (test_<name>) may be emptied
            END IF;
        ELSIF TG_OP = 'DELETE' AND purge <> '' THEN
            -- Never the last day's lines, whatever cut-off the session claims.
            IF OLD.created_at < least(purge::timestamptz, now() - interval '1 day') THEN
                RETURN OLD;
            END IF;
        END IF;
        RAISE EXCEPTION 'the audit log is append-only: % on core_auditevent refused', TG_OP
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'manage.py audit_purge deletes lines older than AUDIT_RETENTION_DAYS';
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent",
    """CREATE TRIGGER core_auditevent_append_only BEFORE UPDATE OR DELETE ON core_auditevent
       FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only()""",
    "DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent",
    """CREATE TRIGGER core_auditevent_no_truncate BEFORE TRUNCATE ON core_auditevent
       FOR EACH STATEMENT EXECUTE FUNCTION core_auditevent_append_only()""",
]
POSTGRES_UNINSTALL = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent",
    "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent",
    "DROP FUNCTION IF EXISTS core_auditevent_append_only()",
]
SQLITE_INSTALL = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_update",
    """CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE ON core_auditevent
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE on core_auditevent refused'); END""",
    "DROP TRIGGER IF EXISTS core_auditevent_no_delete",
    f"""CREATE TRIGGER core_auditevent_no_delete BEFORE DELETE ON core_auditevent
       WHEN coalesce(old.created_at < {SQLITE_FUNCTION}(), 0) = 0
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE on core_auditevent refused'); END""",
]
SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_delete",
    "DROP TRIGGER IF EXISTS core_auditevent_no_update",
]


def install(schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    for statement in POSTGRES_INSTALL if vendor == "postgresql" else SQLITE_INSTALL if vendor == "sqlite" else []:
        schema_editor.execute(statement, params=None)


def uninstall(schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    for statement in POSTGRES_UNINSTALL if vendor == "postgresql" else SQLITE_UNINSTALL if vendor == "sqlite" else []:
        schema_editor.execute(statement, params=None)


@receiver(connection_created)
def _sqlite_function(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor != "sqlite":
        return
    # Test teardown empties every table; anywhere else only a purge's cut-off lets old lines go.
    everything = "9999" if settings.LMS_TOOL_MODE == "test" else ""

    def before() -> str:
        value = getattr(connection, "audit_purge_before", None)
        return everything if value is None else value

    connection.connection.create_function(SQLITE_FUNCTION, 0, before)


@contextlib.contextmanager
def purge_window(connection: BaseDatabaseWrapper, *, before: datetime) -> Iterator[None]:
    """Inside the caller's transaction, let this connection delete audit lines older than ``before``."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, true)", [SETTING, before.isoformat()])  # SET LOCAL
        yield
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, '', true)", [SETTING])
        return
    previous = getattr(connection, "audit_purge_before", None)
    connection.audit_purge_before = connection.ops.adapt_datetimefield_value(before)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        connection.audit_purge_before = previous  # type: ignore[attr-defined]
