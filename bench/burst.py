"""Class-start burst (issue 18): a large course launches a quiz at once, autosaves, and submits at a deadline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/burst.py            # 2,000 students within 60 s, then the capacity steps
    ... bench/burst.py --quick                     # 200 students within 20 s, short capacity steps
    ... bench/burst.py --no-capacity               # the burst only

Needs PostgreSQL and Redis (its own database ``wt_burst_bench``, dropped at the end). Both sides run under
gunicorn with ``lti_config/gunicorn_conf.py`` (sync workers sized for the cores):

- ours: ``lti_config.wsgi`` and a real Celery worker (solo pool, every queue) on PostgreSQL + Redis. A
  student logs in (OIDC login at the tool, auth at the sandbox platform, launch POST), starts the quiz
  (POST take, GET the attempt page), autosaves one answer every 10 s while the attempt lasts, and submits
  the whole form; the score goes through the outbox and the worker to the sandbox platform's gradebook.
- stock: pylti1p3 2.0.0's documented Django login and launch with ``set_public_key_caching``
  (bench/stock_site), and a plain form POST (``answer/``: ``from_cache`` and one INSERT) standing for the
  start, each autosave and the submit, at the same times (ours' start is two requests, the take POST and the
  attempt page; stock's one), none of the grading.

The load is open-loop: every request has a time on a schedule fixed before the run, and a pool of client
threads sends it then (or as soon as one is free). Latency is measured from the scheduled time, so a server
that falls behind is not excused by a generator that waited for it; the generator's own lag (a request sent
later than scheduled while a thread was free would not be) is reported, as is its CPU, apart from the
server's. The platform (OIDC auth, JWKS, AGS) runs in the bench's process: it stands in for Canvas and
its CPU is the generator's.

Server CPU per student: utime + stime from /proc of the gunicorn master and workers, the Celery worker,
and every PostgreSQL and Redis process on the machine, with the CPU of their children that ended meanwhile (a
closed connection's PostgreSQL server process counts in the postmaster's). PostgreSQL and Redis serve other
work too, so their CPU over an idle spell just before the window is taken as their background and subtracted.

Capacity: students arrive at a rate r for a few seconds, each launching, starting, autosaving once and
submitting (the steps are short: a student's requests within about 3 s); r starts low, doubles until a
step fails (an error, or p99 of any request >= 250 ms), then climbs from the last good rate in steps of
10%. Ours and stock alternate step by step.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bc

DB_NAME = "wt_burst_bench"
ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
P99_LIMIT_MS = 250.0
_FORM = re.compile(r'<form[^>]*action="([^"]+)"')
_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_QUESTION = re.compile(r'data-question="(\d+)"')


# Processes and their CPU ---------------------------------------------------------------------------


def pids_named(*names: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        if comm in names:
            found.append(int(entry))
    return found


def cpu_of(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError):  # gone (a PostgreSQL backend of another job that ended)
            out[pid] = bc.cpu_seconds(pid, reaped=True)  # the server processes of closed connections included
    return out


def shared_pids() -> list[int]:
    return pids_named("postgres", "redis-server")


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between the two readings (``cpu_of``) by a group of processes: a process started meanwhile counts
    from zero, and one that ended counts in its parent's reaped children (the group holds the parents: the
    postmaster, gunicorn's master), so its reading before is taken off."""
    return sum(after.values()) - sum(before.values())


@dataclass
class Servers:
    label: str
    own: Callable[[], list[int]]  # gunicorn master + workers (+ the Celery worker for ours)


def background_rate(seconds: float) -> float:
    """CPU seconds per second of PostgreSQL + Redis while this bench sends nothing (other jobs' load)."""
    before = cpu_of(shared_pids())
    time.sleep(seconds)
    return cpu_delta(before, cpu_of(shared_pids())) / seconds


# The load generator -----------------------------------------------------------------------------------


@dataclass(order=True)
class Event:
    at: float
    seq: int
    student: Any = field(compare=False)
    step: str = field(compare=False)


@dataclass
class Student:
    n: int
    spec: Any
    session: Any = None
    launch_id: str = ""
    attempt_url: str = ""
    questions: list[int] = field(default_factory=list)
    autosaves: list[float] = field(default_factory=list)  # offsets from t0
    submit_at: float = 0.0
    plan: list[tuple[float, str]] = field(default_factory=list)  # steps still to come, in order


