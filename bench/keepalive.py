"""GET /report at 8 keep-alive connections with Debian's `wrk`, direct and through nginx.

Not part of the test suite. Run::

    .venv/bin/python bench/keepalive.py [--runs 5] [--duration 10] [--connections 8]
                                        [--workers N] [--threads 4] [--path /report]

It runs ``visselpipa init`` and ``visselpipa serve --workers N --threads T``
(SQLite in a temporary data directory, the production settings: no plain
HTTP, ``__Host-`` cookies) and the shipped nginx site in front of it
(deploy/nginx, rewritten into a temporary prefix exactly as
tests/deploy/conftest.py does, with a self-signed certificate, and
``worker_processes auto`` as in Debian's nginx.conf). Then, after a 3 s
warm-up each:

- **direct**: ``wrk`` against gunicorn on 127.0.0.1, with the header
  ``X-Forwarded-Proto: https`` that nginx adds (otherwise the app redirects
  to HTTPS);
- **nginx**: ``wrk`` against nginx's HTTPS port (TLS, HTTP/1.1 keep-alive;
  nginx keeps its own connections to the app alive).

``wrk`` keeps no cookies: every request is a first visit (a new session
cookie, a new CSRF token), the most expensive GET a reporter makes. Each
configuration runs ``--runs`` times for ``--duration`` seconds; the median
requests/s is printed with every run, the non-2xx count (must be 0) and
the ratio to GlobaLeaks' 661 requests/s (issue 15, same machine class).
wrk runs on the same cores as the server and takes its share of them.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.deploy.conftest import SERVER_NAME, nginx_site, running_nginx  # noqa: E402
from tests.live_server import start_live_server  # noqa: E402

GLOBALEAKS_RPS = 661


def _wrk(url: str, seconds: int, connections: int, headers: list[str]) -> tuple[float, int]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s"]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None:
        raise RuntimeError(f"wrk printed no Requests/sec:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if errors:
        print(f"    wrk: socket errors {errors.group(1)}", flush=True)
    return float(rps.group(1)), int(bad.group(1)) if bad else 0


def _measure(
    name: str, url: str, args: argparse.Namespace, headers: list[str]
) -> tuple[float, list[float]]:
    _wrk(url, 3, args.connections, headers)  # warm-up
    runs = []
    for i in range(args.runs):
        rps, bad = _wrk(url, args.duration, args.connections, headers)
        if bad:
            raise RuntimeError(f"{name}: {bad} answers were not 2xx/3xx")
        runs.append(rps)
        print(f"  {name} run {i + 1}: {rps:.0f} requests/s", flush=True)
    return statistics.median(runs), runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--path", default="/report")
    args = parser.parse_args()

    wrk_out = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    wrk_version = wrk_out.split(" Copyright")[0] if wrk_out else "wrk"
    print(
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {wrk_version}"
    )
    print(
        f"serve --workers {args.workers} --threads {args.threads}; GET {args.path}, "
        f"{args.connections} keep-alive connections, {args.runs} x {args.duration} s"
    )
    with tempfile.TemporaryDirectory(prefix="vp-keepalive-") as tmp:
        base = Path(tmp)
        (base / "app").mkdir()
        with start_live_server(
            base / "app",
            settings={"plain_http": "0"},
            workers=args.workers,
            threads=args.threads,
        ) as app:
            site = nginx_site(base / "nginx", app_port=int(app.url.rsplit(":", 1)[1]))
            site.conf.write_text(
                site.conf.read_text().replace("worker_processes 1;", "worker_processes auto;")
            )
            results = {}
            results["direct"] = _measure(
                "direct", app.url + args.path, args, ["X-Forwarded-Proto: https"]
            )
            with running_nginx(site):
                results["nginx"] = _measure(
                    "nginx",
                    f"https://127.0.0.1:{site.https_port}{args.path}",
                    args,
                    [f"Host: {SERVER_NAME}"],
                )
    print()
    print("| path | median requests/s | runs | ratio to 661 |")
    print("|---|---|---|---|")
    for name, (median, runs) in results.items():
        print(
            f"| {name} | {median:.0f} | {', '.join(f'{r:.0f}' for r in runs)} "
            f"| {median / GLOBALEAKS_RPS:.2f} |"
        )


if __name__ == "__main__":
    main()
