"""Grade passback: scores posted per second by one worker, token requests, and the drain after an outage.

    .venv/bin/python bench/passback.py                  # embedded default: SQLite in a temp dir
    .venv/bin/python bench/passback.py --scores 200     # a quick smoke run
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/3 \
        .venv/bin/python bench/passback.py                  # PostgreSQL (own database lms_h3_bench) + Redis

Both sides post to the same local AGS endpoint: the sandbox platform (lti1p3platform checks the
bearer token of every request and the client assertion of every token request) served over HTTP/1.1
keep-alive on 127.0.0.1, with a Canvas-like gradebook, from a child process of its own (forked once the
course is set up): a real LMS is another process across a network, and served from the bench's own threads
the platform would share the interpreter with the code measured. Each round prints the CPU per score of the
bench process (the worker, or the stock loop), of the platform's process and, for ours on PostgreSQL, of the
database server process serving the worker, apart. Both sides first post 100 scores untimed (a warm-up:
first connections, the token, statements built once), then ``--rounds`` rounds alternate them. Measured in one run:

- ours: ``--scores`` scores written to the outbox (``score_submit``), then posted by the code a Celery worker
  runs (``passback.score_post``, called for every score as its task would be): a batch of the platform's due
  scores claimed at once, up to ``GRADING_POSTS_IN_FLIGHT`` posts in flight (as many as the probe's round trip
  needs, ``passback.window_for``) over kept connections, token from the shared cache, the tool's key loaded once,
  the answers recorded in the database in parts while later posts are out;
- baseline: stock pylti1p3 2.0.0 at its strongest, a loop over ``AssignmentsGradesService.put_grade``
  with ONE ``ServiceConnector`` kept for the whole loop (its token fetched once, its connection reused).
  Stock has no outbox: a score it fails to post is gone, and nothing is written or audited. Shown beside
  it: a new ``ServiceConnector`` per score, as a pylti1p3 tool that builds one per launch or task does
  (docs/platforms.md, pylti1p3 defects 5 and 6: a PEM parse and a token request per score);
- token requests per 1,000 scores (``service_client.token_requests``);
- drain: ``--scores`` scores written while the platform answers 503 for ``--outage`` seconds, one
  worker retrying them with the production backoff (base 2 s, cap 600 s, full jitter); the time from
  the platform's return until the last one is posted, with the recovery pull-forward and without it.
  Its baseline is stock ``put_grade`` posting the same number at its measured rate (stock has no
  outbox: during the outage those scores would have been lost).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.request import urlopen

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bc

DB_NAME = "lms_h3_bench"
ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"


class KeepAliveServer:
    """The sandbox platform's routes over HTTP/1.1 with keep-alive (wsgiref closes every connection),
    plus the tool's JWKS at ``/tool-jwks`` for the platform's token endpoint.

    The socket is bound here; ``serve_apart()`` serves it from a child process of its own (a real LMS is
    another process across a network: served from the bench's own threads, the platform would share the
    interpreter and its lock with the code being measured). ``/bench-control`` lets the bench switch the
    child's platform faults and read how many requests it saw."""

    def __init__(self, routes: Any, jwks: dict[str, Any], latency: float = 0.0):
        jwks_body = json.dumps(jwks).encode()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out separately: no 40 ms delayed-ACK stall

            def serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                if path == "/bench-control":
                    platform = routes.platform
                    with platform.lock:
                        platform.faults.update(json.loads(body or b"{}"))
                        seen = len(platform.requests_seen)
                    status, headers, out = 200, {}, json.dumps({"requests_seen": seen}).encode()
                elif path == "/tool-jwks":
                    status, headers, out = 200, {"Content-Type": "application/json"}, jwks_body
                else:
                    if latency:
                        time.sleep(latency)  # a platform across a network: the round trip and its own work
                    environ = {
                        "REQUEST_METHOD": self.command,
                        "PATH_INFO": path,
                        "QUERY_STRING": query,
                        "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                        "CONTENT_LENGTH": str(length),
                        "wsgi.input": io.BytesIO(body),
                    }
                    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in self.headers.items()})
                    status, headers, out = routes.handle(environ, path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_DELETE = serve

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # bound and listening; served by the child
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.pid = 0

    def serve_here(self) -> None:
        """Serve from threads of this process, for a bench that reads the platform's own state as it goes (the
        burst's gradebook, the faults' switches); ``httpd.shutdown()`` stops it."""
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve_apart(self) -> None:
        """Serve from a forked child process; this process keeps no copy of the listening socket."""
        from django.db import connections

        connections.close_all()  # the child must not share (or close) the parent's database connections
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:  # the child: the platform alone, until the bench ends or is gone
            try:
                parent = os.getppid()
                threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
                while os.getppid() == parent:
                    time.sleep(0.5)
            finally:
                os._exit(0)
        self.pid = pid
        self.httpd.socket.close()

    def control(self, **faults: Any) -> int:
        """Set faults on the child's platform; the number of requests it has seen."""
        answer = json.loads(urlopen(self.base_url + "/bench-control", json.dumps(faults).encode()).read())
        return int(answer["requests_seen"])

    def cpu(self) -> float:
        return bc.cpu_seconds(self.pid)

    def stop(self) -> None:
        if self.pid:
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)
            self.pid = 0


