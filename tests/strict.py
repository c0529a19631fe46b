"""In CI a missing component fails the run instead of skipping (``LMS_TOOL_REQUIRE_ALL=1``, set by .ci/run).

Locally the browser, PostgreSQL, Redis and real-worker tests may skip, each saying why; in CI a skip
of that kind would let a run pass with whole layers of the product untested.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Skips that stay skips even in CI: optional extras the product does not require.
OPTIONAL = ("fsrs[optimizer]", "the fsrs[optimizer] extra is installed here")


def strict() -> bool:
    return os.environ.get("LMS_TOOL_REQUIRE_ALL", "") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not (strict() and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if any(marker in reason for marker in OPTIONAL):
        return
    report.outcome = "failed"
    report.longrepr = f"LMS_TOOL_REQUIRE_ALL=1 (CI): a required component is missing, so this test may not skip: {reason}"
