"""Writing a roster costs a constant number of statements per page, whatever the page size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lms_tool.lti.models import Context, Deployment, Membership, Registration
from lms_tool.roster import services
from lms_tool.roster.nrps import Member, RosterRead
from lms_tool.sandbox.platform import ROLE

pytestmark = pytest.mark.django_db


@pytest.fixture
def course_context() -> Context:
    registration = Registration.objects.create(
        issuer="https://lms.example.edu",
        client_id="c1",
        auth_login_url="https://lms.example.edu/auth",
        auth_token_url="https://lms.example.edu/token",
        key_set_url="https://lms.example.edu/jwks",
    )
    deployment = Deployment.objects.create(registration=registration, deployment_id="d1")
    return Context.objects.create(
        registration=registration, deployment=deployment, context_id="big", nrps_url="https://lms.example.edu/nrps"
    )


def roster(pages: int, size: int, *, status: str = "Active", role: str = "Learner", start: int = 0) -> RosterRead:
    members = [
        Member(f"u{start + i}", (ROLE + role,), status, f"User {start + i}", f"u{i}@example.edu")
        for i in range(pages * size)
    ]
    return RosterRead(pages=[members[p * size : (p + 1) * size] for p in range(pages)])


def statements(context: Context, read: RosterRead, *, full: bool = True) -> int:
    sync = services.roster_sync_for(context=context)
    with CaptureQueriesContext(connection) as queries:
        services.roster_apply(sync=sync, read=read, full=full)
    return len(queries)


def test_statements_grow_with_pages_not_with_members(course_context):
    small = statements(course_context, roster(pages=4, size=10))
    Membership.objects.all().delete()
    large = statements(course_context, roster(pages=4, size=100))

    assert small == large


def test_each_page_costs_the_same_small_number_of_statements(course_context):
    four = statements(course_context, roster(pages=4, size=25))
    Membership.objects.all().delete()
    eight = statements(course_context, roster(pages=8, size=25))

    per_page = (eight - four) / 4
    assert per_page <= 5  # users read + users upsert + memberships upsert + events insert (+ savepoints)


def test_a_changed_roster_is_also_written_in_bulk(course_context):
    statements(course_context, roster(pages=4, size=50))
    # Everyone changes role, and the second half of the course is dropped.
    changed = roster(pages=2, size=50, role="Instructor")

    count = statements(course_context, changed)

    assert Membership.objects.filter(is_active=False).count() == 100
    assert Membership.objects.filter(is_active=True, roles=[ROLE + "Instructor"]).count() == 100
    assert count <= 2 * 5 + 10  # two pages, one chunk of the absent, a fixed few
