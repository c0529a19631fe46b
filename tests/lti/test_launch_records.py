"""What a launch records (person, course, link, membership) goes in without a savepoint: a first record is one
insert, and a row another launch made meanwhile is found and brought up to date, never made twice."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from lms_tool.lti import services
from lms_tool.lti.models import LtiUser, Registration

from ..locks import a_session_waits_for_a_lock


def _registration() -> Registration:
    return Registration.objects.create(issuer="https://canvas.instructure.com", client_id="10000000000001")


@pytest.mark.django_db
def test_a_first_record_is_one_insert_with_every_value_and_no_savepoint():
    registration = _registration()

    with CaptureQueriesContext(connection) as queries:
        person, created = services._upserted(
            LtiUser,
            lookup={"registration": registration, "sub": "s-1"},
            values={"name": "Ada Lovelace", "email": "ada@example.edu"},
            surely_new=True,
        )

    assert created and person.pk is not None and not person._state.adding
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    stored = LtiUser.objects.get(pk=person.pk)
    assert (stored.registration_id, stored.sub, stored.name, stored.email) == (
        registration.pk,
        "s-1",
        "Ada Lovelace",
        "ada@example.edu",
    )
    assert stored.created_at is not None and stored.updated_at is not None


@pytest.mark.django_db
def test_a_record_another_launch_made_first_is_found_and_updated_not_made_twice():
    registration = _registration()
    there = LtiUser.objects.create(registration=registration, sub="s-1", name="Ada")

    with CaptureQueriesContext(connection) as queries:
        person, created = services._upserted(
            LtiUser,
            lookup={"registration": registration, "sub": "s-1"},
            values={"name": "Ada Lovelace", "email": ""},
            surely_new=True,  # as a launch that believed the person new
        )

    assert not created and person.pk == there.pk
    assert not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"]]
    assert LtiUser.objects.filter(registration=registration, sub="s-1").count() == 1
    assert LtiUser.objects.get(pk=there.pk).name == "Ada Lovelace"


@pytest.mark.django_db(transaction=True)
def test_two_first_launches_of_one_person_at_once_make_one_row():
    if connection.vendor != "postgresql":
        pytest.skip("row locks: SQLite lets one writer in at a time by itself")
    registration = _registration()
    outcome: list[tuple[int, bool]] = []

    def second_launch() -> None:
        try:
            with transaction.atomic():
                person, created = services._upserted(
                    LtiUser,
                    lookup={"registration": registration, "sub": "s-1"},
                    values={"name": "Ada Lovelace", "email": ""},
                    surely_new=True,
                )
                outcome.append((person.pk, created))
        finally:
            connections.close_all()

    other = threading.Thread(target=second_launch)
    with transaction.atomic():  # the first launch has inserted the person and not committed yet
        first = LtiUser.objects.create(registration=registration, sub="s-1", name="Ada")
        other.start()
        assert a_session_waits_for_a_lock(), "the second launch's insert waits for the first's"
    other.join(timeout=30)

    assert outcome == [(first.pk, False)]
    assert LtiUser.objects.filter(registration=registration, sub="s-1").count() == 1
    assert LtiUser.objects.get(pk=first.pk).name == "Ada Lovelace"
