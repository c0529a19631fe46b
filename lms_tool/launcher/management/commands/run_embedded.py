"""`make run`: migrate, prepare, then serve the tool with a Celery worker and beat beside it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from lms_tool.launcher.supervisor import Supervised
from lms_tool.lti import keys, selectors
from lti_config.celery import QUEUES

if TYPE_CHECKING:
    from lms_tool.sandbox.embedded import SandboxServer


def worker_args(python: str) -> list[str]:
    """One worker, with the beat inside, consuming every queue (production runs one pool per queue).

    ``--quiet`` leaves out Celery's banner, which would scroll the tool's URLs off the screen."""
    return [
        python,
        "-m",
        "celery",
        "-A",
        "lti_config",
        "--quiet",
        "worker",
        "--beat",
        "--loglevel=INFO",
        "--concurrency=1",
        "--queues=" + ",".join(QUEUES),
        # Gossip, mingle and heartbeat are what crashed a worker on a broker outage; nothing uses them.
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--schedule",
        str(settings.VAR_DIR / "celerybeat-schedule"),
    ]


# In a container `make run` is often root, and Celery then warns at length about superuser privileges
# (C_FORCE_ROOT); on a developer's machine that buries the URLs, and the embedded worker takes JSON only.
QUIET_ROOT_WARNING = "ignore:You're running the worker with superuser privileges"
# The banner is printed again once the worker has had this long to log its start-up lines.
REANNOUNCE_AFTER_SECONDS = 5.0


def worker_env(env: dict[str, str]) -> dict[str, str]:
    warnings = ",".join(w for w in (env.get("PYTHONWARNINGS", ""), QUIET_ROOT_WARNING) if w)
    return {**env, "PYTHONWARNINGS": warnings}


def web_args(python: str, port: str) -> list[str]:
    # The access log leaves out query strings, where launch ids travel (lti_config/gunicorn_conf.py).
    gunicorn = [python, "-m", "gunicorn", "-c", "python:lti_config.gunicorn_conf", "lti_config.wsgi"]
    return [*gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "2"]


class Command(BaseCommand):
    help = "Serve the tool with the embedded default: SQLite, database cache, filesystem Celery broker."

    def handle(self, *args: Any, **options: Any) -> None:
        port = os.environ.get("PORT", "8000")
        self._prepare()
        env = {**os.environ, "TOOL_BASE_URL": settings.TOOL_BASE_URL or f"http://127.0.0.1:{port}"}
        worker = Supervised(
            worker_args(sys.executable), env=worker_env(env), name="Celery worker and beat", err=self.stderr.write
        )
        web = subprocess.Popen(web_args(sys.executable, port), env=env)  # noqa: S603 - our interpreter, fixed args
        base = env["TOOL_BASE_URL"]
        sandbox = self._sandbox(base, int(port)) if settings.SANDBOX else None
        self._announce(base, sandbox)
        self._serve(worker, web, again=lambda: self._announce(base, sandbox))
        if sandbox is not None:
            sandbox.stop()

    def _prepare(self) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        keys.active_kid()  # the first key pair, created on first run

    def _announce(self, base: str, sandbox: SandboxServer | None) -> None:
        urls = (
            selectors.tool_urls(None)
            if settings.TOOL_BASE_URL
            else {"login": f"{base}/lti/login/", "launch": f"{base}/lti/launch/", "jwks": f"{base}/lti/jwks/"}
        )
        self.stdout.write(
            "\nThe tool is running.\n"
            f"  Home page:        {base}/\n"
            f"  OIDC login URL:   {urls['login']}\n"
            f"  Launch URL:       {urls['launch']}\n"
            f"  JWKS URL:         {urls['jwks']}\n"
            f"  Admin:            {base}/admin/  (create a user: .venv/bin/python manage.py createsuperuser)\n"
            + (
                f"  Sandbox platform: {sandbox.url}  (try the tool without an LMS: Canvas-like and Moodle-like)\n"
                if sandbox
                else ""
            )
            + "Press Ctrl+C to stop.\n"
        )

    def _serve(self, worker: Supervised, web: subprocess.Popen[bytes], again: Callable[[], None]) -> None:
        """Until Ctrl+C or the web server exits: restart the worker whenever it dies; then stop both.

        ``again`` prints the banner once more when the worker and web server have logged their start."""
        stopping = False
        announce_at: float | None = time.monotonic() + REANNOUNCE_AFTER_SECONDS

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and web.poll() is None:
            worker.check()
            if announce_at is not None and time.monotonic() >= announce_at:
                announce_at = None
                again()
            time.sleep(0.5)
        worker.stop()
        if web.poll() is None:
            web.terminate()
        try:
            web.wait(timeout=10)
        except subprocess.TimeoutExpired:
            web.kill()

    def _sandbox(self, tool_url: str, port: int) -> SandboxServer | None:
        """Start the sandbox platforms (settings.SANDBOX) and register them; None, said why, when they cannot start."""
        from lms_tool.sandbox.embedded import sandbox_start

        sandbox_port = settings.SANDBOX_PORT or port + 1
        try:
            return sandbox_start(tool_url=tool_url, port=sandbox_port, state_dir=settings.VAR_DIR / "sandbox")
        except OSError as exc:
            self.stderr.write(
                f"The sandbox could not listen on 127.0.0.1:{sandbox_port} ({exc.strerror}); set SANDBOX_PORT."
            )
            return None
