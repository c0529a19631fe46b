"""Indexes for incremental sync (``updated_since`` + keyset pages ordered by (updated_at, id)).

The tables belong to the lti app; the indexes serve only this API, so they live here as SQL that
leaves the lti models' state untouched.
"""

from django.db import migrations

INDEXES = [
    ("api_sync_membership_updated", "lti_membership"),
    ("api_sync_ltiuser_updated", "lti_ltiuser"),
    ("api_sync_context_updated", "lti_context"),
]


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial"), ("lti", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON {table} (updated_at, id)",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, table in INDEXES
    ]
