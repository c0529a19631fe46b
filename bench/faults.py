"""Faults: scores lost or posted twice through database and broker outages, the drain after each outage, and a
score's delay behind a webhook backlog. Needs PostgreSQL and Redis (the faults are cut between a real Celery
worker and them, through tests/faults/proxy.py); not part of the test suite; about two to three minutes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/faults.py [--scores 120] [--outage 6] [--backlog 40]

- outages: ``--scores`` scores (one per gradebook column, so a second post of one is visible) are submitted in
  rounds while the worker's database connection is cut, then its broker connection, each for ``--outage``
  seconds (connections refused); the main process runs the beat's score sweep (every GRADING_SWEEP_SECONDS, 10 s here), as beat does.
  Reported: scores the platform never got (lost), scores the platform got more than once, and for each outage
  the seconds from its end to the last pending score posted. Baseline: the same run without the sweep and with
  ``GRADING_DATABASE_RETRIES=0`` (what a task that failed during the outage leaves behind when nothing re-queues
  it: neither the sweep nor the task asking again).
- webhook backlog: ``--backlog`` deliveries to a subscriber that never answers (each waits out a 1 s timeout)
  are queued, then scores are submitted; one worker process (solo pool) consumes every queue. Reported: the
  longest submission-to-acknowledgement delay of those scores. Baseline: the same with every task routed to
  one queue (no per-queue routing), where the scores wait behind the whole backlog.
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bc

DB_NAME = "lms_faults_bench"
WORKER_ENV = {
    "LMS_TOOL_MODE": "test",
    "LOG_LEVEL": "WARNING",
    "HTTP_ALLOWED_PRIVATE_HOSTS": "127.0.0.1,localhost",
    "HTTP_TIMEOUT_SECONDS": "3",
    "GRADING_RETRY_BASE_SECONDS": "0.2",
    "GRADING_RETRY_CAP_SECONDS": "2",
    "CELERY_BROKER_SOCKET_TIMEOUT": "2",
    "CELERY_BROKER_HEALTH_CHECK_SECONDS": "1",
    "WEBHOOK_TIMEOUT_SECONDS": "1",
    "WEBHOOK_MAX_ATTEMPTS": "1",
    # A score whose post was under way when the database went away stays claimed until its lease ends
    # (GRADING_LEASE_SECONDS, 120 s in production): shortened here so a run stays short; the drain after a
    # database outage is bounded by it.
    "GRADING_LEASE_SECONDS": "20",
    # The beat's sweep re-queues scores overdue by this much (60 s in production): the drain after a database
    # outage, whose failed tasks nothing else re-queues, is about one sweep interval.
    "GRADING_SWEEP_SECONDS": "10",
}


def _with_query(url: str, **params: str) -> str:
    return urlunparse(urlparse(url)._replace(query=urlencode(params)))


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "lti_config",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=bc.BASE_DIR,
        env={**os.environ, **WORKER_ENV, **env},
        # BENCH_WORKER_LOG=path keeps the worker's output, to see why a run went wrong.
        stdout=open(os.environ["BENCH_WORKER_LOG"], "ab") if os.environ.get("BENCH_WORKER_LOG") else subprocess.DEVNULL,  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    time.sleep(4)  # start-up (no readiness line at WARNING); the first tasks wait in the queue meanwhile
    return process


def purge_queues() -> None:
    from lti_config.celery import QUEUES, app

    with app.connection_for_write() as conn:
        for queue in QUEUES:
            conn.default_channel.queue_purge(queue)


def world(columns: int) -> dict[str, Any]:
    """A Canvas-like platform (served by bench/passback.py's keep-alive server) and ``columns`` activities,
    each with its own gradebook column."""
    import passback

    from lms_tool.lti import keys
    from lms_tool.lti.models import Context, Deployment, LtiUser, ResourceLink
    from lms_tool.sandbox.platform import Person
    from lms_tool.sandbox.server import PlatformServer
    from lms_tool.sandbox.services.ags import line_item_add

    if not keys.jwks()["keys"]:
        keys.key_create()
    routes = PlatformServer()
    server = passback.KeepAliveServer(routes, keys.jwks())
    server.serve_here()  # the faults are switched on this platform's routes, in this process
    base = server.base_url
    platform, registration = bc.platform_registered(
        base, tool=(f"{base}/login", f"{base}/launch", f"{base}/tool-jwks"), family="canvas"
    )
    routes.platform = platform
    name = f"course-{Context.objects.count() + 1}"
    course = platform.add_course(name, title="Bench course")
    people = [
        platform.enrol(course, Person(f"{name}-l{n}", f"L {n}", f"l{n}@example.edu", [passback.ROLE + "Learner"]))
        for n in range(10)
    ]
    deployment = Deployment.objects.filter(registration=registration).first()
    context = Context.objects.create(registration=registration, deployment=deployment, context_id=name)
    users = LtiUser.objects.bulk_create(LtiUser(registration=registration, sub=p.user_id) for p in people)
    links = [
        ResourceLink.objects.create(
            context=context, resource_link_id=f"rl-{n}", lineitem_url=line_item_add(platform, course, label=f"Q{n}")
        )
        for n in range(columns)
    ]
    return {"platform": platform, "users": users, "links": links, "next": 0}


def submit(w: dict[str, Any], count: int) -> list[int]:
    from lms_tool.grading import services

    ids = []
    for _ in range(count):
        n = w["next"]
        w["next"] += 1
        link, user = w["links"][n], w["users"][n % len(w["users"])]
        ids.append(services.score_submit(user=user, resource_link=link, score_given=5, score_maximum=10).pk)
    return ids


def posts_per_column(w: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for method, path in list(w["platform"].requests_seen):
        if method == "POST" and path.endswith("/scores"):
            counts[path] = counts.get(path, 0) + 1
    return counts


def pending() -> int:
    from lms_tool.grading.models import Score

    return Score.objects.filter(passback_state="pending").count()


def wait_drained(seconds: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if pending() == 0:
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def run_outages(scores: int, outage: float, *, sweep: bool) -> dict[str, float]:
    """One pass of the outage scenario on fresh columns; returns lost, twice and the two drain times."""
    from django.db import close_old_connections, connection

    from lms_tool.grading.tasks import scores_sweep_task
    from tests.faults.proxy import fault_proxy

    w = world(scores)
    stop = threading.Event()

    def beat() -> None:  # the beat's grading-scores-sweep, every GRADING_SWEEP_SECONDS
        while not stop.wait(float(WORKER_ENV["GRADING_SWEEP_SECONDS"])):
            close_old_connections()
            scores_sweep_task()
        connection.close()

    db_url, broker_url = os.environ["DATABASE_URL"], os.environ["REDIS_URL"]
    with fault_proxy(db_url) as db, fault_proxy(broker_url) as broker:
        worker = start_worker(
            {
                "DATABASE_URL": _with_query(db.url_for(db_url), connect_timeout="2"),
                "CELERY_BROKER_URL": broker.url_for(broker_url),
                # The baseline: nothing re-queues a task that failed, neither the sweep nor the task itself.
                **({} if sweep else {"GRADING_DATABASE_RETRIES": "0"}),
            }
        )
        if sweep:
            threading.Thread(target=beat, daemon=True).start()
        drains = []
        try:
            rounds = scores // 3
            submit(w, rounds)
            for proxy in (db, broker):
                proxy.cut()
                for _ in range(4):
                    submit(w, rounds // 4 or 1)
                    time.sleep(outage / 4)
                proxy.restore()
                drains.append(wait_drained(45.0))
            submit(w, scores - w["next"])
            wait_drained(30.0 if sweep else 10.0)
        finally:
            stop.set()
            bc.stop_process(worker)  # type: ignore[arg-type]
    posts = posts_per_column(w)
    if os.environ.get("BENCH_WORKER_LOG"):
        from django.db.models import Count

        from lms_tool.grading.models import Score

        print("states:", list(Score.objects.values("passback_state", "last_status").annotate(n=Count("pk"))))
        print("seen:", w["platform"].requests_seen[:5], len(posts))
        print(
            "why:", list(Score.objects.filter(passback_state="failed").values_list("last_response", "last_error")[:2])
        )
    paths = {urlparse(link.lineitem_url).path + "/scores" for link in w["links"]}
    lost = sum(1 for p in paths if posts.get(p, 0) == 0)
    twice = sum(max(0, n - 1) for p, n in posts.items() if p in paths)
    return {
        "lost": lost,
        "twice": twice,
        "drain_db": drains[0] if drains[0] is not None else float("inf"),
        "drain_broker": drains[1] if drains[1] is not None else float("inf"),
    }


def run_backlog(backlog: int, *, one_queue: bool) -> float:
    """The longest delay of 5 scores submitted behind ``backlog`` webhook deliveries to a silent subscriber."""
    from datetime import timedelta

    from lms_tool.core import crypto
    from lms_tool.core.models import DomainEvent
    from lms_tool.grading.models import Score
    from lms_tool.webhooks.models import Delivery, Subscription
    from lms_tool.webhooks.tasks import webhook_deliver
    from lti_config.celery import app

    saved = dict(app.conf.task_routes)
    if one_queue:  # the fix switched off: every task in one FIFO queue
        app.conf.task_routes = {}
    app.amqp._rtable = None
    app.amqp.__dict__.pop("router", None)
    w = world(5)
    # The outage runs before leave messages for scores posted since (the sweep's re-sends): purged, so the 5 scores
    # wait behind the webhook backlog alone, not behind those too (each a turn of the worker's queue rotation).
    purge_queues()
    with socket.create_server(("127.0.0.1", 0), backlog=1024) as silent:
        subscription = Subscription.objects.create(
            name="SIS",
            url=f"http://127.0.0.1:{silent.getsockname()[1]}/hook",
            events=["*"],
            secret_encrypted=crypto.encrypt("whsec_" + base64.b64encode(b"bench-webhook-secret-24b").decode()),
        )
        events = DomainEvent.objects.bulk_create(
            DomainEvent(type="enrollment.added", subject_type="enrollment", subject_id=str(n)) for n in range(backlog)
        )
        deliveries = Delivery.objects.bulk_create(Delivery(subscription=subscription, event=e) for e in events)
        for delivery in deliveries:
            webhook_deliver.delay(delivery.pk)
        worker = start_worker({})
        try:
            ids = submit(w, 5)
            deadline = time.monotonic() + backlog * 1.5 + 30
            while time.monotonic() < deadline and Score.objects.filter(pk__in=ids, posted_at__isnull=True).exists():
                time.sleep(0.2)
        finally:
            bc.stop_process(worker)  # type: ignore[arg-type]
            purge_queues()
            app.conf.task_routes = saved
            app.amqp._rtable = None
            app.amqp.__dict__.pop("router", None)
    delays = [
        ((s.posted_at or s.created_at + timedelta(days=1)) - s.created_at).total_seconds()
        for s in Score.objects.filter(pk__in=ids)
    ]
    return max(delays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scores", type=int, default=120)
    parser.add_argument("--outage", type=float, default=6.0)
    parser.add_argument("--backlog", type=int, default=40)
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")):
        raise SystemExit("bench/faults.py needs DATABASE_URL (PostgreSQL) and REDIS_URL: it cuts a worker off them.")
    os.environ.setdefault("CELERY_BROKER_URL", os.environ["REDIS_URL"])
    # The in-process platform fetches the tool's JWKS on loopback (core.http refuses that unless listed).
    os.environ["HTTP_ALLOWED_PRIVATE_HOSTS"] = "127.0.0.1,localhost"
    for name in ("GRADING_LEASE_SECONDS", "GRADING_SWEEP_SECONDS"):  # the sweep here reads them too
        os.environ[name] = WORKER_ENV[name]
    with bc.own_database(DB_NAME):
        var_dir = bc.setup_django(prefix="lms-faults-")
        try:
            purge_queues()
            print(f"machine: {bc.machine()}")
            ours = run_outages(args.scores, args.outage, sweep=True)
            print(f"outages, ours: {ours}")
            base = run_outages(args.scores, args.outage, sweep=False)
            print(f"outages, nothing re-queuing a failed task (no sweep, GRADING_DATABASE_RETRIES=0): {base}")
            delay = run_backlog(args.backlog, one_queue=False)
            delay_base = run_backlog(args.backlog, one_queue=True)
            print(f"webhook backlog: longest score delay {delay:.2f} s (one queue: {delay_base:.2f} s)")
        finally:
            bc.cleanup(var_dir)
    # Lost and twice: 0 is the goal, so the ratio compares (baseline + 1) / (ours + 1).
    bc.result(
        "faults_scores_lost_vs_no_requeue",
        ours["lost"],
        "scores",
        base["lost"],
        (base["lost"] + 1) / (ours["lost"] + 1),
    )
    bc.result(
        "faults_scores_posted_twice_vs_no_requeue",
        ours["twice"],
        "scores",
        base["twice"],
        (base["twice"] + 1) / (ours["twice"] + 1),
    )
    for key, name in (("drain_db", "database"), ("drain_broker", "broker")):
        bc.result(
            f"faults_drain_after_{name}_outage_vs_no_requeue", ours[key], "s", base[key], bc.ratio(base[key], ours[key])
        )
    bc.result(
        "faults_score_delay_behind_webhook_backlog_vs_one_queue", delay, "s", delay_base, bc.ratio(delay_base, delay)
    )
    bc.print_results()


if __name__ == "__main__":
    main()
