"""Intake throughput against `visselpipa serve`, and its ratio to the Argon2id bound.

Not part of the test suite. Run::

    .venv/bin/python bench/intake.py [--database sqlite|postgresql|both]
                                     [--clients 1,4,8] [--duration 20] [--workers N]

For each database it runs ``visselpipa init`` and ``visselpipa serve``
(gunicorn, one worker per core by default, plain HTTP on 127.0.0.1) with the
PRODUCTION Argon2id cost, the deployment-wide rate lanes lifted (a benchmark
is a flood by design), and then:

- submissions/s with 1, 4 and 8 concurrent clients for ``--duration``
  seconds each (after a warm-up): each client has its own cookies and loops
  GET /report, POST /report with a ~1.5 KB report and no file; only responses
  that carry a receipt count;
- status checks: POST /status with a receipt collected above (a fresh client
  each time, following the 303), sequentially and with 4 clients; p50/p95;
- the Argon2id bound: cores ÷ seconds per derivation at the configured cost
  (median of 7 derivations in this process). Every submission and every status
  check costs exactly one derivation; the ratio measured ÷ bound says how much
  of the server's CPU goes to the deliberate key stretching.

The load generator runs on the same 2 cores as the server and takes its
share of them; the figures include that.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crypto.kdf import PRODUCTION_COST, seconds_per_derivation  # noqa: E402
from tests.functional.pages import RECEIPT_RE, hidden_fields  # noqa: E402
from tests.live_server import start_live_server  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REPORT = (
    "Vid upphandlingen av konsulttjänster för it-drift tilldelades kontraktet en leverantör "
    "vars ägare är gift med enhetschefen som satt i utvärderingsgruppen. Jävet anmäldes aldrig "
    "och utvärderingen ändrades två gånger efter att anbuden öppnats, så att den vinnande "
    "leverantören fick högst poäng trots högsta pris. "
) * 4
OPEN_LIMITS = {
    **{
        f"limit_{a}{lane}": "1000000/minute"
        for a in ("report", "receipt", "message")
        for lane in ("", "_fresh", "_patient")
    },
}


class Client:
    """One reporter's browser: keeps its cookie, speaks HTTP/1.1 to 127.0.0.1."""

    def __init__(self, port: int) -> None:
        self.port, self.cookie = port, ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        text = response.read().decode(errors="replace")
        conn.close()
        return response.status, text

    def submit(self) -> str | None:
        _, page = self.request("GET", "/report")
        form = {
            **hidden_fields(page),
            "category": "procurement",
            "agency": "trafikverket",
            "what": REPORT,
            "when": "våren 2026",
            "where": "Region Syd",
            "contact_choice": "none",
        }
        status, page = self.request("POST", "/report", form)
        match = RECEIPT_RE.search(page)
        return match.group(1) if status == 200 and match else None

    def check(self, receipt: str) -> bool:
        _, page = self.request("GET", "/status")
        status, _ = self.request("POST", "/status", {**hidden_fields(page), "receipt": receipt})
        return status == 303


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def submissions(port: int, clients: int, duration: float) -> tuple[Run, float]:
    run = Run()
    deadline = time.perf_counter() + duration

    def loop() -> None:
        client = Client(port)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            receipt = client.submit()
            elapsed = time.perf_counter() - started
            with run.lock:
                if receipt:
                    run.latencies.append(elapsed)
                    run.receipts.append(receipt)
                else:
                    run.failures += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return run, time.perf_counter() - started


def status_checks(port: int, receipts: list[str], clients: int, count: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(receipts[:count])

    def loop() -> None:
        while True:
            with lock:
                if not queue:
                    return
                receipt = queue.pop()
            client = Client(port)
            _, page = client.request("GET", "/status")
            started = time.perf_counter()
            status, _ = client.request(
                "POST", "/status", {**hidden_fields(page), "receipt": receipt}
            )
            elapsed = time.perf_counter() - started
            if status == 303:
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[q - 1]


def pg_version() -> str:
    try:
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or "?"
    except OSError:
        return "?"


def bench_database(name: str, args: argparse.Namespace, bound: float) -> list[str]:
    settings = {
        **OPEN_LIMITS,
        "kdf_time_cost": str(PRODUCTION_COST.time_cost),
        "kdf_memory_kib": str(PRODUCTION_COST.memory_kib),
        "kdf_parallelism": str(PRODUCTION_COST.parallelism),
    }
    admin = None
    db_name = f"vp_bench_{secrets.token_hex(4)}"
    if name == "postgresql":
        import sqlalchemy as sa

        admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{db_name}"')
        settings["database_url"] = PG_SERVER.rsplit("/", 1)[0] + "/" + db_name
    lines = []
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            start_live_server(Path(tmp), settings=settings, workers=args.workers) as server,
        ):
            port = int(server.url.rsplit(":", 1)[1])
            submissions(port, min(2, args.workers), 3)  # warm-up: imports, pools, caches
            receipts: list[str] = []
            for clients in args.clients:
                run, elapsed = submissions(port, clients, args.duration)
                receipts += run.receipts
                rate = len(run.latencies) / elapsed
                lines.append(
                    f"| {name} | submit | {clients} | {len(run.latencies)} | {rate:.2f}/s | "
                    f"{pct(run.latencies, 50) * 1000:.0f} ms | "
                    f"{pct(run.latencies, 95) * 1000:.0f} ms | {rate / bound:.2f} | "
                    f"{run.failures} |"
                )
                print(lines[-1], flush=True)
            for clients in (1, 4):
                lat = status_checks(port, receipts, clients, 40 if clients == 1 else 80)
                lines.append(
                    f"| {name} | status | {clients} | {len(lat)} | – | "
                    f"{pct(lat, 50) * 1000:.0f} ms | {pct(lat, 95) * 1000:.0f} ms | – | – |"
                )
                print(lines[-1], flush=True)
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            admin.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description="intake throughput against visselpipa serve")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", default="1,4,8")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    args.clients = [int(c) for c in args.clients.split(",")]
    cores = os.cpu_count() or 1
    derivations = sorted(seconds_per_derivation(PRODUCTION_COST) for _ in range(7))
    per = statistics.median(derivations)
    bound = cores / per
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    print(
        f"machine: {cores} cores, {cpu}, Python {platform.python_version()}, "
        f"PostgreSQL {pg_version()}, SQLite {__import__('sqlite3').sqlite_version}"
    )
    print(
        f"Argon2id cost: t={PRODUCTION_COST.time_cost}, m={PRODUCTION_COST.memory_kib} KiB, "
        f"p={PRODUCTION_COST.parallelism}; {per * 1000:.0f} ms per derivation (median of 7); "
        f"bound = {cores} cores / {per:.3f} s = {bound:.2f} derivations/s"
    )
    print(f"gunicorn workers: {args.workers}; {args.duration:.0f} s per client level")
    print()
    print(
        "| database | action | clients | done | throughput | p50 | p95 | ratio to bound | failed |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in ["sqlite", "postgresql"] if args.database == "both" else [args.database]:
        bench_database(name, args, bound)


if __name__ == "__main__":
    main()
