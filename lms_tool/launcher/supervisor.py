"""Child processes of `make run` that come back when they die (docs/production.md, "Outages and queues")."""

from __future__ import annotations

import subprocess
import time
from typing import Any


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
