"""What the bench scripts share: Django on a throwaway database, timing, the machine, RESULT lines.

A bench script runs as ``.venv/bin/python bench/<name>.py`` (so this module imports as ``_common``).
``setup_django()`` points the project's own settings at a fresh directory under /tmp: an embedded
SQLite database and the database cache, unless ``DATABASE_URL`` / ``REDIS_URL`` are set, exactly as
the tool would run. Nothing in the work tree's ``var/`` is touched.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")


def setup_django(*, prefix: str = "lms-bench-") -> Path:
    """Set up the project's Django on a throwaway VAR_DIR (migrated, cache table created); returns it."""
    var_dir = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["VAR_DIR"] = str(var_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lti_config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Fixed, so the tool keys a DATABASE_URL database kept from an earlier run stay readable.
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret-3c1f0e9a7b5d4c2e8f6a1b0d9c7e5a3f")
    # Not production: the benchmark's gunicorn would refuse to start without FIELD_ENCRYPTION_KEYS.
    os.environ.setdefault("LMS_TOOL_MODE", "test")
    # The benchmark's platforms and servers listen on loopback, which core.http refuses unless listed.
    os.environ.setdefault("HTTP_ALLOWED_PRIVATE_HOSTS", "127.0.0.1,localhost")
    # A prefix of our own, so a shared Redis database is never read or cleared by mistake.
    os.environ["CACHE_KEY_PREFIX"] = f"bench{os.getpid()}"
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    with use_cache("database"):  # the embedded default's table, even when REDIS_URL is the cache
        call_command("createcachetable", verbosity=0)
    return var_dir


def cleanup(var_dir: Path) -> None:
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(var_dir, ignore_errors=True)


def cache_config(kind: str) -> dict[str, dict[str, Any]]:
    """A CACHES setting: ``locmem``, ``database`` (the embedded default) or ``redis`` (REDIS_URL)."""
    prefix = os.environ.get("CACHE_KEY_PREFIX", "bench")
    # Django's default MAX_ENTRIES (300) would cull the states seeded ahead of a series of launches.
    options = {"MAX_ENTRIES": 1_000_000}
    if kind == "locmem":
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": "bench",
                "OPTIONS": options,
            }
        }
    if kind == "database":
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                "LOCATION": "lms_cache",
                "KEY_PREFIX": prefix,
                "OPTIONS": options,
            }
        }
    if kind == "redis":
        return {
            "default": {
                # The product's backend (lti_config/settings.py): one client per pool, and the launch's pipeline.
                "BACKEND": "lms_tool.core.cache.RedisCache",
                "LOCATION": os.environ["REDIS_URL"],
                "KEY_PREFIX": prefix,
            }
        }
    raise ValueError(kind)


@contextlib.contextmanager
def use_cache(kind: str) -> Iterator[None]:
    """Swap the default cache for the block (Django resets its cache handlers on the settings change)."""
    from django.test.utils import override_settings

    with override_settings(CACHES=cache_config(kind)):
        yield


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_us(samples_ns: Sequence[int]) -> tuple[float, float]:
    """(median, p99) in microseconds."""
    us = [s / 1000 for s in samples_ns]
    return statistics.median(us), percentile(us, 99)


def ratio(baseline: float, ours: float) -> float:
    """Ours against the baseline where smaller is better: >1 means ours is better."""
    if ours == 0:
        return float("inf") if baseline > 0 else 1.0
    return baseline / ours


def fmt(value: float) -> str:
    if value == float("inf"):
        return "inf"
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


_results: list[str] = []


def result(name: str, value: float, unit: str, baseline: float, ratio_value: float) -> None:
    """Record a headline figure; ``print_results()`` prints them all at the end."""
    _results.append(f"RESULT {name} {fmt(value)} {unit} baseline={fmt(baseline)} ratio={fmt(ratio_value)}")


_spreads: list[str] = []


def spread(label: str, values: Sequence[float]) -> Sequence[float]:
    """Note the runs behind a median figure (printed with the results); returns ``values``."""
    shown = ", ".join(fmt(v) for v in values)
    _spreads.append(f"  {label}: {len(values)} runs [{shown}], spread {fmt(min(values))}..{fmt(max(values))}")
    return values


def print_results() -> None:
    if _spreads:
        print("runs behind the medians below:")
        for line in _spreads:
            print(line)
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    for line in _results:
        print(line)


