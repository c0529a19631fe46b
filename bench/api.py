"""Incremental reads of 100,000 enrollments through the API, and signed webhook deliveries per second.

    .venv/bin/python bench/api.py                         # embedded default: SQLite in a temp dir
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/api.py
    .venv/bin/python bench/api.py --enrollments 10000 --deliveries 300   # a quick smoke run

On PostgreSQL it uses its own database ``lms_h8_bench`` on DATABASE_URL's server (created fresh, dropped
at the end). Requests go through the whole API stack in-process (authentication, scopes, rate limit,
serializers, JSON), without sockets, so the figures are the server's own cost. Measured in one run:

- a full read of every enrollment in pages of 1,000: keyset cursor pages (``cursor``) against the
  baseline, offset pagination (DRF ``LimitOffsetPagination``) over the same view and ordering;
- the last page alone, cursor against offset (offset pays for every row before it);
- an incremental sync after 1% of the enrollments changed: ``updated_since`` + cursor pages, against
  re-reading everything with offset pages (what a nightly export does);
- webhook deliveries per second to a receiver on 127.0.0.1 that checks every signature (its own
  process): ours (lease, Standard Webhooks signature, send through ``core.http.send_lean``, bookkeeping) against
  the baseline, the same bodies POSTed unsigned with no bookkeeping through the same lean send and kept
  connections.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bc

DB_NAME = "lms_h8_bench"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
PAGE = 1000

RECEIVER = r"""
import base64, hashlib, hmac, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
key = base64.b64decode(sys.argv[2].removeprefix("whsec_")) if len(sys.argv) > 2 else b""
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = 204
        if key and self.path != "/plain":
            signed = f"{self.headers['webhook-id']}.{self.headers['webhook-timestamp']}.".encode() + body
            expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
            ok = hmac.compare_digest(expected, self.headers["webhook-signature"])
            fresh = abs(time.time() - int(self.headers["webhook-timestamp"])) < 300
            status = 204 if ok and fresh else 401
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def seed(n: int):  # type: ignore[no-untyped-def]
    from lms_tool.lti.models import Context, Deployment, LtiUser, Membership, Registration

    reg = Registration.objects.create(
        issuer="https://bench.example",
        client_id="bench",
        auth_login_url="https://b/a",
        auth_token_url="https://b/t",
        key_set_url="https://b/k",
    )
    dep = Deployment.objects.create(registration=reg, deployment_id="d1")
    courses = Context.objects.bulk_create(
        [Context(registration=reg, deployment=dep, context_id=f"c{i}", title=f"Course {i}") for i in range(n // 1000)]
    )
    for start in range(0, n, 5000):
        users = LtiUser.objects.bulk_create(
            [
                LtiUser(registration=reg, sub=f"u{i}", name=f"Learner {i}", email=f"u{i}@example.edu")
                for i in range(start, min(n, start + 5000))
            ]
        )
        Membership.objects.bulk_create(
            [
                Membership(context=courses[(start + j) // 1000 % len(courses)], user=u, roles=[LEARNER])
                for j, u in enumerate(users)
            ]
        )
    return courses


def api_client(scopes: list[str]):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    from lms_tool.api import services

    _client, token = services.api_client_create(
        name="bench", scopes=scopes, created_by="bench", all_contexts=True, rate_limit_per_minute=10_000_000
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def read_cursor(api, url: str) -> tuple[float, int, float]:  # type: ignore[no-untyped-def]
    """(seconds, rows, seconds of the last page)."""
    rows, last = 0, 0.0
    start = time.perf_counter()
    while url:
        t0 = time.perf_counter()
        body = api.get(url).json()
        last = time.perf_counter() - t0
        rows += len(body["results"])
        url = body["next"]
    return time.perf_counter() - start, rows, last


def read_offset(api, total: int) -> tuple[float, int, float]:  # type: ignore[no-untyped-def]
    from rest_framework.pagination import LimitOffsetPagination

    from lms_tool.api.views.roster import EnrollmentListApi

    class OffsetEnrollments(EnrollmentListApi):
        pagination_class = LimitOffsetPagination

        def get_queryset(self):  # type: ignore[no-untyped-def]
            return super().get_queryset().order_by("updated_at", "pk")

    view = OffsetEnrollments.as_view()
    from rest_framework.test import APIRequestFactory

    factory, header = APIRequestFactory(), api._credentials["HTTP_AUTHORIZATION"]
    rows, last = 0, 0.0
    start = time.perf_counter()
    for offset in range(0, total, PAGE):
        t0 = time.perf_counter()
        response = view(factory.get(f"/api/v1/enrollments?limit={PAGE}&offset={offset}", HTTP_AUTHORIZATION=header))
        response.render()
        last = time.perf_counter() - t0
        rows += len(response.data["results"])
    return time.perf_counter() - start, rows, last


def bench_reads(n: int) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from lms_tool.lti.models import Membership

    t0 = time.perf_counter()
    seed(n)
    print(f"seeded {n} enrollments in {time.perf_counter() - t0:.1f} s")
    api = api_client(["roster:read"])
    cursor_s, cursor_rows, cursor_last = read_cursor(api, f"/api/v1/enrollments?page_size={PAGE}")
    offset_s, offset_rows, offset_last = read_offset(api, n)
    assert cursor_rows == offset_rows == n, (cursor_rows, offset_rows)
    print(f"full read, cursor: {cursor_s:.2f} s ({n / cursor_s:.0f} rows/s), last page {cursor_last * 1000:.1f} ms")
    print(f"full read, offset: {offset_s:.2f} s ({n / offset_s:.0f} rows/s), last page {offset_last * 1000:.1f} ms")
    bc.result("api_full_read_100k_cursor_vs_offset_pages", cursor_s, "s", offset_s, bc.ratio(offset_s, cursor_s))
    bc.result(
        "api_last_page_cursor_vs_offset_page",
        cursor_last * 1000,
        "ms",
        offset_last * 1000,
        bc.ratio(offset_last, cursor_last),
    )

    since = timezone.now()
    changed = list(Membership.objects.order_by("?").values_list("pk", flat=True)[: n // 100])
    Membership.objects.filter(pk__in=changed).update(is_active=False, updated_at=timezone.now() + timedelta(seconds=1))
    stamp = since.isoformat().replace("+", "%2B")
    inc_s, inc_rows, _ = read_cursor(api, f"/api/v1/enrollments?page_size={PAGE}&updated_since={stamp}")
    assert inc_rows == len(changed), (inc_rows, len(changed))
    print(f"incremental sync of {inc_rows} changed: {inc_s * 1000:.0f} ms (vs full offset re-read {offset_s:.2f} s)")
    bc.result(
        "api_incremental_sync_1pct_vs_full_offset_reread",
        inc_s * 1000,
        "ms",
        offset_s * 1000,
        bc.ratio(offset_s, inc_s),
    )


def bench_webhooks(count: int, senders: int) -> None:
    from django.conf import settings

    from lms_tool.core import http
    from lms_tool.core.events import event_record
    from lms_tool.webhooks import delivery, services

    port = bc.free_port()
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    url = f"http://127.0.0.1:{port}/hook"
    _subscription, secret = services.subscription_create(
        name="bench", url=url, events=["*"], actor_type="admin", actor_id="bench"
    )
    receiver = subprocess.Popen([bc.PYTHON, "-c", RECEIVER, str(port), secret])  # our interpreter, fixed code
    try:
        _wait_port(port)
        events = [
            event_record(
                type="enrollment.added",
                subject_type="membership",
                subject_id=i,
                data={"user_id": f"u{i}", "context_id": "c1", "roles": [LEARNER]},
            )
            for i in range(count)
        ]
        pks = [pk for e in events for pk in delivery.event_fan_out(event_pk=e.pk)]
        bodies = [delivery.payload(e) for e in events]
        plain_url = url.replace("/hook", "/plain")

        def plain_post(body: bytes) -> None:
            # The strongest plain sender at hand: the same lean send over kept connections that deliveries use.
            http.send_lean(
                "POST", plain_url, body=body, headers={"Content-Type": "application/json"}, untrusted=True
            ).raise_for_status()

        def signed_delivery(pk: int) -> None:
            outcome = delivery.delivery_attempt(delivery_pk=pk)
            if outcome is not None:
                raise RuntimeError(f"delivery {pk} not delivered: {outcome}")

        # Baseline: the same bodies, unsigned, no lease or bookkeeping, from the same number of threads
        # (each with its own per-thread session of core.http, as a Celery worker's threads have).
        plain_s = in_parallel(plain_post, bodies, senders)
        ours_s = in_parallel(signed_delivery, pks, senders)
    finally:
        bc.stop_process(receiver)
    from lms_tool.webhooks.models import Delivery

    delivered = Delivery.objects.filter(state="delivered").count()
    assert delivered == count, f"{delivered} of {count} delivered (signature refused?)"
    ours, plain = count / ours_s, count / plain_s
    print(
        f"webhooks: {ours:.0f} signed deliveries/s ({senders} senders), plain POSTs {plain:.0f}/s; "
        f"all {count} verified by the receiver"
    )
    bc.result(f"webhook_deliveries_per_s_{senders}_senders_vs_unsigned_plain_post", ours, "1/s", plain, ours / plain)


def in_parallel(fn, items: list, senders: int) -> float:  # type: ignore[no-untyped-def,type-arg]
    """Seconds to run ``fn`` over ``items`` in ``senders`` threads (as a Celery worker's thread pool does),
    each with its own database connection and HTTP session."""
    import queue
    import threading

    from django.db import connection

    work: queue.Queue = queue.Queue()  # type: ignore[type-arg]
    for item in items:
        work.put(item)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            while True:
                try:
                    item = work.get_nowait()
                except queue.Empty:
                    return
                fn(item)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(senders)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - t0


def _wait_port(port: int) -> None:
    import contextlib
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("the receiver did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--enrollments", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--senders", type=int, help="Sending threads; default 1 on SQLite, 4 on PostgreSQL.")
    args = parser.parse_args()
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"  # in-process requests use 'testserver'
    with bc.own_database(DB_NAME) as postgres:
        var_dir = bc.setup_django(prefix="lms-bench-api-")
        try:
            print("machine:", bc.machine(), "database:", "postgresql" if postgres else "sqlite")
            bench_reads(args.enrollments)
            bench_webhooks(args.deliveries, args.senders or (4 if postgres else 1))
            bc.print_results()
            return 0
        finally:
            bc.cleanup(var_dir)


if __name__ == "__main__":
    sys.exit(main())
