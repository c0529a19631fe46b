"""lms_tool/core/lean.py writes its own SQL from Django's model metadata: table and column names, ``%s``
parameters, the fields' value preparation and database converters, ``Model.from_db``. These tests run
the same lookups through lean and through the ORM on real rows and fail if a Django upgrade (or a new
database backend) makes them differ, before a launch reads a wrong row or a half-converted value.

They run on whatever database the suite uses (SQLite by default, PostgreSQL with DATABASE_URL).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext

from lms_tool.core import lean
from lms_tool.core.models import AuditEvent, DomainEvent
from lms_tool.grading.models import AgsEndpoint, LineItem
from lms_tool.lti.models import Context, Deployment, LtiUser, Membership, Registration, ResourceLink
from lms_tool.roster.models import RosterSync

ISSUER = "https://canvas.instructure.com"
EVENT_ID = uuid.UUID("0f0e0d0c-0b0a-4988-8776-655443322110")


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    """Rows with every kind of field lean reads: foreign keys, JSON, datetimes, NULLs, floats, UUIDs, PII."""
    school_a = Registration.objects.create(issuer=ISSUER, client_id="10000000000001", scopes=["a", "b"])
    school_b = Registration.objects.create(issuer=ISSUER, client_id="10000000000002", frame_origins=["https://x"])
    retired = Registration.objects.create(issuer=ISSUER, client_id="10000000000003", is_active=False)
    Registration.objects.create(issuer="https://moodle.example.edu", client_id="10000000000001")
    deployment = Deployment.objects.create(registration=school_a, deployment_id="42:abc")
    Deployment.objects.create(registration=school_b, deployment_id="42:abc")
    context = Context.objects.create(registration=school_a, deployment=deployment, context_id="bio", types=["C"])
    link = ResourceLink.objects.create(context=context, resource_link_id="rl-1", custom={"quiz": "7"})
    person = LtiUser.objects.create(registration=school_a, sub="s-1", name="Ada Lovelace", email="ada@example.edu")
    active = Membership.objects.create(
        context=context, user=person, roles=["Learner"], last_launch_at=datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
    )
    dropped_user = LtiUser.objects.create(registration=school_a, sub="s-2")
    dropped = Membership.objects.create(
        context=context, user=dropped_user, is_active=False, revoked_at=datetime(2025, 3, 2, tzinfo=UTC)
    )
    RosterSync.objects.create(context=context)
    RosterSync.objects.create(context=context, resource_link=link)
    AgsEndpoint.objects.create(context=context, lineitems_url="https://p/lineitems", scopes=["score"])
    LineItem.objects.create(resource_link=link, label="Quiz", score_maximum=7.5)
    DomainEvent.objects.create(event_id=EVENT_ID, type="score.posted", subject_type="score", subject_id="1")
    return {
        "school_a": school_a,
        "school_b": school_b,
        "retired": retired,
        "deployment": deployment,
        "context": context,
        "link": link,
        "person": person,
        "active": active,
        "dropped": dropped,
    }


# (name, model, the lookup as lean takes it, limit) over the world; each is a lookup the tool makes.
Lookup = Callable[[dict[str, Any]], tuple[type[Model], dict[str, Any], int]]
LOOKUPS: dict[str, Lookup] = {
    "registration by issuer and client": lambda w: (
        Registration,
        {"issuer": ISSUER, "client_id": "10000000000002", "is_active": True},
        1,
    ),
    "registrations of one issuer, in pk order": lambda w: (Registration, {"issuer": ISSUER, "is_active": True}, 2),
    "an inactive registration": lambda w: (Registration, {"issuer": ISSUER, "is_active": False}, 2),
    "no such registration": lambda w: (Registration, {"issuer": "https://nowhere", "is_active": True}, 2),
    "deployment by a registration instance": lambda w: (
        Deployment,
        {"registration": w["school_a"], "deployment_id": "42:abc"},
        1,
    ),
    "deployment by a registration pk": lambda w: (
        Deployment,
        {"registration": w["school_b"].pk, "deployment_id": "42:abc"},
        1,
    ),
    "membership with JSON and datetimes": lambda w: (Membership, {"id": w["active"].pk}, 1),
    "a revoked membership": lambda w: (Membership, {"id": w["dropped"].pk, "is_active": False}, 1),
    "an active membership asked as inactive": lambda w: (Membership, {"id": w["active"].pk, "is_active": False}, 1),
    "a person's encrypted PII": lambda w: (LtiUser, {"registration": w["school_a"].pk, "sub": "s-1"}, 1),
    "a course's roster sync (resource link IS NULL)": lambda w: (
        RosterSync,
        {"context": w["context"].pk, "resource_link": None},
        2,
    ),
    "AGS endpoint of a course": lambda w: (AgsEndpoint, {"context": w["context"].pk}, 1),
    "line item with a float": lambda w: (LineItem, {"resource_link": w["link"].pk}, 1),
    "domain event by UUID": lambda w: (DomainEvent, {"event_id": EVENT_ID}, 1),
}


def _orm(model: type[Model], where: dict[str, Any], limit: int) -> list[Model]:
    lookup = {(f"{k}__isnull" if v is None else k): (True if v is None else v) for k, v in where.items()}
    return list(model._default_manager.filter(**lookup).order_by("pk")[:limit])


def _fields(obj: Model) -> dict[str, tuple[type, Any]]:
    """Every stored value of ``obj`` with its Python type (a str where a datetime belongs must not pass)."""
    values = {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}
    return {name: (type(value), value) for name, value in values.items()}


@pytest.mark.parametrize("name", LOOKUPS)
def test_lean_reads_the_same_rows_and_values_as_the_orm(world, name):
    model, where, limit = LOOKUPS[name](world)

    expected = _orm(model, where, limit)
    found = lean.rows(model, where, limit=limit)

    assert [_fields(o) for o in found] == [_fields(o) for o in expected]
    assert lean.exists(model, where) is bool(expected)
    first = lean.first(model, where)
    assert (_fields(first) if first else None) == (_fields(expected[0]) if expected else None)


def test_the_lookups_cover_hits_misses_and_several_rows(world):
    sizes = [len(_orm(*LOOKUPS[name](world))) for name in LOOKUPS]

    assert 0 in sizes and 1 in sizes and 2 in sizes


def test_rows_read_by_lean_are_saved_as_updates_like_the_orms(world):
    # from_db marks an instance as loaded from the database: save() must update it, not insert a copy.
    membership = lean.first(Membership, {"id": world["active"].pk})
    assert membership is not None and membership._state.adding is False
    assert membership._state.db == Membership.objects.get(pk=membership.pk)._state.db

    membership.roles = ["Instructor"]
    membership.save(update_fields=["roles"])

    assert Membership.objects.count() == 2
    assert Membership.objects.get(pk=membership.pk).roles == ["Instructor"]


def test_a_lean_lookup_is_one_plain_query_on_the_models_table(world):
    with CaptureQueriesContext(connection) as queries:
        lean.first(Deployment, {"registration": world["school_a"], "deployment_id": "42:abc"})

    (query,) = queries.captured_queries
    assert Deployment._meta.db_table in query["sql"]
    assert Deployment._meta.get_field("registration").column in query["sql"]  # type: ignore[union-attr]


def test_a_joined_read_gives_each_models_row_as_the_orms_select_related_does(world):
    m, x, r = (model._meta for model in (Membership, Context, Registration))
    tail = (
        f"FROM {m.db_table} m JOIN {x.db_table} x ON m.context_id = x.id JOIN {r.db_table} r "
        "ON x.registration_id = r.id WHERE m.context_id = %s ORDER BY m.id"
    )
    parts: tuple[lean.Part, ...] = ((Membership, "m", frozenset()), (Context, "x", frozenset()))

    found = lean.joined_from(parts, ("r.is_active",), tail, [world["context"].pk])

    expected = list(Membership.objects.select_related("context").filter(context=world["context"]).order_by("pk"))
    assert len(found) == len(expected) == 2
    for (membership, context, active), orm in zip(found, expected, strict=True):
        assert _fields(membership) == _fields(orm) and _fields(context) == _fields(orm.context)
        assert bool(active) is True and membership._state.adding is False


def test_fields_left_out_of_a_lean_read_are_deferred_and_still_load_when_read(world):
    found = lean.first(LtiUser, {"id": world["person"].pk}, without=frozenset({"name", "email"}))
    (joined,) = lean.joined_from(
        ((LtiUser, "u", frozenset({"email"})),), (), f"FROM {LtiUser._meta.db_table} u WHERE u.id = %s", [found.pk]
    )

    assert found is not None and found.get_deferred_fields() == {"name", "email"}
    assert joined[0].get_deferred_fields() == {"email"}
    with CaptureQueriesContext(connection) as queries:
        assert found.name == "Ada Lovelace" and joined[0].email == "ada@example.edu"  # decrypted when loaded late
    assert len(queries.captured_queries) == 2


def _audit_lines(tag: str) -> list[AuditEvent]:
    return [
        AuditEvent(
            actor_type="system",
            action="score.posted",
            object_type="score",
            object_id=f"{n} \"q\" \\ 's' ✓",  # quotes, a backslash, non-ASCII: JSON and SQL quoting alike
            source=tag,
            before=None if n % 2 else {"quote": 'a "b" \\ c', "n": [1, 2.5, None]},
            after={"status": 204, "line_item": f"https://p/li/{n}?x=1&y='2'", "note": "señal ✓"},
        )
        for n in range(3)
    ]


def _stored(model: type[Model], pks: list[Any]) -> list[dict[str, tuple[type, Any]]]:
    """A row as read back, without its key and the moment it was written."""
    rows = [_fields(o) for o in model._default_manager.filter(pk__in=pks).order_by("pk")]
    return [{k: v for k, v in row.items() if k not in ("id", "created_at", "event_id")} for row in rows]


def test_insert_many_stores_the_same_rows_as_bulk_create_and_gives_each_its_key(db):
    by_orm = AuditEvent.objects.bulk_create(_audit_lines("t"))
    with CaptureQueriesContext(connection) as queries:
        by_lean = lean.insert_many(AuditEvent, _audit_lines("t"))

    (query,) = queries.captured_queries
    # The path under test: one JSON document on PostgreSQL, a VALUES list elsewhere.
    assert ("jsonb_to_recordset" in query["sql"]) is (connection.vendor == "postgresql")
    assert all(o.pk is not None and o._state.adding is False for o in by_lean)
    assert len({o.pk for o in by_lean}) == 3 and {o.pk for o in by_lean}.isdisjoint({o.pk for o in by_orm})
    assert _stored(AuditEvent, [o.pk for o in by_lean]) == _stored(AuditEvent, [o.pk for o in by_orm])
    for obj in by_lean:  # each key is its own row's (the object ids were written in order)
        assert AuditEvent.objects.get(pk=obj.pk).object_id == obj.object_id
        assert obj.created_at is not None  # auto_now_add, as bulk_create sets it


def test_insert_many_keeps_a_models_python_defaults(db):
    made = lean.insert_many(
        DomainEvent, [DomainEvent(type="score.posted", subject_type="score", subject_id=str(n)) for n in range(2)]
    )

    stored = DomainEvent.objects.filter(pk__in=[e.pk for e in made]).order_by("pk")
    assert [e.event_id for e in stored] == [e.event_id for e in made] and len({e.event_id for e in made}) == 2
    assert [e.data for e in stored] == [{}, {}]


def test_upsert_many_inserts_new_rows_and_overwrites_only_the_named_fields_of_existing_ones(world):
    context, person, dropped_user = world["context"], world["person"], world["dropped"].user
    newcomer = LtiUser.objects.create(registration=world["school_a"], sub="s-3")
    before = Membership.objects.get(context=context, user=person)
    rows = [
        # Conflicts with the active membership: roles and updated_at change, is_active (not named) stays.
        Membership(context=context, user=person, roles=["Instructor", 'a "q" ✓'], is_active=False),
        Membership(context=context, user=newcomer, roles=["Learner"]),
    ]
    with CaptureQueriesContext(connection) as queries:
        lean.upsert_many(Membership, rows, unique=("context", "user"), update=("roles", "updated_at"))

    (query,) = queries.captured_queries
    assert "ON CONFLICT" in query["sql"]
    kept = Membership.objects.get(pk=before.pk)
    assert kept.roles == ["Instructor", 'a "q" ✓'] and kept.is_active is True
    assert kept.created_at == before.created_at and kept.updated_at > before.updated_at
    made = Membership.objects.get(context=context, user=newcomer)
    assert made.roles == ["Learner"] and made.is_active is True and made.created_at is not None
    assert Membership.objects.get(context=context, user=dropped_user).is_active is False  # untouched
    assert Membership.objects.filter(context=context).count() == 3


def test_upsert_many_where_writes_nothing_unless_its_condition_holds_and_then_writes_all_in_one_statement(world):
    context, person = world["context"], world["person"]
    newcomer = LtiUser.objects.create(registration=world["school_a"], sub="s-3")
    before = Membership.objects.get(context=context, user=person)
    where = f"EXISTS (SELECT 1 FROM {Context._meta.db_table} WHERE id = %s AND context_id = %s)"

    def rows() -> list[Membership]:  # the second has NULL datetimes: typed as their columns, not as text
        return [
            Membership(context=context, user=person, roles=["Mentor"]),
            Membership(context=context, user=newcomer, roles=["Learner"], last_launch_at=None, revoked_at=None),
        ]

    update = ("roles", "updated_at")
    refused = lean.upsert_many_where(
        Membership, rows(), unique=("context", "user"), update=update, where=where, params=[context.pk, "chem"]
    )
    assert refused == 0
    assert Membership.objects.get(pk=before.pk).roles == ["Learner"]
    assert not Membership.objects.filter(user=newcomer).exists()

    with CaptureQueriesContext(connection) as queries:
        written = lean.upsert_many_where(
            Membership, rows(), unique=("context", "user"), update=update, where=where, params=[context.pk, "bio"]
        )

    assert written == 2 and len(queries.captured_queries) == 1
    kept = Membership.objects.get(pk=before.pk)
    assert kept.roles == ["Mentor"] and kept.last_launch_at == before.last_launch_at  # only the named fields
    made = Membership.objects.get(context=context, user=newcomer)
    assert made.roles == ["Learner"] and made.last_launch_at is None and made.is_active is True


@pytest.mark.django_db(transaction=True)
def test_upsert_many_where_in_several_statements_writes_all_rows_or_none(monkeypatch):
    """A batch the parameter limit splits (SQLite: 999) is one transaction: a later statement that fails takes the
    earlier ones' rows back with it."""
    registration = Registration.objects.create(issuer=ISSUER, client_id="10000000000001")
    deployment = Deployment.objects.create(registration=registration, deployment_id="42:abc")
    context = Context.objects.create(registration=registration, deployment=deployment, context_id="bio")
    people = [LtiUser.objects.create(registration=registration, sub=f"s-{n}") for n in range(2)]
    columns = len([f for f in Membership._meta.local_concrete_fields if not f.primary_key])
    monkeypatch.setattr(connection.features, "max_query_params", columns + 2)  # one row per statement
    where = f"EXISTS (SELECT 1 FROM {Context._meta.db_table} WHERE id = %s AND context_id = %s)"
    update, params = ("roles", "updated_at"), [context.pk, "bio"]

    rows = [Membership(context=context, user=people[0]), Membership(context=context, user=None)]  # NOT NULL
    with pytest.raises(IntegrityError):
        lean.upsert_many_where(Membership, rows, unique=("context", "user"), update=update, where=where, params=params)
    assert not Membership.objects.exists(), "the first statement's row went back with the failed second"

    rows = [Membership(context=context, user=person) for person in people]
    written = lean.upsert_many_where(
        Membership, rows, unique=("context", "user"), update=update, where=where, params=params
    )
    assert written == 2 and Membership.objects.count() == 2


