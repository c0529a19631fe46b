"""Webhook signing secrets are shown once, in the creation answer, and kept nowhere in the clear."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection

from lms_tool.api.models import IdempotencyRecord
from lms_tool.webhooks.models import Subscription

pytestmark = pytest.mark.django_db

SCRUB = importlib.import_module("lms_tool.api.migrations.0003_scrub_webhook_secrets_from_idempotency_records")


def _rows_holding(text: str) -> list[tuple[str, str]]:
    """(table, row) of every row of every table whose text holds ``text``: a raw scan, past any model."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            found += [(table, str(row)) for row in cursor.fetchall() if text in str(row)]
    return found


def test_webhook_secret_is_not_kept_in_idempotency_records(make_api, settings):  # type: ignore[no-untyped-def]
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    api = make_api(["webhooks:read", "webhooks:write"])
    body = {"name": "SIS", "url": "http://127.0.0.1:9/hook", "events": ["enrollment.*"]}

    first = api.post("/api/v1/webhooks/subscriptions", body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert first.status_code == 201
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    assert _rows_holding("whsec_") == [] and _rows_holding(secret.removeprefix("whsec_")) == []
    assert IdempotencyRecord.objects.count() == 1  # the answer is stored, without the secret

    again = api.post("/api/v1/webhooks/subscriptions", body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and again.json()["secret"] is None
    assert "shown only in the first answer" in again.json()["secret_note"]
    assert Subscription.objects.count() == 1

    deleted = api.delete(f"/api/v1/webhooks/subscriptions/{first.json()['id']}", HTTP_IDEMPOTENCY_KEY="delete-1")
    assert deleted.status_code == 200
    assert _rows_holding("whsec_") == []


def test_the_migration_scrubs_secrets_stored_before(make_api):  # type: ignore[no-untyped-def]
    client = make_api(["webhooks:write"]).api_client
    old = {"id": 7, "name": "SIS", "secret": "whsec_c2VjcmV0", "nested": [{"also": "whsec_b3RoZXI="}]}
    IdempotencyRecord.objects.create(client=client, key="old", fingerprint="f", status_code=201, response_body=old)
    IdempotencyRecord.objects.create(client=client, key="plain", fingerprint="g", status_code=200, response_body=[1])
    IdempotencyRecord.objects.create(client=client, key="empty", fingerprint="h", status_code=0, response_body=None)

    SCRUB.scrub(apps, None)

    assert _rows_holding("whsec_") == []
    scrubbed = IdempotencyRecord.objects.get(key="old").response_body
    assert scrubbed["secret"] is None and scrubbed["nested"] == [{"also": None}] and scrubbed["name"] == "SIS"
    assert "shown only in the first answer" in scrubbed["secret_note"]
    assert IdempotencyRecord.objects.get(key="plain").response_body == [1]
