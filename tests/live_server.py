"""The real server for tests that need one: `visselpipa init` then `visselpipa serve`.

It runs as a subprocess exactly as an operator would start it, on plain HTTP
on 127.0.0.1 with SQLite in a temporary data directory and the cheapest
Argon2id (``settings={"plain_http": "0"}`` gives the production behaviour that
tests/deploy puts behind nginx). ``start_live_server`` takes extra settings and environment (for
example a temporary directory of its own, or an access log).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 20.0


# -- the real server ---------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes]
    #: The environment it runs with: `run_visselpipa(server.env, ...)` runs a
    #: command on the same deployment.
    env: dict[str, str] = field(default_factory=dict)

    def output(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
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
            "VISSELPIPA_INSECURE_TEST_KDF": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


def run_visselpipa(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `visselpipa ARGS` as an operator would, in ``env``; stdout and stderr captured."""
    return subprocess.run(
        _cli(*args), cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_KeepRedirects())


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
            with _NO_REDIRECTS.open(server.url + "/", timeout=2) as response:
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except urllib.error.HTTPError as e:
            if e.code in (301, 302):  # production settings: the app redirects to https
                return
            last_error = str(e)
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


@contextmanager
def start_live_server(
    base: Path,
    settings: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    workers: int = 1,
    threads: int | None = None,
    host: str = "127.0.0.1",
    new_session: bool = False,
) -> Iterator[LiveServer]:
    """`visselpipa init` then `visselpipa serve` on a free port; stopped on exit.

    ``threads`` is `serve --threads` (its default when None).
    ``host`` is the address it listens on (any of 127.0.0.0/8 works on Linux).
    With ``new_session`` the server and its workers form a process group of
    their own (its id is the server's pid), which a test may kill at once.
    Started again on the same ``base``, it serves the same data directory.
    """
    data_dir = base / "data"
    full_env = _server_env(data_dir)
    full_env.update({f"VISSELPIPA_{k.upper()}": v for k, v in (settings or {}).items()})
    full_env.update(env or {})
    init = subprocess.run(
        _cli("init"), cwd=REPO_ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )
    if init.returncode != 0:
        raise RuntimeError(
            f"`visselpipa init` failed with {init.returncode}:\n{init.stdout}\n{init.stderr}"
        )
    port = _free_port(host)
    log = base / "server.log"
    command = _cli("serve", "--host", host, "--port", str(port), "--workers", str(workers))
    if threads is not None:
        command += ["--threads", str(threads)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
    server = LiveServer(f"http://{host}:{port}", data_dir, log, process, full_env)
    try:
        _wait_until_serving(server)
        yield server
    finally:
        _stop(process)
