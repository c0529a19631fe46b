"""Loaded with ``-p tests.mode`` (pyproject.toml) before Django reads its settings: pytest runs in the
explicit test mode (a fixed test secret, no keys needed), as `make test` does (lti_config/startup.py)."""

import os

os.environ.setdefault("LMS_TOOL_MODE", "test")
