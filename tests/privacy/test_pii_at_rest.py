"""Names, emails and SIS ids are unreadable in the database, whichever way they arrived."""

from __future__ import annotations

from collections import Counter

from django.db import connection

from lms_tool.core.models import AuditEvent, DomainEvent
from lms_tool.lti.models import LtiUser
from lms_tool.roster import bulk
from lms_tool.roster.nrps import Member
from lms_tool.sandbox.platform import ROLE, LaunchSpec
from tests.api.conftest import context_make, registration_make
from tests.conftest import registration_of
from tests.lti.flow import launch

PII = [
    "Sam Student",
    "sam@example.edu",
    "sis-student-1",
    "Nora Nrps",
    "nora@example.edu",
    "Api Person",
    "api@example.edu",
]


def _raw_rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        return cursor.fetchall()


def _plain_text_hits(tables: list[str]) -> list[str]:
    hits = []
    for table in tables:
        for row in _raw_rows(table):
            text = " ".join(str(value) for value in row).lower()
            hits += [f"{table}: {p}" for p in PII if p.lower() in text]
    return hits


def test_no_pii_in_plain_text_from_launch_roster_and_api(platform, course, student, make_api):  # type: ignore[no-untyped-def]
    # 1. A real launch over HTTP (update_or_create with the id_token's name, email, LIS person_sourcedid).
    assert launch(platform, LaunchSpec(student, course)).status_code == 200
    registration = registration_of(platform)
    user = LtiUser.objects.get(registration=registration, sub="student-1")
    sis_id = "sis-student-1" if platform.family == "canvas" else ""  # the Moodle sandbox sends an empty LIS id
    assert (user.name, user.email, user.sis_id) == ("Sam Student", "sam@example.edu", sis_id)
    # 2. The roster's bulk upserts (insert, then a change of name).
    context = user.memberships.get().context
    for name in ("Nora N.", "Nora Nrps"):
        bulk.page_apply(
            context=context,
            link=None,
            page=[Member("nora", (ROLE + "Learner",), "Active", name, "nora@example.edu")],
            state=bulk.memberships_load(context),
            seen=set(),
            counts=Counter(),
        )
    assert LtiUser.objects.get(sub="nora").name == "Nora Nrps"
    # 3. The API's provisioning.
    api = make_api(["enrollments:write"])
    body = {"course": context.pk, "user": {"sub": "api-1", "name": "Api Person", "email": "api@example.edu"}}
    assert api.post("/api/v1/enrollments", body, format="json").status_code == 201

    tables = [LtiUser._meta.db_table, DomainEvent._meta.db_table, AuditEvent._meta.db_table]
    assert _plain_text_hits(tables) == []
    assert LtiUser.objects.get(sub="api-1").email == "api@example.edu"


def test_email_and_sis_id_are_found_by_their_blind_index(db):  # type: ignore[no-untyped-def]
    registration = registration_make()
    LtiUser.objects.create(registration=registration, sub="a", name="Ada", email="Ada@Example.edu", sis_id="S-1")
    LtiUser.objects.create(registration=registration, sub="b", name="Bob", email="bob@example.edu")
    assert [u.sub for u in LtiUser.objects.filter(email__blind="  ada@example.EDU ")] == ["a"]
    assert [u.sub for u in LtiUser.objects.filter(sis_id__blind="s-1")] == ["a"]
    assert not LtiUser.objects.filter(email__blind="nobody@example.edu").exists()


def test_the_same_value_encrypts_differently_each_time(db):  # type: ignore[no-untyped-def]
    registration = registration_make()
    for sub in ("a", "b"):
        LtiUser.objects.create(registration=registration, sub=sub, name="Same Name", email="same@example.edu")
    rows = _raw_rows(LtiUser._meta.db_table)
    names = {
        row[
            [
                c.name
                for c in connection.introspection.get_table_description(connection.cursor(), LtiUser._meta.db_table)
            ].index("name")
        ]
        for row in rows
    }
    assert len(names) == 2  # Fernet tokens are randomised: equal names do not look equal


def test_bulk_updates_keep_the_blind_index_in_step(db):  # type: ignore[no-untyped-def]
    registration = registration_make()
    user = LtiUser.objects.create(registration=registration, sub="a", email="old@example.edu")
    LtiUser.objects.filter(pk=user.pk).update(email="new@example.edu")
    assert LtiUser.objects.filter(email__blind="new@example.edu").exists()
    assert not LtiUser.objects.filter(email__blind="old@example.edu").exists()


def test_reencrypt_rewrites_pii_with_the_new_key(db, use_keys, new_key):  # type: ignore[no-untyped-def]
    from django.core.management import call_command

    old, new = new_key(), new_key()
    use_keys(old)
    registration = registration_make()
    context = context_make(registration, "c1")
    LtiUser.objects.create(registration=registration, sub="a", name="Ada", email="ada@example.edu", sis_id="S-1")
    use_keys(new, old)
    call_command("reencrypt", verbosity=0, stdout=None)
    use_keys(new)
    user = LtiUser.objects.get(sub="a")
    assert (user.name, user.email, user.sis_id) == ("Ada", "ada@example.edu", "S-1")
    assert LtiUser.objects.filter(email__blind="ada@example.edu").exists()
    assert context.pk


def test_the_admin_finds_people_by_exact_email(admin_client, db):  # type: ignore[no-untyped-def]
    registration = registration_make()
    LtiUser.objects.create(registration=registration, sub="a-sub", name="Ada", email="ada@example.edu")
    page = admin_client.get("/admin/lti/ltiuser/", {"q": "ada@example.edu"})
    assert page.status_code == 200 and b"a-sub" in page.content
