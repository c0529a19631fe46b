"""`make run`: migrate, prepare, then serve the tool with a Celery worker and beat beside it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from lms_tool.lti import keys, selectors
from lti_config.celery import QUEUES

if TYPE_CHECKING:
    from lms_tool.sandbox.embedded import SandboxServer


class Supervised:
    """A child process started again when it exits, waiting longer after each quick death (up to a minute)."""

    def __init__(self, args: list[str], *, env: dict[str, str], name: str, err: Any):
        self.args, self.env, self.name, self.err = args, env, name, err
        self.delay = 1.0
        self.restart_at: float | None = None
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        self.started = time.monotonic()
        return subprocess.Popen(self.args, env=self.env)  # noqa: S603 - our own interpreter and fixed arguments

    def check(self) -> None:
        """Called every half second: notice an exit, start it again once its wait is over."""
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restart_at = None
                self.process = self._start()
            return
        code = self.process.poll()
        if code is None:
            return
        if now - self.started > 60:
            self.delay = 1.0  # it had been running fine: this is a new problem, not a crash loop
        self.err(f"The {self.name} exited (code {code}); starting it again in {self.delay:.0f} s.")
        self.restart_at = now + self.delay
        self.delay = min(self.delay * 2, 60.0)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Command(BaseCommand):
    help = "Serve the tool with the embedded default: SQLite, database cache, filesystem Celery broker."

    def handle(self, *args: Any, **options: Any) -> None:
        port = os.environ.get("PORT", "8000")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        keys.active_kid()  # the first key pair, created on first run
        env = {**os.environ, "TOOL_BASE_URL": settings.TOOL_BASE_URL or f"http://127.0.0.1:{port}"}
        python = sys.executable
        # The worker (with the beat inside) consumes every queue; it is restarted if it dies
        # (docs/production.md, "Outages and queues").
        worker = Supervised(
            [
                python,
                "-m",
                "celery",
                "-A",
                "lti_config",
                "worker",
                "--beat",
                "--loglevel=INFO",
                "--concurrency=1",
                "--queues=" + ",".join(QUEUES),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--schedule",
                str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
            env=env,
            name="Celery worker and beat",
            err=self.stderr.write,
        )
        children = [
            subprocess.Popen(  # noqa: S603
                [
                    python,
                    "-m",
                    "gunicorn",
                    "-c",  # the access log without query strings, where launch ids travel
                    "python:lti_config.gunicorn_conf",
                    "lti_config.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "2",
                ],
                env=env,
            ),
        ]
        base = env["TOOL_BASE_URL"]
        urls = (
            selectors.tool_urls(None)
            if settings.TOOL_BASE_URL
            else {
                "login": f"{base}/lti/login/",
                "launch": f"{base}/lti/launch/",
                "jwks": f"{base}/lti/jwks/",
            }
        )
        sandbox = self._sandbox(base, int(port)) if settings.SANDBOX else None
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
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and all(child.poll() is None for child in children):
            worker.check()
            time.sleep(0.5)
        worker.stop()
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if sandbox is not None:
            sandbox.stop()

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
