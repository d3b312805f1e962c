"""Whether the browser tests can run here: skip them, or fail in CI (TEST_REQUIRE_BROWSER=1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def _why_the_browser_cannot_run() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


def require_browser() -> None:
    """Call at the top of a browser test module, before importing Playwright.

    Skipped where Chromium is missing; CI sets TEST_REQUIRE_BROWSER=1 so that
    a broken image fails instead of passing with the browser tests skipped.
    """
    why_not = _why_the_browser_cannot_run()
    if why_not is None:
        return
    if os.environ.get("TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(
            f"TEST_REQUIRE_BROWSER=1 but the browser tests cannot run: {why_not}",
            pytrace=False,
        )
    pytest.skip(f"browser tests skipped: {why_not}", allow_module_level=True)
