"""Browser fixtures: Playwright for Python driving Debian's chromium (never a downloaded browser).

``browser`` (session) skips with a visible reason when chromium or Playwright is missing; ``context``
and ``page`` are fresh per test. Third-party cookies are blocked, as Safari and Chrome increasingly
do: Playwright's contexts are off-the-record profiles, where Chromium blocks unpartitioned
third-party cookies by default (checked: a ``SameSite=None; Secure`` cookie set in a cross-site
iframe is not sent back; only a ``Partitioned`` one is), and the phase-out flag asks for the same
where a build's defaults differ.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    # Chrome's third-party cookie phase-out: cross-site iframes get no unpartitioned cookies.
    "--test-third-party-cookie-phaseout",
    # Cross-site iframes in the page's own renderer process. With out-of-process iframes, Playwright
    # driving Debian's chromium 156 now and then leaves an iframe navigation fetched but never
    # committed (about 1 run in 5 of the platform-storage launch; 0 in 25 without). Cookie
    # partitioning, postMessage and frame names do not depend on the process model.
    "--disable-site-isolation-trials",
    "--disable-features=IsolateOrigins,site-per-process",
]
# Playwright's sync API keeps an event loop in the test thread; the test's own ORM calls are still
# synchronous, so Django's async-safety guard would refuse them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip(f"chromium is not installed at {CHROMIUM} (apt-get install chromium): browser tests skipped")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt): browser tests skipped")
    with sync_playwright() as playwright:
        try:
            instance = playwright.chromium.launch(
                executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
                args=CHROMIUM_ARGS,
                headless=True,
            )
        except Error as exc:
            pytest.skip(f"chromium could not start: {str(exc).splitlines()[0]}")
        yield instance
        instance.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def wait_shown(page: Any, frame_name: str, locator: Any) -> None:
    """Wait up to 30 s for ``locator``; on timeout say where the frame (by name; "" = the page) stopped."""
    try:
        locator.wait_for(timeout=30_000)
    except Exception as exc:
        frame = page.frame(name=frame_name) if frame_name else page.main_frame
        text = frame.inner_text("body")[:500] if frame else "(no frame)"
        raise AssertionError(f"{exc.__class__.__name__}; frame at {frame.url if frame else '?'}: {text}") from exc


# Impacts that fail a page. "moderate" and "minor" findings are reported by axe too, but are often
# best-practice advice (a region landmark, say) rather than a barrier.
AXE_FAILING_IMPACTS = ("serious", "critical")
# Experimental in axe-core, so off by default; on here because it caught the flashcard rating buttons
# (WCAG 2.5.3 Label in Name: a button's accessible name contains its visible text).
AXE_OPTIONS = {"resultTypes": ["violations"], "rules": {"label-content-name-mismatch": {"enabled": True}}}


def axe_check(target: Any, *, what: str) -> None:
    """Run axe-core in ``target`` (a Page or a Frame) and fail on any serious or critical violation.

    axe-core comes bundled in the PyPI package ``axe-playwright-python`` (its ``axe.min.js``): nothing is
    fetched at run time. Playwright evaluates it through the DevTools protocol, so the tool's
    Content-Security-Policy (no inline scripts) does not stop it."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        pytest.skip("axe-playwright-python is not installed (pip install -r requirements-dev.txt)")
    results = Axe().run(target, options=AXE_OPTIONS)
    failing = [v for v in results.response["violations"] if v.get("impact") in AXE_FAILING_IMPACTS]
    report = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in failing
    )
    assert not failing, f"axe-core found {len(failing)} serious or critical violation(s) on {what}:\n{report}"