class Load:
    """An open-loop schedule run by a pool of threads; each student's steps are in order (a step is put on
    the schedule when the previous one has answered, at its own planned time or at once if that is past)."""

    def __init__(self, side: Any, threads: int):
        self.side = side
        self.threads = threads
        self.heap: list[Event] = []
        self.cv = threading.Condition()
        self.seq = 0
        self.pending = 0
        self.latencies: dict[str, list[float]] = {}
        self.lags: list[float] = []
        self.errors: dict[str, int] = {}
        self.first_errors: list[str] = []
        self.t0 = 0.0
        self.last_submit_answered = 0.0

    def put(self, at: float, student: Student, step: str) -> None:
        with self.cv:
            self.seq += 1
            heapq.heappush(self.heap, Event(at, self.seq, student, step))
            self.pending += 1
            self.cv.notify()

    def worker(self) -> None:
        while True:
            with self.cv:
                while True:
                    if self.pending == 0:
                        return
                    if self.heap:
                        wait = self.heap[0].at - time.monotonic()
                        if wait <= 0:
                            event = heapq.heappop(self.heap)
                            break
                        self.cv.wait(min(wait, 0.05))
                    else:
                        self.cv.wait(0.05)
            lag = time.monotonic() - event.at
            try:
                next_steps = self.side.step(event.student, event.step)
                error = ""
            except Exception as exc:  # counted and shown: a refused or failed request is an error
                next_steps, error = [], f"{event.step}: {exc}"[:400]
            finished = time.monotonic()
            with self.cv:
                self.lags.append(lag)
                if error:
                    self.errors[event.step] = self.errors.get(event.step, 0) + 1
                    if len(self.first_errors) < 3:
                        self.first_errors.append(error)
                else:
                    self.latencies.setdefault(event.step, []).append(finished - event.at)
                    if event.step == "submit":
                        self.last_submit_answered = max(self.last_submit_answered, finished)
                self.pending -= 1
            if not error and next_steps:  # the student's next step, once this one has answered
                offset, step = next_steps[0]
                event.student.plan = next_steps[1:]
                self.put(max(self.t0 + offset, time.monotonic()), event.student, step)
            with self.cv:
                self.cv.notify_all()

    def run(self, students: list[Student], arrivals: list[float]) -> float:
        self.t0 = time.monotonic() + 0.5
        for student, offset in zip(students, arrivals, strict=True):
            self.put(self.t0 + offset, student, "launch")
        threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(self.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.monotonic() - self.t0

    def total_errors(self) -> int:
        return sum(self.errors.values())

    def p(self, step: str, q: float) -> float:
        return bc.percentile([x * 1000 for x in self.latencies.get(step, [])], q)

    def p99_all(self) -> float:
        return bc.percentile([x * 1000 for v in self.latencies.values() for x in v], 99)


def login_launch(session: Any, platform: Any, spec: Any) -> Any:
    """OIDC login at the tool, auth at the platform (in this process: it is Canvas's work), launch POST."""
    login = session.get(platform.login_initiation_url(spec), allow_redirects=False, timeout=60)
    if login.status_code != 302:
        raise RuntimeError(f"login answered {login.status_code}: {login.text[:200]}")
    query = {k: v[0] for k, v in parse_qs(urlparse(login.headers["Location"]).query).items()}
    action, fields = platform.authorize(query)
    return session.post(action, data=fields, allow_redirects=False, timeout=60)


class Ours:
    label = "ours"

    def __init__(self, platform: Any, tool: str, quiz_id: int):
        self.platform, self.tool, self.quiz_id = platform, tool, quiz_id

    def step(self, s: Student, step: str) -> list[tuple[float, str]]:
        import requests

        if step == "launch":
            s.session = requests.Session()
            r = login_launch(s.session, self.platform, s.spec)
            location = r.headers.get("Location", "")
            if r.status_code not in (302, 303) or "launch=" not in location:
                raise RuntimeError(f"launch answered {r.status_code}: {r.text[:200]}")
            s.launch_id = parse_qs(urlparse(location).query)["launch"][0]
            return [(0.0, "start")]
        if step == "start":
            r = s.session.post(
                f"{self.tool}/quizzes/{self.quiz_id}/take/",
                params={"launch": s.launch_id},
                allow_redirects=False,
                timeout=60,
            )
            if r.status_code not in (302, 303):
                raise RuntimeError(f"start answered {r.status_code}: {r.text[:200]}")
            s.attempt_url = self.tool + urlparse(r.headers["Location"]).path
            page = s.session.get(s.attempt_url, params={"launch": s.launch_id}, timeout=60)
            s.questions = [int(q) for q in dict.fromkeys(_QUESTION.findall(page.text))]
            if page.status_code != 200 or not s.questions:
                raise RuntimeError(f"attempt page answered {page.status_code}: {page.text[:200]}")
            return [(t, "autosave") for t in s.autosaves] + [(s.submit_at, "submit")]
        if step == "autosave":
            r = s.session.post(
                s.attempt_url + "answer/",
                data=json.dumps({"question": random.choice(s.questions), "response": [random.randrange(2)]}),
                headers={"X-LTI-Launch": s.launch_id, "Content-Type": "application/json", "Accept": "application/json"},
                timeout=60,
            )
            if r.status_code != 200 or not r.json().get("saved"):
                raise RuntimeError(f"autosave answered {r.status_code}: {r.text[:200]}")
            return s.plan
        if step == "submit":
            r = s.session.post(
                s.attempt_url + "submit/",
                data={f"q{q}": str(random.randrange(2)) for q in s.questions},
                headers={"X-LTI-Launch": s.launch_id, "Accept": "application/json"},
                timeout=60,
            )
            if r.status_code != 200 or not r.json().get("submitted"):
                raise RuntimeError(f"submit answered {r.status_code}: {r.text[:200]}")
            return []
        raise ValueError(step)


class Stock:
    label = "stock pylti1p3 (key caching), launch + plain form POST"

    def __init__(self, platform: Any, tool: str):
        self.platform, self.tool = platform, tool

    def post(self, s: Student, kind: str, fields: dict[str, str]) -> None:
        r = s.session.post(f"{self.tool}/answer/", data={"launch_id": s.launch_id, "kind": kind, **fields}, timeout=60)
        if r.status_code != 200 or r.text != "stored":
            raise RuntimeError(f"{kind} answered {r.status_code}: {r.text[:200]}")

    def step(self, s: Student, step: str) -> list[tuple[float, str]]:
        import requests

        if step == "launch":
            s.session = requests.Session()
            r = login_launch(s.session, self.platform, s.spec)
            if r.status_code != 200 or not r.text.startswith("launched "):
                raise RuntimeError(f"launch answered {r.status_code}: {r.text[:200]}")
            s.launch_id = r.text.split()[1]
            return [(0.0, "start")]
        if step == "start":
            self.post(s, "start", {})
            return [(t, "autosave") for t in s.autosaves] + [(s.submit_at, "submit")]
        if step == "autosave":
            self.post(s, "autosave", {"q1": str(random.randrange(2))})
            return s.plan
        if step == "submit":
            self.post(s, "submit", {f"q{q}": str(random.randrange(2)) for q in range(1, 6)})
            return []
        raise ValueError(step)


# The world: platforms, the tool's course and quiz, the servers ---------------------------------------


def keepalive_platform(tool: str, client_id: str, jwks: dict[str, Any]) -> tuple[Any, Any]:
    import passback

    from lms_tool.sandbox.platform import Platform
    from lms_tool.sandbox.server import PlatformServer

    routes = PlatformServer()  # its routing only, served with keep-alive by the passback bench's server
    server = passback.KeepAliveServer(routes, jwks)
    server.serve_here()  # the bench reads this platform's gradebook as scores arrive
    platform = Platform(
        base_url=server.base_url,
        tool_login_url=f"{tool}/lti/login/",
        tool_launch_url=f"{tool}/lti/launch/",
        tool_jwks_url=f"{server.base_url}/tool-jwks",
        client_id=client_id,
        family="canvas",
    )
    routes.platform = platform
    return platform, server


def course_enrol(platform: Any, students: int) -> tuple[Any, list[Any], Any]:
    from lms_tool.sandbox.platform import Person

    course = platform.add_course("course-burst", title="Burst 101")
    people = [
        platform.enrol(course, Person(f"s{n}", f"Student {n}", f"s{n}@example.edu", [ROLE + "Learner"]))
        for n in range(students)
    ]
    teacher = platform.enrol(course, Person("teacher", "Teacher", "t@example.edu", [ROLE + "Instructor"]))
    return course, people, teacher


def quiz_make(platform: Any, tool: str, teacher_spec: Any) -> int:
    """The teacher's real launch creates the course and link in the tool; the quiz is written through the
    product's services (``_common.quiz_published``)."""
    import requests

    r = login_launch(requests.Session(), platform, teacher_spec)
    if r.status_code != 302:
        raise RuntimeError(f"the teacher's launch answered {r.status_code}: {r.text[:300]}")
    return bc.quiz_published(parse_qs(urlparse(r.headers["Location"]).query)["launch"][0], title="Burst quiz")


def gunicorn_start(app: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """gunicorn with the deployment's configuration file (workers sized for the cores, its access log)."""
    with open(log, "ab") as err:
        proc = subprocess.Popen(  # our own interpreter and fixed arguments
            [PYTHON, "-m", "gunicorn", "-c", "python:lti_config.gunicorn_conf", app, "--bind", f"127.0.0.1:{port}"],
            env=env,
            cwd=bc.BASE_DIR,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn {app} exited: {log.read_text()[-2000:]}")
        if len(bc.children(proc.pid)) >= WORKERS:
            return proc
        time.sleep(0.2)
    bc.stop_process(proc)
    raise RuntimeError("gunicorn did not start")


PYTHON = bc.PYTHON
SETTLE_SECONDS = 0.3  # after a submit in the CPU-by-step timing: ours' score is in the gradebook well within it
WORKERS = 2 * (os.cpu_count() or 1) + 1  # what lti_config/gunicorn_conf.py picks


def celery_start(log: Path) -> subprocess.Popen[bytes]:
    import faults

    faults.purge_queues()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                PYTHON, "-m", "celery", "-A", "lti_config", "worker", "--pool=solo", "--loglevel=WARNING",
                "--without-heartbeat", "--without-gossip", "--without-mingle",
            ],
            cwd=bc.BASE_DIR,
            env={**os.environ, "AI_BASE_URL": "", "AI_MODEL": ""},
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    time.sleep(5)  # start-up (no readiness line at WARNING); tasks sent meanwhile wait in the queue
    return proc


# One run ------------------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    students: int
    load: Load
    wall: float
    server_cpu: float  # own processes
    split: str  # the same, per process group
    shared_cpu: float  # PostgreSQL + Redis, background subtracted
    shared_raw: float
    generator_cpu: float
    last_score_s: float = float("nan")

    @property
    def cpu_ms_per_student(self) -> float:
        return 1000 * (self.server_cpu + self.shared_cpu) / max(self.students, 1)

    def ok(self) -> bool:
        return self.load.total_errors() == 0 and self.load.p99_all() < P99_LIMIT_MS


def burst_plan(students: list[Student], window: float, deadline: float, spread: float, autosave: float) -> list[float]:
    """Arrivals spread evenly over ``window``; autosaves every ``autosave`` s from the arrival; submits in the
    last ``spread`` seconds before ``deadline`` (as in an exam); returns the arrival offsets."""
    arrivals = []
    rng = random.Random(18)
    for i, s in enumerate(students):
        arrive = window * i / max(len(students), 1)
        s.submit_at = deadline - rng.uniform(0, spread)
        s.autosaves = [arrive + autosave * k for k in range(1, 1000) if arrive + autosave * k < s.submit_at - 1]
        arrivals.append(arrive)
    return arrivals


def measure(
    side: Any,
    own_pids: Callable[[], dict[str, list[int]]],
    students: list[Student],
    arrivals: list[float],
    threads: int,
    background: float,
    scores_in: Callable[[], int] | None = None,
) -> Run:
    load = Load(side, threads)
    groups = own_pids()
    own0 = {name: cpu_of(pids) for name, pids in groups.items()}
    shared0, gen0 = cpu_of(shared_pids()), time.process_time()
    t_start = time.monotonic()
    wall = load.run(students, arrivals)
    last_score = float("nan")
    if scores_in is not None:
        expected = len(load.latencies.get("submit", []))
        give_up = time.monotonic() + 300
        while scores_in() < expected and time.monotonic() < give_up:
            time.sleep(0.05)
        if scores_in() >= expected:
            last_score = time.monotonic() - load.last_submit_answered
    elapsed = time.monotonic() - t_start
    by_group = {name: cpu_delta(own0[name], cpu_of(pids)) for name, pids in own_pids().items()}
    own = sum(by_group.values())
    split = ", ".join(f"{name} {v:.1f} s" for name, v in by_group.items())
    shared_raw = cpu_delta(shared0, cpu_of(shared_pids()))
    gen = time.process_time() - gen0
    shared = max(0.0, shared_raw - background * elapsed)
    return Run(side.label, len(students), load, wall, own, split, shared, shared_raw, gen, last_score)


def report(run: Run) -> None:
    lo = run.load
    print(f"   {run.label}: {run.students} students in {run.wall:.1f} s, errors {lo.total_errors()} {lo.errors or ''}")
    for step in ("launch", "start", "autosave", "submit"):
        n = len(lo.latencies.get(step, []))
        print(f"     {step:<9} n={n:<6} p50 {lo.p(step, 50):8.1f} ms   p99 {lo.p(step, 99):8.1f} ms")
    lags = [x * 1000 for x in lo.lags]
    print(
        f"     server CPU {run.server_cpu:.1f} s ({run.split}) + "
        f"PostgreSQL/Redis {run.shared_cpu:.1f} s (raw {run.shared_raw:.1f} s less background) = "
        f"{run.cpu_ms_per_student:.1f} ms per student; generator CPU {run.generator_cpu:.1f} s "
        f"(platform included, {100 * run.generator_cpu / max(run.wall, 1e-9) / (os.cpu_count() or 1):.0f}% of the "
        f"machine's CPU over the run); generator lag p50 {bc.percentile(lags, 50):.1f} ms p99 {bc.percentile(lags, 99):.1f} ms"
    )
    if run.last_score_s == run.last_score_s:
        print(f"     last score in the platform's gradebook {run.last_score_s:.2f} s after the last submit answered")
    for e in lo.first_errors:
        print(f"     error: {e}")


def capacity_step(side: Any, own_pids: Callable[[], dict[str, list[int]]], specs: list[Any], rate: float, seconds: float,
                  first: int, threads: int) -> tuple[Run, int]:  # fmt: skip
    n = max(1, round(rate * seconds))
    students = [Student(first + i, specs[(first + i) % len(specs)]) for i in range(n)]
    arrivals = [i / rate for i in range(n)]
    for s, a in zip(students, arrivals, strict=True):
        s.autosaves = [a + 1.0]
        s.submit_at = a + 2.5
    return measure(side, own_pids, students, arrivals, threads, 0.0), first + n


def cpu_by_step(
    side: Any, own_pids: Callable[[], dict[str, list[int]]], specs: list[Any], first: int, n: int, settle: float
) -> dict[str, dict[str, float]]:
    """Server CPU (ms) of each step, one student at a time on an otherwise idle server, by where it was spent:
    the gunicorn workers, the Celery worker (ours only) and PostgreSQL + Redis (every process of both on the
    machine). Each process's CPU is read before and after each step; after the submit the reading waits
    ``settle`` seconds, so the worker's posting of the score (and the database work it makes) falls in the
    submit. Clock ticks are 10 ms, so only the mean over ``n`` counts."""

    own = own_pids()  # gunicorn's and Celery's processes stay; PostgreSQL's are listed anew (a connection's may be new)

    def reading() -> dict[str, dict[int, float]]:
        return {name: cpu_of(pids) for name, pids in {**own, "database": shared_pids()}.items()}

    spent: dict[str, dict[str, float]] = {}
    for i in range(n):
        student = Student(first + i, specs[first + i])
        student.autosaves, student.submit_at = [0.0], 0.0
        for step in ("launch", "start", "autosave", "submit"):
            before = reading()
            side.step(student, step)
            if step == "submit":
                time.sleep(settle)
            after, by = reading(), spent.setdefault(step, {})
            for name in after:
                by[name] = by.get(name, 0.0) + cpu_delta(before[name], after[name])
    return {step: {name: 1000 * v / n for name, v in by.items()} for step, by in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which the students arrive")
    parser.add_argument("--deadline", type=float, default=80.0, help="the submit deadline, seconds from the start")
    parser.add_argument("--spread", type=float, default=10.0, help="submits fall in this many seconds before it")
    parser.add_argument("--threads", type=int, default=96, help="client threads of the load generator")
    parser.add_argument("--step-seconds", type=float, default=8.0, help="arrivals per capacity step")
    parser.add_argument("--start-rate", type=float, default=2.0, help="first capacity step, students/s")
    parser.add_argument("--max-steps", type=int, default=14)
    parser.add_argument("--no-capacity", action="store_true")
    parser.add_argument("--no-burst", action="store_true")
    parser.add_argument(
        "--step-cpu", type=int, default=100, help="students timed one at a time for CPU by step (0: skip)"
    )
    args = parser.parse_args()
    if args.quick:
        args.students, args.window, args.deadline, args.spread = 200, 20.0, 30.0, 5.0
        args.step_seconds, args.max_steps, args.step_cpu = 4.0, 8, 30
    if not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")):
        # Skipped rather than failed, so `make bench` on the embedded default goes on to the other scripts.
        print("bench/burst.py SKIPPED: it needs DATABASE_URL (PostgreSQL) and REDIS_URL (a Celery worker shares both)")
        return

    started = time.monotonic()
    with bc.own_database(DB_NAME):
        var_dir = bc.setup_django(prefix="lms-burst-")
        procs: list[subprocess.Popen[bytes]] = []
        try:
            run_all(args, var_dir, procs)
        finally:
            for proc in procs:
                bc.stop_process(proc)
            bc.cleanup(var_dir)
    print(f"\n(total {time.monotonic() - started:.0f} s)")
    bc.print_results()


def run_all(args: argparse.Namespace, var_dir: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    import launch as launch_bench
    from django.db import connection

    from lms_tool.lti import keys, registry
    from lms_tool.sandbox.platform import LaunchSpec
    from lms_tool.sandbox.services.ags import gradebook, line_item_add

    launch_bench.speed_up_platform_signing()  # the platform's signing is Canvas's work, not the tool's
    m = bc.machine()
    print(
        f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}, Python {m['python']}; PostgreSQL + Redis; "
        f"gunicorn {WORKERS} sync workers per side; load average {os.getloadavg()[0]:.2f}"
    )
    if not keys.jwks()["keys"]:
        keys.key_create()
    jwks = keys.jwks()
    pems = launch_bench.tool_key_pems()
    total = 30 + args.students + (0 if args.no_capacity else 20000)  # warm-up, burst, capacity steps

    # Ours.
    port = bc.free_port()
    tool = f"http://127.0.0.1:{port}"
    ours_platform, ours_server = keepalive_platform(tool, "burst-ours", jwks)
    registry.registration_upsert(
        issuer=ours_platform.issuer,
        client_id=ours_platform.client_id,
        auth_login_url=ours_platform.auth_url,
        auth_token_url=ours_platform.token_url,
        key_set_url=ours_platform.jwks_url,
        family="canvas",
        deployment_ids=["deployment-1"],
    )
    course, people, teacher = course_enrol(ours_platform, total)
    column = line_item_add(ours_platform, course, label="Burst quiz", resource_link_id="rl-quiz")
    env = {**os.environ, "TOOL_BASE_URL": tool, "AI_BASE_URL": "", "AI_MODEL": ""}
    procs.append(gunicorn_start("lti_config.wsgi", port, env, var_dir / "ours.log"))
    ours_gunicorn = procs[-1]
    procs.append(celery_start(var_dir / "celery.log"))
    celery = procs[-1]
    quiz_id = quiz_make(
        ours_platform, tool, LaunchSpec(teacher, course, resource_link_id="rl-quiz", lineitem_url=column)
    )
    ours_specs = [
        LaunchSpec(p, course, resource_link_id="rl-quiz", lineitem_url=column, custom={"activity": f"quiz:{quiz_id}"})
        for p in people
    ]
    ours = Ours(ours_platform, tool, quiz_id)

    def ours_pids() -> dict[str, list[int]]:
        return {
            "gunicorn": [ours_gunicorn.pid, *bc.children(ours_gunicorn.pid)],
            "Celery": [celery.pid, *bc.children(celery.pid)],
        }

    book = gradebook(ours_platform)

    def scores_in() -> int:
        return len(book.results)  # one result per (column, learner): a score posted twice counts once

    # Stock: its own platform (its own registration) and a table for the plain form POST.
    sport = bc.free_port()
    stool = f"http://127.0.0.1:{sport}"
    stock_platform, stock_server = keepalive_platform(stool, "burst-stock", jwks)
    scourse, speople, _ = course_enrol(stock_platform, total)
    stock_specs = [LaunchSpec(p, scourse, resource_link_id="rl-quiz") for p in speople]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE stock_answer (id bigserial PRIMARY KEY, sub text, kind text, body text, created_at timestamptz)"
        )
    conf = {
        "issuers": {
            stock_platform.issuer: {
                "default": True,
                "client_id": stock_platform.client_id,
                "auth_login_url": stock_platform.auth_url,
                "auth_token_url": stock_platform.token_url,
                "key_set_url": stock_platform.jwks_url,
                "key_set": None,
                "deployment_ids": ["deployment-1"],
            }
        },
        "private_key": pems[0],
        "public_key": pems[1],
    }
    senv = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "bench.stock_site.settings",
        "STOCK_LTI_CONF": json.dumps(conf),
        "STOCK_KEY_CACHING": "1",
        "STOCK_DATABASE_URL": os.environ["DATABASE_URL"],
        "PYTHONPATH": str(bc.BASE_DIR),
    }
    procs.append(gunicorn_start("django.core.wsgi:get_wsgi_application()", sport, senv, var_dir / "stock.log"))
    stock_gunicorn = procs[-1]
    stock = Stock(stock_platform, stool)

    def stock_pids() -> dict[str, list[int]]:
        return {"gunicorn": [stock_gunicorn.pid, *bc.children(stock_gunicorn.pid)]}

    # Warm both: imports, the first JWKS fetch, connections, in every worker (not measured).
    next_student = 0
    for side, pids, specs in ((ours, ours_pids, ours_specs), (stock, stock_pids, stock_specs)):
        warm, _ = capacity_step(side, pids, specs, 10.0, 3.0, 0, args.threads)
        if warm.load.total_errors():
            raise RuntimeError(f"{side.label}: warm-up failed: {warm.load.first_errors}")
    next_student = 30
    give_up = time.monotonic() + 120
    while scores_in() < 30 and time.monotonic() < give_up:  # the warm-up's 30 scores, before anything is timed
        time.sleep(0.1)
    print(f"warm-up: {scores_in()} scores of 30 in the gradebook")

    ours_scores = [scores_in()]
    burst: dict[str, Run] = {}
    if not args.no_burst:
        print(
            f"\n1. Burst: {args.students} students arriving evenly within {args.window:.0f} s; autosave every 10 s; "
            f"submits in the {args.spread:.0f} s before the deadline at {args.deadline:.0f} s; "
            f"{args.threads} client threads; latency from the scheduled time"
        )
        for side, pids, specs in ((ours, ours_pids, ours_specs), (stock, stock_pids, stock_specs)):
            background = background_rate(5.0)
            students = [Student(next_student + i, specs[next_student + i]) for i in range(args.students)]
            arrivals = burst_plan(students, args.window, args.deadline, args.spread, 10.0)
            before = scores_in()
            run = measure(
                side,
                pids,
                students,
                arrivals,
                args.threads,
                background,
                (lambda b=before: scores_in() - b) if side is ours else None,
            )
            print(f"   (PostgreSQL + Redis background before: {background:.3f} CPU s/s; load {os.getloadavg()[0]:.2f})")
            report(run)
            burst["ours" if side is ours else "stock"] = run
            if side is ours:
                ours_scores[0] += len(run.load.latencies.get("submit", []))
        next_student += args.students

    capacity: dict[str, float] = {}
    if not args.no_capacity:
        print(
            f"\n2. Capacity: {args.step_seconds:.0f} s of arrivals per step (launch, start, autosave at +1 s, submit "
            f"at +2.5 s); doubling until a step fails, then +10% from the last good rate; ours and stock alternate"
        )
        state = {
            "ours": {"side": ours, "pids": ours_pids, "specs": ours_specs, "rate": args.start_rate, "good": 0.0,
                     "bad": 0.0, "done": False},
            "stock": {"side": stock, "pids": stock_pids, "specs": stock_specs, "rate": args.start_rate, "good": 0.0,
                      "bad": 0.0, "done": False},
        }  # fmt: skip
        for _ in range(args.max_steps):
            if all(st["done"] for st in state.values()):
                break
            for name, st in state.items():
                if st["done"]:
                    continue
                rate = st["rate"]
                if next_student + rate * args.step_seconds + 10 > total:
                    st["done"] = True
                    continue
                run, next_student = capacity_step(
                    st["side"], st["pids"], st["specs"], rate, args.step_seconds, next_student, args.threads
                )
                if name == "ours":  # let the worker post this step's scores before the other side's step
                    ours_scores[0] += len(run.load.latencies.get("submit", []))
                    give_up = time.monotonic() + 60
                    while scores_in() < ours_scores[0] and time.monotonic() < give_up:
                        time.sleep(0.1)
                ok = run.ok()
                print(
                    f"   {name:<5} {rate:6.1f} students/s: errors {run.load.total_errors()}, p99 "
                    f"{run.load.p99_all():7.1f} ms (launch {run.load.p(('launch'), 99):.0f}, submit "
                    f"{run.load.p('submit', 99):.0f}), generator lag p99 "
                    f"{bc.percentile([x * 1000 for x in run.load.lags], 99):.0f} ms, load {os.getloadavg()[0]:.2f}"
                    f" -> {'ok' if ok else 'FAIL'}"
                )
                if ok:
                    st["good"] = max(st["good"], rate)
                    st["rate"] = rate * 2 if not st["bad"] else rate * 1.1
                else:
                    st["bad"] = rate
                    if st["good"] == 0.0 or rate <= st["good"] * 1.1 + 1e-9:
                        st["done"] = True
                    else:
                        st["rate"] = st["good"] * 1.1
                if st["bad"] and st["rate"] >= st["bad"] - 1e-9:
                    st["done"] = True
                time.sleep(1.0)
        capacity = {name: st["good"] for name, st in state.items()}
        print(f"   capacity: ours {capacity['ours']:.1f} students/s, stock {capacity['stock']:.1f} students/s")

    if args.step_cpu:
        print(
            f"\n3. Server CPU by step: {args.step_cpu} students one at a time, ours and stock alternating in blocks of "
            f"10; the submit's row waits {SETTLE_SECONDS} s after the answer, so ours' score posting (the Celery "
            f"worker, and the database work it makes) is in it; load average {os.getloadavg()[0]:.2f}"
        )
        sums: dict[str, dict[str, dict[str, float]]] = {"ours": {}, "stock": {}}
        for _ in range(max(1, args.step_cpu // 10)):
            for name, side, pids, specs in (
                ("ours", ours, ours_pids, ours_specs),
                ("stock", stock, stock_pids, stock_specs),
            ):
                if next_student + 10 > total:
                    break
                for step, by in cpu_by_step(side, pids, specs, next_student, 10, SETTLE_SECONDS).items():
                    summed = sums[name].setdefault(step, {})
                    for where, ms in by.items():
                        summed[where] = summed.get(where, 0.0) + ms
                next_student += 10
        blocks = max(1, args.step_cpu // 10)

        def split(name: str, step: str) -> str:
            by = {where: ms / blocks for where, ms in sums[name].get(step, {}).items()}
            parts = " + ".join(f"{where} {ms:.1f}" for where, ms in by.items())
            return f"{sum(by.values()):5.1f} ms ({parts})"

        for step in ("launch", "start", "autosave", "submit"):
            print(f"   {step:<9} ours {split('ours', step)}")
            print(f"   {'':<9} stock {split('stock', step)}")
        print(f"   (load average {os.getloadavg()[0]:.2f})")

    print(f"\n(load average at the end {os.getloadavg()})")
    ours_server.httpd.shutdown()
    stock_server.httpd.shutdown()
    if burst:
        o, s = burst["ours"], burst["stock"]
        bc.result("burst_errors_vs_stock", o.load.total_errors(), "errors", s.load.total_errors(), float("nan"))
        for step in ("launch", "submit"):
            ov, sv = o.load.p(step, 99), s.load.p(step, 99)
            bc.result(f"burst_p99_{step}_vs_stock", ov, "ms", sv, bc.ratio(sv, ov))
        bc.result(
            "burst_server_cpu_per_student_vs_stock",
            o.cpu_ms_per_student,
            "ms",
            s.cpu_ms_per_student,
            bc.ratio(s.cpu_ms_per_student, o.cpu_ms_per_student),
        )
        bc.result("burst_last_score_seconds", o.last_score_s, "s", float("nan"), float("nan"))
    if capacity:
        bc.result(
            "burst_capacity_students_per_s_vs_stock",
            capacity["ours"],
            "students/s",
            capacity["stock"],
            capacity["ours"] / capacity["stock"] if capacity["stock"] else float("nan"),
        )


if __name__ == "__main__":
    main()
