"""Browser tests: the real server (``visselpipa init`` + ``visselpipa serve``) and Chromium.

The server runs as a subprocess exactly as an operator would start it, on
plain HTTP on 127.0.0.1 with SQLite in a temporary data directory and the
cheapest Argon2id. Chromium is Debian's (``/usr/bin/chromium``), driven by
Playwright with JavaScript disabled; no browser is ever downloaded.

The test modules skip themselves when Chromium is missing, or fail when
``TEST_REQUIRE_BROWSER=1`` (CI sets it).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.gate import CHROMIUM
from tests.live_server import REPO_ROOT, LiveServer, start_live_server

SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`visselpipa init` then `visselpipa serve` on a free port; stopped at teardown."""
    with start_live_server(tmp_path_factory.mktemp("live-server")) as server:
        yield server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[Any]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failing browser test, attach what the server wrote (its stderr)."""
    report = yield
    server = getattr(item, "funcargs", {}).get("live_server")
    if report.failed and isinstance(server, LiveServer):
        report.sections.append(("visselpipa serve output", server.output() or "(nothing)"))
    return report


# -- Chromium ----------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_context(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """Make fresh browser contexts (a reporter with JavaScript off); closed afterwards."""
    contexts: list[Any] = []

    def make(width: int = 1280, height: int = 900) -> Any:
        context = browser.new_context(
            base_url=live_server.url,
            java_script_enabled=False,
            locale="sv-SE",
            viewport={"width": width, "height": height},
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
