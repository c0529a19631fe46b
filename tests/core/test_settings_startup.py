"""Production refuses to start without its keys; development and test modes are explicit (lti_config/startup.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from lti_config.settings import BASE_DIR, envbool

SECRET = "k3y-" + "Zq9xW2vB7nR4tY6uI8oP1aS3dF5gH7jK9lM2nB4vC6xZ8" * 2
# What docs/production.md tells an admin to set (with BEHIND_TLS_PROXY, as docker-compose.yml does).
PRODUCTION = {
    "SECRET_KEY": SECRET,
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "DATABASE_URL": "postgres://lms:secret@db.internal:5432/lms",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "TOOL_BASE_URL": "https://lti.example.edu",
    "ALLOWED_HOSTS": "lti.example.edu",
    "BEHIND_TLS_PROXY": "true",
}


def run(code: list[str], var_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A fresh Python process with only ``env`` set (none of this test run's mode or keys)."""
    base = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return subprocess.run(
        [sys.executable, *code],
        env={**base, "VAR_DIR": str(var_dir), **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


WSGI = ["-c", "import lti_config.wsgi"]


@pytest.mark.parametrize("entry", ["lti_config.wsgi", "lti_config.asgi"])
def test_it_refuses_to_serve_in_production_without_keys(tmp_path: Path, entry: str) -> None:
    done = run(["-c", f"import {entry}"], tmp_path, DATABASE_URL=PRODUCTION["DATABASE_URL"])
    assert done.returncode != 0
    assert "Refusing to start in production without SECRET_KEY and FIELD_ENCRYPTION_KEYS" in done.stderr
    assert "docs/production.md" in done.stderr
    assert not (tmp_path / "secret_key").exists()  # no secret quietly made up under var/


def test_it_refuses_production_with_a_secret_key_but_no_field_encryption_keys(tmp_path: Path) -> None:
    done = run(WSGI, tmp_path, SECRET_KEY=SECRET)
    assert done.returncode != 0
    assert "without FIELD_ENCRYPTION_KEYS" in done.stderr


def test_it_refuses_a_field_encryption_key_that_is_not_a_fernet_key(tmp_path: Path) -> None:
    done = run(WSGI, tmp_path, SECRET_KEY=SECRET, FIELD_ENCRYPTION_KEYS=f"{Fernet.generate_key().decode()},oops")
    assert done.returncode != 0
    assert "key 2 of FIELD_ENCRYPTION_KEYS is not a Fernet key" in done.stderr


def test_it_serves_in_production_with_both_keys(tmp_path: Path) -> None:
    done = run(WSGI, tmp_path, **PRODUCTION)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("command", ["worker", "beat"])
def test_the_celery_worker_and_beat_refuse_to_start_in_production_without_keys(tmp_path: Path, command: str) -> None:
    done = run(
        ["-m", "celery", "-A", "lti_config", command, "--loglevel=WARNING", "--schedule", str(tmp_path / "beat")],
        tmp_path,
    )
    assert done.returncode == 1
    assert "Refusing to start in production without SECRET_KEY and FIELD_ENCRYPTION_KEYS" in done.stdout + done.stderr


def test_development_mode_reads_the_secret_that_secret_init_wrote_and_settings_write_nothing(tmp_path: Path) -> None:
    refused = run(WSGI, tmp_path, LMS_TOOL_MODE="development")
    assert refused.returncode != 0
    assert "manage.py secret_init" in refused.stderr
    assert not (tmp_path / "secret_key").exists()

    made = run(["manage.py", "secret_init"], tmp_path, LMS_TOOL_MODE="development")
    assert made.returncode == 0, made.stderr
    secret_file = tmp_path / "secret_key"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    secret = secret_file.read_text()
    assert len(secret) >= 50

    again = run(["manage.py", "secret_init"], tmp_path, LMS_TOOL_MODE="development")
    assert again.returncode == 0 and secret_file.read_text() == secret  # kept: sessions and keys stay readable
    served = run(
        ["-c", "import lti_config.wsgi; from django.conf import settings; print(settings.SECRET_KEY)"],
        tmp_path,
        LMS_TOOL_MODE="development",
    )
    assert served.returncode == 0, served.stderr
    assert served.stdout.strip() == secret


def test_secret_init_refuses_in_production(tmp_path: Path) -> None:
    done = run(["manage.py", "secret_init"], tmp_path)
    assert done.returncode != 0
    assert "production reads SECRET_KEY from the environment" in done.stderr
    assert not (tmp_path / "secret_key").exists()


def test_it_refuses_an_unknown_mode(tmp_path: Path) -> None:
    done = run(WSGI, tmp_path, LMS_TOOL_MODE="prod")
    assert done.returncode != 0
    assert "LMS_TOOL_MODE='prod'" in done.stderr


def test_envbool_refuses_a_typo_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEBUG", "ture")
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG='ture' is not a yes/no value"):
        envbool("DEBUG", False)
    for value, expected in [("Off", False), ("0", False), ("yes", True), ("ON", True), ("", True)]:
        monkeypatch.setenv("DEBUG", value)
        assert envbool("DEBUG", True) is expected


def test_a_typo_in_a_yes_no_variable_stops_start_up(tmp_path: Path) -> None:
    done = run(WSGI, tmp_path, **{**PRODUCTION, "BEHIND_TLS_PROXY": "ture"})
    assert done.returncode != 0
    assert "BEHIND_TLS_PROXY='ture' is not a yes/no value" in done.stderr


# Nothing may warn (clickjacking, security.W002, is silenced in settings: lms_tool.lti.framing sends the headers).
FRAMING: set[str] = set()


def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path: Path) -> None:
    done = run(["manage.py", "check", "--deploy"], tmp_path, **PRODUCTION)
    assert done.returncode == 0, done.stderr
    found = set(re.findall(r"\(([\w.]+\.[EWC]\d+)\)", done.stdout + done.stderr))
    assert found <= FRAMING, done.stdout + done.stderr


def test_check_deploy_fails_without_the_keys(tmp_path: Path) -> None:
    settings = {k: v for k, v in PRODUCTION.items() if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEYS"}}
    done = run(["manage.py", "check", "--deploy"], tmp_path, **settings)
    assert done.returncode != 0
    assert "lms_tool.E001" in done.stderr
    assert "SECRET_KEY and FIELD_ENCRYPTION_KEYS not set" in done.stderr
