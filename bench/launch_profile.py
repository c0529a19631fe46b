"""Where a login + launch pair, or a learner's quiz, spends the tool's CPU: cProfile on a CPU clock, in-process.

    DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python bench/launch_profile.py   # 300 repeat pairs
    .venv/bin/python bench/launch_profile.py --pairs 100 --top 40 --sort tottime
    ... bench/launch_profile.py --steps launch,start,autosave,submit --pairs 80   # bench/burst.py's learner
    ... bench/launch_profile.py --steps submit --pairs 3 --top 0 --queries         # and its SQL, statement by statement

The requests go through ``django.core.handlers.wsgi.WSGIHandler`` (every middleware, the URL resolver, the views,
the configured database and cache) exactly as gunicorn calls it, with environs built by Django's
``RequestFactory``; the platform's auth step (``Platform.authorize``, the sandbox platform signing the
id_token) runs outside the profile. With ``--steps launch`` (the default) the pairs are repeat launches of 20
learners. With quiz steps every learner is new and goes through the steps of ``bench/burst.py``: a first launch
(login + launch POST), the start (take POST + attempt page of a published 5-question quiz), one autosave and the
submit; only the named steps are timed and profiled. The clock is ``time.process_time``: CPU of this process, so
waiting on PostgreSQL or Redis is not counted (Redis's own CPU is not either). It prints the CPU per step measured
without the profiler (the profiler itself inflates it); on PostgreSQL, the CPU of this connection's server process
over the same learners (read from /proc, so PostgreSQL must run on this machine); then the profile's top
functions. It does not compare with a baseline (``bench/launch.py`` and ``bench/burst.py`` do) and prints no
RESULT line.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import sys
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bc

TOOL = "http://127.0.0.1:8000"
_QUESTION = re.compile(r'data-question="(\d+)"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    parser.add_argument("--callers", default="", help="also print the callers of functions matching this")
    parser.add_argument(
        "--steps",
        default="launch",
        help="comma-separated steps to profile: launch (login + launch), start (take POST + attempt page), "
        "autosave, submit (a learner's quiz, as bench/burst.py sends it)",
    )
    parser.add_argument("--match", default="", help="print only the functions whose file:line(name) matches this")
    parser.add_argument("--queries", action="store_true", help="print the SQL statements of one learner's steps")
    args = parser.parse_args()
    os.environ["TOOL_BASE_URL"] = TOOL
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    var_dir = bc.setup_django(prefix="lms-profile-")
    try:
        run(args)
    finally:
        bc.cleanup(var_dir)


def run(args: argparse.Namespace) -> None:
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory
    from django.test.utils import override_settings

    from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person
    from lms_tool.sandbox.server import PlatformServer

    server = PlatformServer().start()  # serves the platform's JWKS, fetched once (the tool caches it)
    platform, _ = bc.platform_registered(
        server.base_url, tool=(f"{TOOL}/lti/login/", f"{TOOL}/lti/launch/", f"{TOOL}/lti/jwks/"), family="canvas"
    )
    server.platform = platform
    course = platform.add_course("course-p", title="Profile 101")
    specs = [
        LaunchSpec(platform.enrol(course, Person(f"s-{i}", f"S {i}", f"s{i}@example.edu", [ROLE + "Learner"])), course)
        for i in range(20 + (0 if args.steps == "launch" else 42 + 2 * args.pairs))
    ]
    handler = WSGIHandler()
    factory = RequestFactory(HTTP_HOST="127.0.0.1:8000")

    def call(environ: dict[str, Any]) -> tuple[str, dict[str, str], list[str]]:
        got: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            got["status"], got["headers"] = status, headers

        body = handler(environ, start_response)
        b"".join(body)
        body.close()
        headers = dict(got["headers"])
        cookies = [v for k, v in got["headers"] if k.lower() == "set-cookie"]
        return got["status"], headers, cookies

    def login_environ(spec: Any) -> dict[str, Any]:
        url = urlparse(platform.login_initiation_url(spec))
        return factory.get(url.path, {k: v[0] for k, v in parse_qs(url.query).items()}).environ

    def login(environ: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        status, headers, set_cookies = call(environ)
        assert status.startswith("302"), status
        jar = SimpleCookie()
        for raw in set_cookies:
            jar.load(raw)
        query = {k: v[0] for k, v in parse_qs(urlparse(headers["Location"]).query).items()}
        return query, {k: m.value for k, m in jar.items()}

    def launch_environ(fields: dict[str, str], cookies: dict[str, str]) -> dict[str, Any]:
        # As a browser posts the platform's auto-submitted form: urlencoded, with the state cookie.
        cookie_header = "; ".join(f"{k}={v}" for k, v in cookies.items())
        return factory.post(
            "/lti/launch/",
            urlencode(fields),
            content_type="application/x-www-form-urlencoded",
            HTTP_COOKIE=cookie_header,
        ).environ

    def launched(spec: Any) -> str:
        query, cookies = login(login_environ(spec))
        _, fields = platform.authorize(query)
        status, headers, _ = call(launch_environ(fields, cookies))
        assert status.startswith("302"), status
        return parse_qs(urlparse(headers["Location"]).query)["launch"][0]

    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    quiz_id = quiz_make(platform, course, launched) if set(steps) - {"launch"} else 0

    class Learner:
        def __init__(self, spec: Any):
            self.spec, self.launch_id, self.attempt_path, self.questions = spec, "", "", [0]

    def do(step: str, learner: Learner, environ: dict[str, Any] | None) -> None:
        """One step of ``bench/burst.py``'s learner; ``environ`` is pre-built where it can be."""
        if step == "launch":
            status, headers, _ = call(environ or {})
            assert status.startswith("302") and "launch=" in headers.get("Location", ""), (status, headers)
            learner.launch_id = parse_qs(urlparse(headers["Location"]).query)["launch"][0]
        elif step == "take":
            path = f"/quizzes/{quiz_id}/take/?launch={learner.launch_id}"
            status, headers, _ = call(factory.post(path).environ)
            assert status.startswith("30"), status
            learner.attempt_path = urlparse(headers["Location"]).path
        elif step == "page":
            got = call_body(factory.get(learner.attempt_path, {"launch": learner.launch_id}).environ)
            assert got[0].startswith("200"), got[0]
            learner.questions = [int(q) for q in dict.fromkeys(_QUESTION.findall(got[1]))] or [0]
        elif step == "autosave":
            environ = factory.post(
                learner.attempt_path + "answer/",
                json.dumps({"question": learner.questions[0], "response": [1]}),
                content_type="application/json",
                HTTP_X_LTI_LAUNCH=learner.launch_id,
                HTTP_ACCEPT="application/json",
            ).environ
            status, _, _ = call(environ)
            assert status.startswith("200"), status
        elif step == "submit":
            environ = factory.post(  # a form post, as bench/burst.py (requests' data=) and the page send it
                learner.attempt_path + "submit/",
                urlencode({f"q{q}": "1" for q in learner.questions}),
                content_type="application/x-www-form-urlencoded",
                HTTP_X_LTI_LAUNCH=learner.launch_id,
                HTTP_ACCEPT="application/json",
            ).environ
            status, _, _ = call(environ)
            assert status.startswith("200"), status

    def call_body(environ: dict[str, Any]) -> tuple[str, str]:
        got: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            got["status"] = status

        body = handler(environ, start_response)
        text = b"".join(body).decode()
        body.close()
        return got["status"], text

    order = ["launch", "start", "autosave", "submit"]
    wanted = [s for s in order if s in steps]

    def learner_run(spec: Any, profile: cProfile.Profile | None, cpu: dict[str, float]) -> None:
        """One learner through bench/burst.py's steps; only the wanted steps are timed and profiled (a quiz step
        needs the launch and the start before it, which then run untimed)."""
        learner = Learner(spec)

        def timed(step: str, action: Callable[[], Any]) -> Any:
            measured = step in wanted
            t0 = time.process_time()
            if profile and measured:
                profile.enable()
            try:
                return action()
            finally:
                if profile and measured:
                    profile.disable()
                if measured:
                    cpu[step] = cpu.get(step, 0.0) + time.process_time() - t0

        environ = login_environ(spec)
        query, cookies = timed("launch", lambda: login(environ))
        _, fields = platform.authorize(query)  # the platform's work, never timed
        environ = launch_environ(fields, cookies)
        timed("launch", lambda: do("launch", learner, environ))
        if set(wanted) - {"launch"}:
            timed("start", lambda: do("take", learner, None))
            timed("start", lambda: do("page", learner, None))
        for step in ("autosave", "submit"):
            if step in wanted:
                timed(step, lambda step=step: do(step, learner, None))

    with override_settings(ALLOWED_HOSTS=["127.0.0.1"], TOOL_BASE_URL=TOOL):
        # Warm up: imports, connections, caches; each person's first launch records them.
        # A quiz step needs learners without an attempt: each is then used once, as in bench/burst.py.
        fresh = args.steps != "launch"
        warm = specs[:40] if fresh else specs * 2

        def learner_at(i: int) -> Any:
            return specs[40 + i] if fresh else specs[i % len(specs)]

        for spec in warm:
            learner_run(spec, None, {})
        if args.queries:
            print_queries(lambda: learner_run(learner_at(2 * args.pairs + 1), None, {}), wanted)
        n = args.pairs
        cpu: dict[str, float] = {}
        server_process = _database_process()
        database0 = bc.cpu_seconds(server_process) if server_process else 0.0
        for i in range(n):
            learner_run(learner_at(i), None, cpu)
        database = bc.cpu_seconds(server_process) - database0 if server_process else 0.0
        print(
            "CPU per learner without the profiler: "
            + ", ".join(f"{step} {1000 * cpu[step] / n:.3f} ms" for step in wanted)
            + f" ({n} learners; load average {os.getloadavg()[0]:.2f})"
        )
        if server_process and server_process == _database_process():
            print(
                f"PostgreSQL's CPU for these learners' requests (all their steps, timed or not): "
                f"{1000 * database / n:.3f} ms per learner"
            )
        profile = cProfile.Profile(time.process_time)
        for i in range(n):
            learner_run(learner_at(n + i), profile, {})
        server.stop()
        stats = pstats.Stats(profile)
        print_by_package(stats, n)
        out = io.StringIO()
        restrictions = [args.match, args.top] if args.match else [args.top]
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(*restrictions)
        if args.callers:
            pstats.Stats(profile, stream=out).strip_dirs().sort_stats("tottime").print_callers(args.callers)
        print(out.getvalue())