def test_the_casts_of_a_conditional_upsert_drop_a_length_and_keep_the_rest_of_the_type():
    for declared, cast_to in [
        ("varchar(255)", "varchar"),
        ("numeric(10, 2)", "numeric"),
        ("timestamp(3) with time zone", "timestamp with time zone"),
        ("varchar(20)[]", "varchar[]"),
        ("jsonb", "jsonb"),
    ]:
        assert lean._LENGTH.sub("", declared) == cast_to


def test_upsert_many_where_refuses_a_value_too_long_for_its_column_instead_of_cutting_it(world):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not enforce a text column's length")
    from django.db import DataError, transaction

    long_id = "c" * 256  # the column holds 255
    where = f"EXISTS (SELECT 1 FROM {Registration._meta.db_table} WHERE id = %s)"
    made = Context(registration=world["school_a"], deployment=world["deployment"], context_id=long_id)
    with pytest.raises(DataError), transaction.atomic():
        lean.upsert_many_where(
            Context,
            [made],
            unique=("registration", "context_id"),
            update=("title",),
            where=where,
            params=[world["school_a"].pk],
        )
    assert not Context.objects.filter(context_id__startswith="ccc").exists()


def test_a_reference_is_the_row_as_only_reads_it_and_loads_the_rest_on_first_use(world):
    link = world["link"]
    orm = ResourceLink.objects.only("id", "context_id").get(pk=link.pk)

    made = lean.reference(ResourceLink, id=link.pk, context_id=link.context_id)

    assert made.get_deferred_fields() == orm.get_deferred_fields() and (made.pk, made.context_id) == (
        orm.pk,
        orm.context_id,
    )
    assert made._state.adding is False and made == link
    assert made.custom == {"quiz": "7"}, "a deferred field is read when used"
    with pytest.raises(ValueError, match="not columns of ResourceLink"):
        lean.reference(ResourceLink, id=link.pk, context=link.context_id)


