"""Where a login + launch pair spends the tool's CPU: cProfile on a CPU clock, in-process, on the WSGI path.

    DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python bench/launch_profile.py   # 300 pairs
    .venv/bin/python bench/launch_profile.py --pairs 100 --top 40 --sort tottime

The pairs go through ``django.core.handlers.wsgi.WSGIHandler`` (every middleware, the URL resolver, the views,
the configured database and cache) exactly as gunicorn calls it, with environs built by Django's
``RequestFactory``; the platform's auth step (``Platform.authorize``, the sandbox platform signing the
id_token) runs outside the profile. The clock is ``time.process_time``: CPU of this process, so waiting on
PostgreSQL or Redis is not counted (their own CPU is not either). It prints the CPU per pair measured without
the profiler (the profiler itself inflates it) and the profile's top functions; it does not compare with a
baseline (``bench/launch.py`` does) and prints no RESULT line.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bc

TOOL = "http://127.0.0.1:8000"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    parser.add_argument("--callers", default="", help="also print the callers of functions matching this")
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
        for i in range(20)
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

    def launch(environ: dict[str, Any]) -> None:
        status, headers, _ = call(environ)
        assert status.startswith("302") and "launch=" in headers.get("Location", ""), (status, headers)

    prepared: list[tuple[dict[str, str], dict[str, str], dict[str, str]]] = []

    def prepare(n: int) -> None:
        prepared.clear()
        for i in range(n):
            query, cookies = login(login_environ(specs[i % len(specs)]))
            _, fields = platform.authorize(query)
            prepared.append((query, fields, cookies))

    with override_settings(ALLOWED_HOSTS=["127.0.0.1"], TOOL_BASE_URL=TOOL):
        # Warm up: the first launch of each person records them; imports and connections are made.
        prepare(len(specs) * 2)
        for _, fields, cookies in prepared:
            launch(launch_environ(fields, cookies))

        # Unprofiled CPU: logins and launches timed apart (the platform's signing between them is not counted).
        login_cpu = launch_cpu = 0.0
        n = args.pairs
        for i in range(n):
            environ = login_environ(specs[i % len(specs)])
            t0 = time.process_time()
            query, cookies = login(environ)
            login_cpu += time.process_time() - t0
            _, fields = platform.authorize(query)
            environ = launch_environ(fields, cookies)
            t0 = time.process_time()
            launch(environ)
            launch_cpu += time.process_time() - t0
        print(
            f"CPU per pair without the profiler: {1000 * (login_cpu + launch_cpu) / n:.3f} ms "
            f"(login {1000 * login_cpu / n:.3f} ms, launch {1000 * launch_cpu / n:.3f} ms; {n} pairs; "
            f"load average {os.getloadavg()[0]:.2f})"
        )

        profile = cProfile.Profile(time.process_time)
        for i in range(n):
            environ = login_environ(specs[i % len(specs)])
            profile.enable()
            query, cookies = login(environ)
            profile.disable()
            _, fields = platform.authorize(query)
            environ = launch_environ(fields, cookies)
            profile.enable()
            launch(environ)
            profile.disable()
        server.stop()
        stats = pstats.Stats(profile)
        print_by_package(stats, n)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).strip_dirs().sort_stats(args.sort).print_stats(args.top)
        if args.callers:
            pstats.Stats(profile, stream=out).strip_dirs().sort_stats("tottime").print_callers(args.callers)
        print(out.getvalue())


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