def machine() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
                break
    return {"nproc": str(os.cpu_count()), "cpu": model, "memory": mem, "python": platform.python_version()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Processes -----------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (scans /proc: this kernel has no /proc/<pid>/task/<tid>/children)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU time of one process, from /proc/<pid>/stat (clock-tick resolution). ``reaped``: with its
    children that have ended and been waited for (a PostgreSQL connection's server process, once it closes, counts
    only there: read alone, the processes alive at two readings miss every one that started and ended between)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command name: state is fields[0], so utime (stat field 14) is fields[11], stime fields[12], and the
    # waited-for children's cutime and cstime (fields 16 and 17) fields[13] and fields[14].
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if reaped else 0)
    return ticks / CLK_TCK


def start_gunicorn(
    app: str, *, port: int, env: dict[str, str], workers: int = 2, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Serve ``app`` on 127.0.0.1:port with ``workers`` sync workers; waits until the workers exist.

    The server's stderr (Django's error log included) goes to ``log`` when given."""
    stderr = open(log, "ab") if log else None  # noqa: SIM115 - the child keeps it; closed with the process
    proc = subprocess.Popen(  # our own interpreter and fixed arguments
        [
            PYTHON,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--chdir",
            str(BASE_DIR),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=BASE_DIR,
        stderr=stderr,
    )
    if stderr is not None:
        stderr.close()  # the child has its own copy
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn {app} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            if len(children(proc.pid)) >= workers:
                return proc
        time.sleep(0.1)
    stop_process(proc)
    raise RuntimeError(f"gunicorn {app} did not start within 30 s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _server_url(url: str, dbname: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{dbname}"))


def _admin_sql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


@contextlib.contextmanager
def own_database(name: str) -> Iterator[bool]:
    """With a PostgreSQL DATABASE_URL, a fresh database ``name`` of the bench's own (DATABASE_URL points at it
    inside the block) dropped at the end; yields whether it is PostgreSQL (else the embedded SQLite default)."""
    base_url = os.environ.get("DATABASE_URL", "")
    postgres = base_url.startswith(("postgres://", "postgresql://"))
    if postgres:
        _admin_sql(base_url, f'DROP DATABASE IF EXISTS "{name}"')
        _admin_sql(base_url, f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = _server_url(base_url, name)
    try:
        yield postgres
    finally:
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            connections.close_all()
        if postgres:
            _admin_sql(base_url, f'DROP DATABASE IF EXISTS "{name}"')
            os.environ["DATABASE_URL"] = base_url


def platform_registered(base_url: str, *, tool: tuple[str, str, str], family: str = "other") -> tuple[Any, Any]:
    """A sandbox ``Platform`` answering at ``base_url`` that knows the tool's (login, launch, JWKS) URLs,
    registered with the tool as an admin would, with one deployment: what the passback, roster and faults
    benches share."""
    from lms_tool.lti import registry
    from lms_tool.sandbox.platform import Platform

    platform = Platform(
        base_url=base_url,
        tool_login_url=tool[0],
        tool_launch_url=tool[1],
        tool_jwks_url=tool[2],
    )
    registration, _ = registry.registration_upsert(
        issuer=platform.issuer,
        client_id=platform.client_id,
        auth_login_url=platform.auth_url,
        auth_token_url=platform.token_url,
        key_set_url=platform.jwks_url,
        family=family,
        deployment_ids=["deployment-1"],
    )
    return platform, registration


def quiz_published(launch_id: str, *, title: str) -> int:
    """A published quiz of 5 single-choice questions from a course text (the offline provider), written through
    the product's services in the course of the teacher's launch ``launch_id``; its id."""
    from django.conf import settings

    from lms_tool.lti import services as lti_services
    from lms_tool.lti.models import Context, LtiUser
    from lms_tool.quizzes import services

    launch = lti_services.launch_get(launch_id=launch_id)
    assert launch is not None, "the teacher's launch is not kept"
    settings.AI = {"BASE_URL": "", "MODEL": ""}
    text = (BASE_DIR / "tests/data/heart.md").read_text()
    context, user = Context.objects.get(pk=launch.context_pk), LtiUser.objects.get(pk=launch.user_pk)
    quiz, run = services.quiz_create(context=context, user=user, title=title, text=text, count=5, types=["single"])
    services.generation_execute(run_id=run.pk)  # or the Celery worker does it: either way, wait for the end
    give_up = time.monotonic() + 60
    while not run.is_finished and time.monotonic() < give_up:
        time.sleep(0.2)
        run.refresh_from_db()
    services.questions_approve_all(quiz=quiz, user=user)
    services.quiz_publish(quiz=quiz, user=user)
    return int(quiz.pk)
