"""PostgreSQL prepares the statements a connection sends again and again, unless an admin behind a pooler turns it
off with DB_PREPARED_STATEMENTS=false (docs/production.md, "What the database connections hold")."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.db import connection

from lms_tool.lti.models import Registration

from .test_settings_startup import run

pytestmark = pytest.mark.django_db

PROBE = """
import json
import django

django.setup()
from django.db import connection

with connection.cursor() as cursor:
    for n in range(10):
        cursor.execute("SELECT %s::int + 1 AS probe", [n])
    cursor.execute("SELECT statement FROM pg_prepared_statements")
    print(json.dumps([row[0] for row in cursor.fetchall()]))
"""


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's (this run uses SQLite)")


def test_a_query_the_connection_sends_a_sixth_time_runs_prepared() -> None:
    _postgresql_only()
    issuer = "https://prepared.example.edu"

    def ask() -> bool:
        return Registration.objects.filter(issuer=issuer).exists()

    for _ in range(5):
        assert not ask()
    table = Registration._meta.db_table
    assert not [text for text in _prepared() if table in text]  # five times: sent as it is, parsed each time
    assert not ask()
    prepared = [text for text in _prepared() if table in text]
    assert len(prepared) == 1
    assert "$1" in prepared[0] and issuer not in prepared[0]  # the value is bound by the server, not in the text
    Registration.objects.create(
        issuer=issuer,
        client_id="client-1",
        auth_login_url=f"{issuer}/auth",
        auth_token_url=f"{issuer}/token",
        key_set_url=f"{issuer}/jwks",
    )
    assert ask()  # the prepared statement answers with what is there now


@pytest.mark.parametrize(("setting", "prepared"), [("false", False), ("true", True)])
def test_db_prepared_statements_false_leaves_every_statement_unprepared(
    tmp_path: Path, setting: str, prepared: bool
) -> None:
    _postgresql_only()
    done = run(
        ["-c", PROBE],
        tmp_path,
        LMS_TOOL_MODE="test",
        DJANGO_SETTINGS_MODULE="lti_config.settings",
        DATABASE_URL=os.environ["DATABASE_URL"],
        DB_PREPARED_STATEMENTS=setting,
    )
    assert done.returncode == 0, done.stderr
    statements = json.loads(done.stdout.strip().splitlines()[-1])
    assert any("probe" in text for text in statements) is prepared