def _database_process() -> int | None:
    """The PostgreSQL server process of this process's connection (same machine), or None on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def quiz_make(platform: Any, course: Any, launched: Callable[[Any], str]) -> int:
    """The quiz bench/burst.py makes: the teacher's real launch, then the product's services."""
    from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person

    teacher = platform.enrol(course, Person("t-1", "Teacher", "t@example.edu", [ROLE + "Instructor"]))
    return bc.quiz_published(launched(LaunchSpec(teacher, course)), title="Profile quiz")


def print_queries(run_one: Callable[[], None], wanted: list[str]) -> None:
    """The statements one learner's requests send, in order (the step boundaries are not marked)."""
    from django.db import connection

    statements: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        run_one()
    print(f"{len(statements)} statements for one learner's {', '.join(wanted)} (with the launch and start before):")
    for sql in statements:
        print("  ", sql[:220])


def print_by_package(stats: pstats.Stats, pairs: int) -> None:
    """Own (not cumulative) CPU per pair grouped by where the code lives: which layer to cut."""
    groups: dict[str, float] = {}
    for (filename, _, _), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        if "site-packages/" in filename:
            name = filename.split("site-packages/", 1)[1].split("/", 2)
            key = "/".join(name[:2]) if name[0] in {"django", "redis"} else name[0]
        elif "/lms_tool/" in filename:
            key = "lms_tool/" + filename.split("/lms_tool/", 1)[1].split("/", 1)[0]
        elif filename.startswith("~") or filename.startswith("<"):
            key = "builtins"
        else:
            key = "python stdlib" if "/lib/python" in filename else filename.rsplit("/", 1)[-1]
        groups[key] = groups.get(key, 0.0) + own
    total = sum(groups.values())
    print(f"own CPU under the profiler by package, per pair (total {1000 * total / pairs:.2f} ms):")
    for key, value in sorted(groups.items(), key=lambda kv: -kv[1])[:25]:
        print(f"  {key:<40} {1000 * value / pairs:7.3f} ms  {100 * value / total:5.1f}%")


if __name__ == "__main__":
    main()
