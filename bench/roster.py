"""Roster sync of a 20,000-member course (`--members` for more) served by the sandbox platform's NRPS in pages of 1,000.

    .venv/bin/python bench/roster.py                     # embedded default: SQLite in a temp dir
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/roster.py
    .venv/bin/python bench/roster.py --members 5000      # a quick smoke run

On PostgreSQL it uses its own database ``lms_h5_bench`` on DATABASE_URL's server (created fresh, dropped at
the end). The NRPS endpoint is the sandbox platform (lti1p3platform, bearer token checked on every page) on
127.0.0.1, so both sides pay the same HTTP. Measured in one run:

- ours: ``roster.services.roster_sync`` (read every page, then bulk upserts per page in one transaction),
  a first full sync into an empty course, then a full re-sync where 1% left and 1% changed role;
- the baseline: a naive loop over the same pages from the same endpoint, per member ``get_or_create`` of the
  user and of the membership and one ``event_record`` per new membership, a transaction per page; its
  re-sync (after the same 1% left and 1% changed role) is the same loop saving what changed and
  deactivating the members the pages no longer list, one by one;
- database statements per page (``connection.execute_wrapper``), at pages of 1,000 and of 250 to show the
  count does not grow with page size.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bc

DB_NAME = "lms_h5_bench"
ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


class Counter:
    """Counts the statements Django sends (every backend; no DEBUG needed); those sent by domain-event
    publishers after commit (the webhooks app's, one per event) are counted apart."""

    def __init__(self) -> None:
        self.count = 0
        self.publishing = 0
        self.in_publisher = False

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if self.in_publisher:
            self.publishing += 1
        else:
            self.count += 1
        return execute(sql, params, many, context)


def counted(fn):  # type: ignore[no-untyped-def]
    """(wall seconds, statements of the sync, statements of the post-commit event publishers)."""
    from django.db import connection

    from lms_tool.core import events

    counter = Counter()
    originals = list(events.PUBLISHERS)

    def tracked(hook):  # type: ignore[no-untyped-def]
        def call(pk):  # type: ignore[no-untyped-def]
            counter.in_publisher = True
            try:
                return hook(pk)
            finally:
                counter.in_publisher = False

        if getattr(hook, "many", None) is not None:
            call.many = tracked(hook.many)  # type: ignore[attr-defined]
        return call

    events.PUBLISHERS[:] = [tracked(h) for h in originals]
    started = time.perf_counter()
    try:
        with connection.execute_wrapper(counter):
            fn()
    finally:
        events.PUBLISHERS[:] = originals
    return time.perf_counter() - started, counter.count, counter.publishing


def serve_tool_jwks(jwks: dict) -> str:  # type: ignore[type-arg]
    """The tool's JWKS on 127.0.0.1 (only the platform's token endpoint asks for it)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = json.dumps(jwks).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_port}"


def setup_platform(members: int):  # type: ignore[no-untyped-def]
    from lms_tool.lti import keys
    from lms_tool.sandbox.platform import Person
    from lms_tool.sandbox.server import PlatformServer

    server = PlatformServer().start()
    keys.key_create()
    tool = serve_tool_jwks(keys.jwks())  # the platform's token endpoint checks our client assertion with it
    platform, registration = bc.platform_registered(
        server.base_url, tool=(f"{tool}/lti/login/", f"{tool}/lti/launch/", f"{tool}/lti/jwks/")
    )
    server.platform = platform
    for prefix in ("ours", "small", "naive"):
        course = platform.add_course(f"course-{prefix}")
        for i in range(members):
            role = "Instructor" if i % 500 == 0 else "Learner"
            platform.enrol(course, Person(f"{prefix}-{i:06d}", f"Person {i}", f"p{i}@example.edu", [ROLE + role]))
    return server, platform, registration


def context_for(platform, registration, context_id: str):  # type: ignore[no-untyped-def]
    from lms_tool.lti.models import Context

    return Context.objects.create(
        registration=registration,
        deployment=registration.deployments.get(),
        context_id=context_id,
        nrps_url=f"{platform.base_url}/courses/{context_id}/memberships",
    )


def naive_sync(context, page_limit: int) -> int:  # type: ignore[no-untyped-def]
    """The baseline: what a straightforward tool does, member by member."""
    from django.db import transaction

    from lms_tool.core.events import event_record
    from lms_tool.lti import service_client as sc
    from lms_tool.lti.models import LtiUser, Membership

    url: str | None = f"{context.nrps_url}?limit={page_limit}"
    pages = 0
    while url:
        response = sc.call(context.registration, "GET", url, scopes=[sc.SCOPE_NRPS])
        with transaction.atomic():
            for m in response.json()["members"]:
                user, _ = LtiUser.objects.get_or_create(
                    registration=context.registration,
                    sub=m["user_id"],
                    defaults={"name": m.get("name", ""), "email": m.get("email", "")},
                )
                membership, created = Membership.objects.get_or_create(
                    context=context,
                    user=user,
                    defaults={"roles": m["roles"], "is_active": m["status"] == "Active"},
                )
                if created:
                    event_record(
                        type="enrollment.added",
                        subject_type="membership",
                        subject_id=membership.pk,
                        data={"user_id": m["user_id"]},
                        context_pk=context.pk,
                    )
        pages += 1
        url = sc.next_link(response)
    return pages


def naive_resync(context, page_limit: int) -> int:  # type: ignore[no-untyped-def]
    """The re-sync baseline: the same naive loop over every page, per member ``get_or_create`` and a save when
    the roles or the status changed, then every membership the pages did not list deactivated one by one."""
    from django.db import transaction

    from lms_tool.core.events import event_record
    from lms_tool.lti import service_client as sc
    from lms_tool.lti.models import LtiUser, Membership

    url: str | None = f"{context.nrps_url}?limit={page_limit}"
    pages, seen = 0, set()
    while url:
        response = sc.call(context.registration, "GET", url, scopes=[sc.SCOPE_NRPS])
        with transaction.atomic():
            for m in response.json()["members"]:
                user, _ = LtiUser.objects.get_or_create(
                    registration=context.registration,
                    sub=m["user_id"],
                    defaults={"name": m.get("name", ""), "email": m.get("email", "")},
                )
                active = m["status"] == "Active"
                membership, created = Membership.objects.get_or_create(
                    context=context, user=user, defaults={"roles": m["roles"], "is_active": active}
                )
                seen.add(membership.pk)
                if not created and (membership.roles != m["roles"] or membership.is_active != active):
                    membership.roles, membership.is_active = m["roles"], active
                    membership.save(update_fields=["roles", "is_active", "updated_at"])
                    event_record(
                        type="enrollment.role_changed",
                        subject_type="membership",
                        subject_id=membership.pk,
                        data={"user_id": m["user_id"]},
                        context_pk=context.pk,
                    )
        pages += 1
        url = sc.next_link(response)
    with transaction.atomic():
        for membership in Membership.objects.filter(context=context, is_active=True).exclude(pk__in=seen):
            membership.is_active = False
            membership.save(update_fields=["is_active", "updated_at"])
            event_record(
                type="enrollment.removed",
                subject_type="membership",
                subject_id=membership.pk,
                data={},
                context_pk=context.pk,
            )
    return pages


def drop_and_change(platform, context_id: str, members: int) -> None:  # type: ignore[no-untyped-def]
    """1% of the course leaves, another 1% becomes teaching assistants (the same members in every course)."""
    course = platform.courses[context_id]
    ids = sorted(course.members)
    for uid in ids[1 : members // 100 + 1]:
        del course.members[uid]
    for uid in ids[-(members // 100) :]:
        course.members[uid].roles = [ROLE + "TeachingAssistant"]


def ours(context, page_limit: int):  # type: ignore[no-untyped-def]
    from django.conf import settings

    from lms_tool.roster import services

    settings.ROSTER = {**settings.ROSTER, "PAGE_LIMIT": page_limit}
    sync = services.roster_sync_for(context=context)
    return lambda: services.roster_sync(sync=sync, full=True)


def run(members: int, page_limit: int) -> int:
    from django.db import connection

    from lms_tool.core import events
    from lms_tool.lti.models import Membership

    print("machine:", bc.machine(), "database:", connection.vendor, flush=True)
    server, platform, registration = setup_platform(members)
    try:
        pages = -(-members // page_limit)
        ctx = context_for(platform, registration, "course-ours")
        print(f"event publishers after commit: {[getattr(h, '__qualname__', h) for h in events.PUBLISHERS]}")
        wall, stmts, pub = counted(ours(ctx, page_limit))
        assert Membership.objects.filter(context=ctx, is_active=True).count() == members
        print(
            f"ours, first sync: {members} members in {pages} pages: {wall:.2f} s, {stmts} statements "
            f"({stmts / pages:.1f} per page) + {pub} by event publishers after commit",
            flush=True,
        )

        drop_and_change(platform, "course-ours", members)
        rewall, restmts, repub = counted(ours(ctx, page_limit))
        print(
            f"ours, full re-sync with 1% dropped and 1% role changes: {rewall:.2f} s, {restmts} statements "
            f"({restmts / pages:.1f} per page) + {repub} by event publishers",
            flush=True,
        )

        small = max(1, page_limit // 4)
        ctx_small = context_for(platform, registration, "course-small")
        swall, sstmts, spub = counted(ours(ctx_small, small))
        spages = -(-members // small)
        print(
            f"ours, first sync at pages of {small}: {spages} pages, {sstmts} statements "
            f"({sstmts / spages:.1f} per page) + {spub} by event publishers, {swall:.2f} s",
            flush=True,
        )

        nctx = context_for(platform, registration, "course-naive")
        nwall, nstmts, npub = counted(lambda: naive_sync(nctx, page_limit))
        assert Membership.objects.filter(context=nctx).count() == members
        print(
            f"naive get_or_create loop, first sync: {nwall:.2f} s, {nstmts} statements "
            f"({nstmts / pages:.0f} per page) + {npub} by event publishers",
            flush=True,
        )

        drop_and_change(platform, "course-naive", members)
        nrewall, nrestmts, _ = counted(lambda: naive_resync(nctx, page_limit))
        assert Membership.objects.filter(context=nctx, is_active=True).count() == members - members // 100
        print(
            f"naive loop, full re-sync with the same 1% dropped and 1% role changes: {nrewall:.2f} s, "
            f"{nrestmts} statements ({nrestmts / pages:.0f} per page)",
            flush=True,
        )

        bc.result(
            f"roster_first_sync_{members // 1000}k_wall_vs_naive_first_sync", wall, "s", nwall, bc.ratio(nwall, wall)
        )
        bc.result(
            "roster_statements_per_page_vs_naive_sync",
            stmts / pages,
            "statements",
            nstmts / pages,
            bc.ratio(nstmts / pages, stmts / pages),
        )
        bc.result(
            f"roster_statements_per_page_at_{small}_vs_full_pages",
            sstmts / spages,
            "statements",
            stmts / pages,
            bc.ratio(stmts / pages, sstmts / spages),
        )
        bc.result("roster_full_resync_wall_vs_naive_resync", rewall, "s", nrewall, bc.ratio(nrewall, rewall))
        bc.print_results()
    finally:
        server.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="5,000 members: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.members = 5000
    os.environ.setdefault("ROSTER_MAX_PAGES", "100000")
    with bc.own_database(DB_NAME):
        var_dir = bc.setup_django(prefix="lms-bench-roster-")
        try:
            return run(args.members, args.page)
        finally:
            bc.cleanup(var_dir)


if __name__ == "__main__":
    sys.exit(main())