def setup(scores: int, latency: float = 0.0) -> dict[str, Any]:
    """A Canvas-like platform with learners and columns, and the same course as the tool knows it."""
    from lms_tool.lti import keys
    from lms_tool.lti.models import Context, Deployment, LtiUser, ResourceLink
    from lms_tool.sandbox.platform import Person
    from lms_tool.sandbox.server import PlatformServer
    from lms_tool.sandbox.services.ags import line_item_add

    keys.key_create()
    routes = PlatformServer()  # its routing only; served by the keep-alive server
    server = KeepAliveServer(routes, keys.jwks(), latency)
    base = server.base_url
    platform, registration = bc.platform_registered(
        base, tool=(f"{base}/login", f"{base}/launch", f"{base}/tool-jwks"), family="canvas"
    )
    routes.platform = platform
    course = platform.add_course("course-1", title="Bench course")
    learners = 50
    people = [
        platform.enrol(course, Person(f"learner-{n}", f"Learner {n}", f"l{n}@example.edu", [ROLE + "Learner"]))
        for n in range(learners)
    ]
    deployment = Deployment.objects.get(registration=registration)
    context = Context.objects.create(registration=registration, deployment=deployment, context_id="course-1")
    users = LtiUser.objects.bulk_create(LtiUser(registration=registration, sub=p.user_id) for p in people)
    links = [
        ResourceLink.objects.create(
            context=context, resource_link_id=f"rl-{n}", lineitem_url=line_item_add(platform, course, label=f"Quiz {n}")
        )
        for n in range(max(1, scores // learners))
    ]
    stock_columns = [line_item_add(platform, course, label=f"Stock {n}") for n in range(max(1, scores // learners))]
    return {
        "server": server,
        "platform": platform,
        "registration": registration,
        "users": users,
        "links": links,
        "people": people,
        "stock_columns": stock_columns,
    }


def submit(world: dict[str, Any], scores: int, value: float) -> None:
    from lms_tool.grading import services

    for n in range(scores):
        user, link = world["users"][n % len(world["users"])], world["links"][n // len(world["users"])]
        services.score_submit(user=user, resource_link=link, score_given=value, score_maximum=100)


def work(done: Callable[[], bool], deadline: float) -> None:
    """One worker: post what is due, in order, sleeping until the next retry is due (as countdowns do)."""
    from django.utils import timezone

    from lms_tool.grading import passback, selectors
    from lms_tool.grading.models import Score

    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not finish in time")
        due = selectors.score_ids_due(before=timezone.now(), limit=200)
        for score_id in due:
            passback.score_post(score_id=score_id)
        if not due:
            nxt = Score.objects.filter(passback_state="pending").order_by("next_attempt_at").first()
            wait = (nxt.next_attempt_at - timezone.now()).total_seconds() if nxt and nxt.next_attempt_at else 0.01
            time.sleep(min(max(wait, 0.001), 0.05))


def pending() -> int:
    from lms_tool.grading.models import Score

    return Score.objects.filter(passback_state="pending").count()


class Cpu:
    """CPU seconds over a block: this process (the worker, or the stock loop: every thread of it), the
    platform's own process, and on PostgreSQL the database server process serving this one, apart."""

    def __init__(self, server: KeepAliveServer):
        self.server = server
        self.own = self.platform = self.database = 0.0

    def __enter__(self) -> Cpu:
        self._backend = _backend_pid()
        self._own, self._platform = time.process_time(), self.server.cpu()
        self._database = bc.cpu_seconds(self._backend) if self._backend else 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.own = time.process_time() - self._own
        self.platform = self.server.cpu() - self._platform
        if self._backend and _backend_pid() == self._backend:  # the same connection all along
            self.database = bc.cpu_seconds(self._backend) - self._database


def _backend_pid() -> int:
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0  # SQLite runs inside this process: its CPU is in this process's figure
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def bench_ours(world: dict[str, Any], scores: int) -> tuple[float, int, Cpu]:
    from lms_tool.lti import service_client

    submit(world, scores, 70.0)  # the load generator: before the clock starts
    tokens = service_client.token_requests
    with Cpu(world["server"]) as cpu:
        started = time.perf_counter()
        work(lambda: pending() == 0, time.monotonic() + 600)
        elapsed = time.perf_counter() - started
    return scores / elapsed, service_client.token_requests - tokens, cpu


def bench_stock(world: dict[str, Any], scores: int, *, reuse_connector: bool, hours: int = 1) -> float:
    """Stock pylti1p3: ``put_grade`` per score, a new ServiceConnector each time unless ``reuse_connector``."""
    from cryptography.hazmat.primitives import serialization
    from pylti1p3.assignments_grades import AssignmentsGradesService
    from pylti1p3.grade import Grade
    from pylti1p3.lineitem import LineItem
    from pylti1p3.registration import Registration
    from pylti1p3.service_connector import ServiceConnector

    from lms_tool.lti.models import ToolKey

    key = ToolKey.objects.get(is_active=True)
    public_pem = (
        serialization.load_pem_private_key(key.private_pem(), password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    platform = world["platform"]
    registration = (
        Registration()
        .set_issuer(platform.issuer)
        .set_client_id(platform.client_id)
        .set_auth_token_url(platform.token_url)
        .set_tool_private_key(key.private_pem().decode())
        .set_tool_public_key(public_pem)
    )  # its kid is the key's RFC 7638 thumbprint, as ours
    shared = ServiceConnector(registration)
    stamp = datetime.now(UTC) + timedelta(hours=hours)  # each loop's timestamps newer than the last's
    started = time.perf_counter()
    for n in range(scores):
        connector = shared if reuse_connector else ServiceConnector(registration)
        service = AssignmentsGradesService(connector, {"scope": [SCORE_SCOPE]})
        person = world["people"][n % len(world["people"])]
        column = world["stock_columns"][n // len(world["people"]) % len(world["stock_columns"])]
        grade = (
            Grade()
            .set_score_given(70)
            .set_score_maximum(100)
            .set_user_id(person.user_id)
            .set_activity_progress("Completed")
            .set_grading_progress("FullyGraded")
            .set_timestamp((stamp + timedelta(seconds=n)).isoformat())
        )
        service.put_grade(grade, LineItem({"id": column}))
    return scores / (time.perf_counter() - started)


def bench_drain(world: dict[str, Any], scores: int, outage: float, *, recovery_batch: int) -> tuple[float, int]:
    """Scores written during an outage, retried by one worker; seconds from recovery to the last post."""
    from django.conf import settings

    settings.GRADING_RECOVERY_BATCH = recovery_batch
    server = world["server"]
    seen = server.control(ags_down=True)
    submit(world, scores, 80.0 + recovery_batch / 1000)
    end_of_outage = time.monotonic() + outage
    work(lambda: time.monotonic() >= end_of_outage, end_of_outage + 60)
    failed_requests = server.control(ags_down=0) - seen
    started = time.perf_counter()
    work(lambda: pending() == 0, time.monotonic() + 1800)
    return time.perf_counter() - started, failed_requests


def _profile(world: dict[str, Any], scores: int, top: int) -> None:
    """cProfile with ``time.process_time`` as its clock, so waits on the platform, PostgreSQL or Redis are not
    counted (their own CPU is not either); the CPU per score is measured without the profiler too."""
    import cProfile
    import pstats

    bench_ours(world, scores)  # warm: connections, token, statements built once
    submit(world, scores, 71.0)
    started = time.process_time()
    work(lambda: pending() == 0, time.monotonic() + 600)
    print(
        f"ours, one post at a time, unprofiled: {(time.process_time() - started) * 1000 / scores:.3f} CPU ms per score"
    )
    submit(world, scores, 72.0)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    work(lambda: pending() == 0, time.monotonic() + 600)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scores", type=int, default=1000)
    parser.add_argument("--stock-scores", type=int, default=150, help="scores posted by the stock loops")
    parser.add_argument("--outage", type=float, default=10.0, help="seconds the platform answers 503")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of ours and the kept connector")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay the platform adds to every request (a network, its work)"
    )
    parser.add_argument("--quick", action="store_true", help="200 scores, 50 stock, 3 s outage: a smoke run")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="TOP",
        help="instead of the bench: where ours spends its CPU (cProfile on a CPU clock, one post at a time so "
        "every call is on the profiled thread), the TOP functions by their own time",
    )
    args = parser.parse_args()
    if args.quick:
        args.scores, args.stock_scores, args.outage = 200, 50, 3.0
    with bc.own_database(DB_NAME):
        _run(args)


def _run(args: argparse.Namespace) -> None:
    var_dir = bc.setup_django(prefix="lms-bench-passback-")
    try:
        from django.conf import settings

        settings.GRADING_PASSBACK_ENABLED = False  # the bench is the worker: nothing goes to a broker
        world = setup(args.scores, args.latency_ms / 1000)
        server = world["server"]
        server.serve_apart()
        if args.profile:
            settings.GRADING_POSTS_IN_FLIGHT = 1  # every call on the profiled thread
        print(f"machine: {bc.machine()}")
        print(f"database: {settings.DATABASES['default']['ENGINE']}, cache: {settings.CACHES['default']['BACKEND']}")
        print(
            f"posts in flight per worker and platform at most (GRADING_POSTS_IN_FLIGHT): {settings.GRADING_POSTS_IN_FLIGHT}; "
            f"platform latency added per request: {args.latency_ms:.0f} ms"
        )
        if args.profile:
            _profile(world, args.scores, args.profile)
            return
        # Both sides warm up first, untimed (first connections, the token, statements built once, code paths run
        # once): the rounds measure a worker in its steady state, as one is after its first minute.
        warm = min(100, args.scores)
        _, tokens, _ = bench_ours(world, warm)
        bench_stock(world, warm, reuse_connector=True, hours=1)
        # Rounds interleave ours and the baseline, so machine load (shared: other jobs run) hits both alike.
        ours_runs, shared_runs = [], []
        for n in range(args.rounds):
            rate, asked, cpu = bench_ours(world, args.scores)
            tokens += asked
            ours_runs.append(rate)
            with Cpu(server) as stock_cpu:
                shared_runs.append(bench_stock(world, args.scores, reuse_connector=True, hours=2 + n))
            per = 1000 / args.scores  # CPU ms per score
            print(
                f"round {n + 1}: ours {rate:.0f} scores/s, stock kept connector {shared_runs[-1]:.0f} scores/s "
                f"(load average {os.getloadavg()[0]:.2f}); CPU ms per score: ours {cpu.own * per:.2f} "
                f"(platform {cpu.platform * per:.2f}, database server {cpu.database * per:.2f}), "
                f"stock {stock_cpu.own * per:.2f} (platform {stock_cpu.platform * per:.2f})",
                flush=True,
            )
        ours = statistics.median(bc.spread("ours scores/s", ours_runs))
        stock_shared = statistics.median(bc.spread("stock kept connector scores/s", shared_runs))
        stock = bench_stock(world, args.stock_scores, reuse_connector=False, hours=2 + args.rounds)
        print(
            f"ours: {ours:.0f} scores/s (median) over {args.scores} scores a round, {tokens} token request(s) "
            f"for the {args.scores * args.rounds + warm} scores posted (the {warm} of the warm-up included)"
        )
        print(f"stock put_grade, one ServiceConnector kept (the baseline): {stock_shared:.0f} scores/s")
        print(f"stock put_grade, new ServiceConnector per score: {stock:.1f} scores/s over {args.stock_scores}")
        drain, failed = bench_drain(world, args.scores, args.outage, recovery_batch=settings.GRADING_RECOVERY_BATCH)
        drain_plain, _ = bench_drain(world, args.scores, args.outage, recovery_batch=0)
        print(
            f"outage of {args.outage:.0f} s: {failed} refused requests for {args.scores} scores; drain "
            f"{drain:.2f} s with the recovery pull-forward, {drain_plain:.2f} s waiting out the backoff"
        )
        stock_drain = args.scores / stock_shared
        per_1000 = tokens * 1000 / (args.scores * args.rounds + warm)
        bc.result("passback_scores_per_second_vs_kept_connector", ours, "scores/s", stock_shared, ours / stock_shared)
        bc.result("passback_scores_per_second_vs_connector_per_score", ours, "scores/s", stock, ours / stock)
        # A kept connector asks for one token per scope set for its life; one per score when built per score.
        bc.result(
            "passback_token_requests_per_1000_vs_connector_per_score",
            per_1000,
            "requests",
            1000.0,
            bc.ratio(1000.0, per_1000),
        )
        # Stock has no outbox: its "drain" is posting the same number at its kept-connector rate once the
        # platform is back, had it kept the scores (it does not: they were lost during the outage).
        bc.result(
            "passback_drain_after_outage_vs_kept_connector_rate", drain, "s", stock_drain, bc.ratio(stock_drain, drain)
        )
        bc.print_results()
    finally:
        if "world" in locals():
            world["server"].stop()
        bc.cleanup(var_dir)


if __name__ == "__main__":
    main()
