"""PostgreSQL row locks seen from the test: whether another session of the test database waits for one."""

from __future__ import annotations

import time

from django.db import connection


def a_session_waits_for_a_lock(seconds: float = 20.0) -> bool:
    """True as soon as a session of this database waits for a lock (within ``seconds``), else False."""
    until = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < until:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # pg_stat_activity is read once per transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False
