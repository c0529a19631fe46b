"""The admin: an LRS per registration with write-only credentials encrypted at rest, a private address
refused in words, and dead letters replayed from the statement list."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from lms_tool.xapi import delivery
from lms_tool.xapi.models import LrsEndpoint, Statement, StatementState

from ..quizzes.factories import make_course
from .ralph import PASSWORD, USER
from .test_delivery import an_attempt, ids

pytestmark = pytest.mark.django_db
ADD = "admin:xapi_lrsendpoint_add"


def form(registration_pk: int, url: str, **extra: object) -> dict[str, object]:
    return {
        "registration": registration_pk,
        "url": url,
        "key": USER,
        "secret": PASSWORD,
        "actor_format": "account",
        "mastery_score": "0.6",
        "batch_size": "25",
        "is_active": "on",
        **extra,
    }


def test_an_lrs_is_set_per_registration_with_its_credentials_encrypted_at_rest(admin_client, ralph):
    course = make_course(suffix="-admin-1")

    added = admin_client.post(reverse(ADD), form(course.registration.pk, ralph.url))

    assert added.status_code == 302, added.content.decode()[:2000]
    endpoint = LrsEndpoint.objects.get(registration=course.registration)
    assert endpoint.credentials() == (USER, PASSWORD) and endpoint.mastery_score == 0.6
    with connection.cursor() as cursor:
        cursor.execute("SELECT key_encrypted, secret_encrypted FROM xapi_lrsendpoint WHERE id = %s", [endpoint.pk])
        stored = " ".join(cursor.fetchone())
    assert USER not in stored and PASSWORD not in stored
    page = admin_client.get(reverse("admin:xapi_lrsendpoint_change", args=[endpoint.pk])).content.decode()
    assert PASSWORD not in page  # write-only

    kept = admin_client.post(
        reverse("admin:xapi_lrsendpoint_change", args=[endpoint.pk]),
        form(course.registration.pk, ralph.url, key="", secret="", batch_size="10"),
    )
    assert kept.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.credentials() == (USER, PASSWORD) and endpoint.batch_size == 10


def test_a_private_address_or_missing_credentials_are_refused_in_words(admin_client, settings):
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = []
    course = make_course(suffix="-admin-2")

    private = admin_client.post(reverse(ADD), form(course.registration.pk, "http://127.0.0.1:9/xAPI"))
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    anonymous = admin_client.post(reverse(ADD), form(course.registration.pk, "http://127.0.0.1:9/xAPI", secret=""))
    bad_score = admin_client.post(
        reverse(ADD), form(course.registration.pk, "http://127.0.0.1:9/xAPI", mastery_score="80")
    )

    assert private.status_code == 200 and "use the LRS&#x27;s public http(s) URL" in private.content.decode()
    assert "Give the key and secret the LRS issued" in anonymous.content.decode()
    assert "between 0 and 1" in bad_score.content.decode()
    assert not LrsEndpoint.objects.exists()


def test_dead_letters_are_replayed_from_the_statement_list(admin_client, ralph):
    endpoint = an_attempt("-admin-3", ralph.url)
    Statement.objects.filter(endpoint=endpoint).update(state=StatementState.DEAD, attempts=10, last_error="HTTP 503")
    dead = list(Statement.objects.filter(endpoint=endpoint).values_list("pk", flat=True))

    listing = admin_client.get(reverse("admin:xapi_statement_changelist"), {"state": "dead"})
    answer = admin_client.post(
        reverse("admin:xapi_statement_changelist"), {"action": "replay", "_selected_action": dead}, follow=True
    )

    assert (
        listing.status_code == 200 and str(Statement.objects.get(pk=dead[0]).statement_id) in listing.content.decode()
    )
    assert f"Queued {len(dead)} statement(s) again ({len(dead)} were dead-lettered" in answer.content.decode()
    assert delivery.endpoint_drain(endpoint_pk=endpoint.pk) is None
    assert set(Statement.objects.filter(endpoint=endpoint).values_list("state", flat=True)) == {StatementState.SENT}
    assert [s["id"] for s in ralph.statements(ids(endpoint))] == ids(endpoint)