def test_a_locked_lean_read_reads_the_row_as_select_for_update_does(world):
    from django.db import transaction

    wanted = lean.only(Membership, "roles", "is_active")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        found = lean.first(Membership, {"id": world["active"].pk}, without=wanted, lock=True)
        orm = Membership.objects.select_for_update().only("roles", "is_active").get(pk=world["active"].pk)

    assert found is not None and found.get_deferred_fields() == orm.get_deferred_fields()
    assert (found.pk, found.roles, found.is_active) == (orm.pk, orm.roles, orm.is_active)
    assert queries.captured_queries[0]["sql"].endswith("FOR UPDATE") is connection.features.has_select_for_update


def test_update_writes_only_the_named_fields_as_save_with_update_fields_does_in_one_statement(world):
    context, person, dropped_user = world["context"], world["person"], world["dropped"].user
    by_orm, by_lean = Membership.objects.get(user=dropped_user), Membership.objects.get(user=person)
    for membership in (by_orm, by_lean):  # changed in memory; only roles (and updated_at) are named
        membership.roles, membership.is_active = ["Instructor", 'a "q" ✓'], False
    by_orm.save(update_fields=["roles", "updated_at"])
    before = by_lean.updated_at
    with CaptureQueriesContext(connection) as queries:
        lean.update(by_lean, ("roles", "updated_at"))

    (query,) = queries.captured_queries
    assert query["sql"].startswith("UPDATE")
    stored_orm, stored_lean = Membership.objects.get(pk=by_orm.pk), Membership.objects.get(pk=by_lean.pk)
    assert stored_lean.roles == stored_orm.roles == ["Instructor", 'a "q" ✓']
    assert stored_lean.is_active is True and stored_orm.is_active is False  # was False already; not written
    assert stored_lean.updated_at == by_lean.updated_at > before  # auto_now, as save() sets it
    assert stored_lean.context_id == context.pk and stored_lean.last_launch_at == world["active"].last_launch_at


def test_update_of_a_row_that_is_gone_fails_and_a_model_with_its_own_save_is_saved_by_it(world):
    from django.db import DatabaseError

    gone = Membership.objects.get(pk=world["dropped"].pk)
    Membership.objects.filter(pk=gone.pk).delete()
    with pytest.raises(DatabaseError, match="no row"):
        lean.update(gone, ("roles",))
    line = lean.insert_many(AuditEvent, _audit_lines("u"))[0]
    line.action = "rewritten"
    with pytest.raises(ValueError, match="append-only"):  # AuditEvent.save refuses: lean.update went through it
        lean.update(line, ("action",))
