"""Ralph, a real Learning Record Store, run by the tests from its own virtual env (``make ralph``).

``ralph runserver`` with the file-system backend on 127.0.0.1 and a free port; HTTP Basic users come
from an auth file of bcrypt hashes (Ralph's docs, "LRS authentication"). Statements are read back
through the xAPI API, and validated strictly with Ralph's own models of xAPI 1.0.3 (its POST is lax).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
RALPH_VENV = Path(os.environ.get("RALPH_VENV", ROOT / ".venv-ralph"))
USER, PASSWORD = "lms-tool", "lrs-secret-for-tests"

# Runs in Ralph's interpreter: every statement against the xAPI 1.0.3 model, errors out as JSON.
_VALIDATE = """
import json, sys
from pydantic import ValidationError
from ralph.models.xapi.base.statements import BaseXapiStatement
errors = {}
for statement in json.load(sys.stdin):
    try:
        BaseXapiStatement.model_validate(statement)
    except ValidationError as exc:
        errors[statement.get("id", "?")] = str(exc)
print(json.dumps(errors))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Ralph:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="xapi-ralph-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/xAPI"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def python(self) -> Path:
        return RALPH_VENV / "bin" / "python"

    def _auth_file(self) -> Path:
        # bcrypt at cost 4: a test's user, not a production password; Ralph caches a checked login anyway.
        hashed = subprocess.run(
            [
                str(self.python),
                "-c",
                f"import bcrypt; print(bcrypt.hashpw({PASSWORD!r}.encode(), bcrypt.gensalt(4)).decode())",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        path = self.dir / "auth.json"
        users = [
            {"agent": {"mbox": "mailto:lms-tool@example.org"}, "scopes": ["all"], "username": USER, "hash": hashed}
        ]
        path.write_text(json.dumps(users))
        return path

    def start(self, timeout: float = 60.0) -> Ralph:
        if not (RALPH_VENV / "bin" / "ralph").exists():
            raise RuntimeError(f"Ralph is not installed in {RALPH_VENV}: run `make ralph` (make test does it).")
        env = {
            **os.environ,
            "RALPH_AUTH_FILE": str(self._auth_file()),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(self.dir),
            # Ralph rewrites a "history" of every file it reads or writes, by default one file per user
            # (~/.config/ralph/history.json), whole, on each request. Two Ralphs at once (a test worker
            # each) tear it, and a Ralph that then loads the torn file answers 500 to every request.
            "RALPH_HISTORY_FILE": str(self.dir / "history.json"),
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent / "ralph_site")  # ralph_site/sitecustomize.py says why
        log = open(self.dir / "ralph.log", "wb")  # noqa: SIM115 - closed with the process
        # Its own session: runserver starts uvicorn with a reloader child, and stop() ends both.
        self.process = subprocess.Popen(
            [
                str(RALPH_VENV / "bin" / "ralph"),
                "runserver",
                "-b",
                "fs",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=self.dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Ralph exited: {self.log()}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/__lbheartbeat__", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Ralph did not start in {timeout}s: {self.log()}")

    def log(self) -> str:
        path = self.dir / "ralph.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.process = None
        if not os.environ.get("RALPH_KEEP"):  # RALPH_KEEP=1 leaves its store and log for a look
            shutil.rmtree(self.dir, ignore_errors=True)

    # xAPI reads ---------------------------------------------------------------------------------
    def get(self, path: str = "/statements", **params: Any) -> requests.Response:
        return requests.get(
            self.url + path,
            params=params,
            auth=(USER, PASSWORD),
            headers={"X-Experience-API-Version": "1.0.3"},
            timeout=10,
        )

    def statements(self, ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Every stored statement (following ``more``), or those with the given ids, in the order asked."""
        found: list[dict[str, Any]] = []
        response = self.get(limit=500)
        while True:
            assert response.status_code == 200, response.text
            page = response.json()
            found += page["statements"]
            more = page.get("more")
            if not more:
                break
            response = requests.get(
                f"http://127.0.0.1:{self.port}{more}",
                auth=(USER, PASSWORD),
                headers={"X-Experience-API-Version": "1.0.3"},
                timeout=10,
            )
        if ids is None:
            return found
        by_id: dict[str, list[dict[str, Any]]] = {}
        for statement in found:
            by_id.setdefault(statement["id"], []).append(statement)
        return [s for i in ids for s in by_id.get(i, [])]

    def validate(self, statements: list[dict[str, Any]]) -> dict[str, str]:
        """{statement id: error} for statements Ralph's xAPI 1.0.3 model refuses; {} when all are valid."""
        done = subprocess.run(
            [str(self.python), "-c", _VALIDATE],
            input=json.dumps(statements),
            capture_output=True,
            text=True,
            check=True,
        )
        return dict(json.loads(done.stdout))
