"""Browser tests: the real server (``visselpipa init`` + ``visselpipa serve``) and Chromium.

The server runs as a subprocess exactly as an operator would start it, on
plain HTTP on 127.0.0.1 with SQLite in a temporary data directory and the
cheapest Argon2id. Chromium is Debian's (``/usr/bin/chromium``), driven by
Playwright with JavaScript disabled; no browser is ever downloaded.

The test modules skip themselves when Chromium is missing, or fail when
``TEST_REQUIRE_BROWSER=1`` (CI sets it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
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
START_TIMEOUT_S = 20.0


# -- the real server ---------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    def output(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _server_env(data_dir: Path) -> dict[str, str]:
    # Drop every VISSELPIPA_ variable of the surrounding shell: the server must
    # see exactly this deployment (and unknown ones would stop it).
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISSELPIPA_")}
    env.update(
        {
            "VISSELPIPA_DATA_DIR": str(data_dir),
            "VISSELPIPA_PLAIN_HTTP": "1",
            "VISSELPIPA_KDF_TIME_COST": "1",
            "VISSELPIPA_KDF_MEMORY_KIB": "8",
            "VISSELPIPA_KDF_PARALLELISM": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


def _wait_until_serving(server: LiveServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last_error = ""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"`visselpipa serve` exited with {server.process.returncode} before "
                f"answering:\n{server.output()}"
            )
        try:
            with urllib.request.urlopen(server.url + "/", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
            last_error = str(e)
        time.sleep(0.1)
    raise RuntimeError(
        f"`visselpipa serve` did not answer on {server.url} within {START_TIMEOUT_S:.0f} s "
        f"(last error: {last_error}):\n{server.output()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`visselpipa init` then `visselpipa serve` on a free port; stopped at teardown."""
    base = tmp_path_factory.mktemp("live-server")
    data_dir = base / "data"
    env = _server_env(data_dir)
    init = subprocess.run(
        _cli("init"), cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if init.returncode != 0:
        raise RuntimeError(
            f"`visselpipa init` failed with {init.returncode}:\n{init.stdout}\n{init.stderr}"
        )
    port = _free_port()
    log = base / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            _cli("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", data_dir, log, process)
    try:
        _wait_until_serving(server)
        yield server
    finally:
        _stop(process)


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
