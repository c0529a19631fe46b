"""Launch ids are bearer tokens: neither the access log nor the application's log ever shows one."""

from __future__ import annotations

import io
import json
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "query": "LaunchIdInTheQuery0000000000000000000000001",
    "referer": "LaunchIdInTheReferer00000000000000000000002",
    "header": "LaunchIdInTheHeader000000000000000000000003",
    "form": "LaunchIdInTheForm00000000000000000000000004",
    "token": "RegistrationToken000000000000000000000000005",
}


def _dockerfile_command() -> list[str]:
    line = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    return json.loads(line[4:])  # type: ignore[no-any-return]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_compose_web_service_runs_gunicorn_as_the_image_does():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["web"]["command"]
    gunicorn = shlex.split(shlex.split(command)[2].split("&&")[-1])

    assert gunicorn == _dockerfile_command()


def test_the_access_log_of_the_image_command_shows_paths_but_no_launch_id(tmp_path):
    command = _dockerfile_command()
    assert command[0] == "gunicorn"
    port = _free_port()
    args = [a.replace("0.0.0.0:8000", f"127.0.0.1:{port}") for a in command[1:]]
    args[args.index("--workers") + 1] = "1"
    log = tmp_path / "gunicorn.log"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(VAR_DIR=str(tmp_path), SECRET_KEY="test-only")  # an empty SQLite database: errors are logged too
    with log.open("wb") as out:
        server = subprocess.Popen(  # the image's command, on a free port
            [sys.executable, "-m", "gunicorn", *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(150):  # until it answers (or gave up: the assertion below says so)
                try:
                    requests.get(f"{base}/healthz", timeout=10)
                    break
                except requests.RequestException:
                    assert server.poll() is None, log.read_text()
                    time.sleep(0.2)
            requests.get(f"{base}/healthz", params={"launch": SECRETS["query"]}, timeout=10)
            requests.get(
                f"{base}/lti/activity/",
                params={"launch": SECRETS["query"]},
                headers={"Referer": f"{base}/quizzes/?launch={SECRETS['referer']}", "X-LTI-Launch": SECRETS["header"]},
                timeout=10,
            )
            requests.post(f"{base}/roster/sync/", data={"launch": SECRETS["form"]}, timeout=10)
            requests.get(f"{base}/lti/register/", params={"registration_token": SECRETS["token"]}, timeout=10)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    written = log.read_text()
    assert '"GET /healthz HTTP/1.1"' in written and '"GET /lti/activity/ HTTP/1.1"' in written, written
    assert '"POST /roster/sync/ HTTP/1.1"' in written and '"GET /lti/register/ HTTP/1.1"' in written
    for where, secret in SECRETS.items():
        assert secret not in written, f"the launch id sent in the {where} is in the log:\n{written}"


def _console_output(logger_name: str, message: str, *args: object) -> str:
    """What the configured console handler writes for one record of ``logger_name``."""
    logger = logging.getLogger(logger_name)
    handler = next(h for h in logging.getLogger().handlers + logger.handlers if isinstance(h, logging.StreamHandler))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        logger.warning(message, *args)
    finally:
        handler.setStream(previous)  # type: ignore[arg-type]
    return stream.getvalue()


def test_the_development_servers_request_lines_show_no_launch_id():
    # django.server logs runserver's request lines as "<request line>" <status> <size>.
    line = _console_output(
        "django.server", '"%s" %s %s', f"GET /lti/activity/?launch={SECRETS['query']}&x=1 HTTP/1.1", "200", "512"
    )

    assert '"GET /lti/activity/?launch=[redacted]&x=1 HTTP/1.1" 200 512' in line
    assert SECRETS["query"] not in line


def test_no_log_line_of_the_tool_shows_a_launch_id_or_registration_token():
    line = _console_output(
        "lms_tool.quizzes",
        "went to %s with headers %s",
        f"/quizzes/?launch={SECRETS['query']}&registration_token={SECRETS['token']}",
        {"X-LTI-Launch": SECRETS["header"]},
    )

    assert "/quizzes/?launch=[redacted]&registration_token=[redacted]" in line
    assert not any(secret in line for secret in SECRETS.values()), line
