"""Intake throughput against `visselpipa serve`, and its ratio to the Argon2id bound.

Not part of the test suite. Run::

    .venv/bin/python bench/intake.py [--database sqlite|postgresql|both]
                                     [--clients 1,4,8] [--duration 20] [--repeats 1]
                                     [--workers N] [--second-cost T,M]

For each database (SQLite in a temporary data directory; PostgreSQL in a fresh
database ``vp_bench_<random>`` on 127.0.0.1, dropped at the end) it runs
``visselpipa init`` and ``visselpipa serve --workers N`` (gunicorn, one worker
per core by default, plain HTTP on 127.0.0.1) with the PRODUCTION Argon2id
cost (no ``VISSELPIPA_KDF_*`` variable is set, so the defaults apply) and the
rate limits lifted (a benchmark is a flood by design: with the shipped limits
the 6th report of a session and the 21st fresh one per minute are refused).
Then:

- submissions/s with 1, 4 and 8 concurrent clients for ``--duration`` seconds
  each (after a warm-up): each client has its own cookie jar and loops
  GET /report, POST /report (multipart, as a browser sends the form: a
  ~1.5 KB report, an empty file field); only responses with a receipt count;
  p50/p95 of GET+POST per submission;
- where the CPU went during each level: the whole machine (/proc/stat), the
  gunicorn master and workers (/proc/<pid>/stat), this load generator
  (process time), and the rest (PostgreSQL, anything else on the machine);
- status checks with the receipts collected: a fresh client GETs /status,
  then POST /status with a receipt and follows the 303 to GET /status
  (timed: POST + GET), sequentially and with 4 clients; p50/p95;
- the Argon2id bound: cores ÷ seconds per derivation at the production cost
  (median of 7 in this process, before the load). Every submission and every
  status check costs exactly one derivation; measured ÷ bound says how much
  of the machine goes to the deliberate key stretching.

The load generator runs on the same cores as the server and takes its share
of them; the figures include that, and the CPU columns show how much.
With ``--repeats R`` each client level runs R times and the table shows the
median (the individual runs are printed as they finish).

With ``--second-cost T,M`` the server is then restarted on the same data
directory and database with ``VISSELPIPA_KDF_TIME_COST=T`` and
``VISSELPIPA_KDF_MEMORY_KIB=M``: two costs are now in use (the receipts made
so far carry the production cost), so every status check derives twice. The
status checks run again with the old receipts and with receipts made after
the restart (rows "status, 2 costs").
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crypto.kdf import PRODUCTION_COST, seconds_per_derivation  # noqa: E402
from tests.functional.pages import RECEIPT_RE, hidden_fields  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"  # the only address this benchmark ever talks to
REPORT = (
    "Vid upphandlingen av konsulttjänster för it-drift tilldelades kontraktet en leverantör "
    "vars ägare är gift med enhetschefen som satt i utvärderingsgruppen. Jävet anmäldes aldrig "
    "och utvärderingen ändrades två gånger efter att anbuden öppnats, så att den vinnande "
    "leverantören fick högst poäng trots högsta pris. "
) * 4  # ≈ 1.5 KB of UTF-8
OPEN_LIMITS = {
    f"VISSELPIPA_LIMIT_{action}{lane}": "1000000/minute"
    for action in ("REPORT", "RECEIPT", "MESSAGE")
    for lane in ("", "_FRESH", "_PATIENT")
}
ERROR_LINE = re.compile(r"Traceback|ERROR|CRITICAL|locked|timeout|Timeout|WORKER", re.I)


# -- the HTTP client -------------------------------------------------------


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    """The form as a browser sends it: text fields and an empty file field."""
    boundary = "----vpbench" + secrets.token_hex(8)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename=""\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n\r\n".encode()
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Client:
    """One reporter's browser: its own cookie jar, HTTP/1.1 to 127.0.0.1."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        *,
        files: bool = False,
    ) -> tuple[int, str, str]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body: bytes | None = None
        if form is not None:
            if files:
                body, headers["Content-Type"] = multipart(form)
            else:
                body = urllib.parse.urlencode(form).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            text = response.read().decode(errors="replace")
            return response.status, text, response.getheader("Location") or ""
        finally:
            conn.close()

    def submit(self) -> tuple[str | None, str]:
        """GET /report, POST /report; the receipt, or None and why not."""
        status, page, _ = self.request("GET", "/report")
        if status != 200:
            return None, f"GET /report {status}"
        form = {
            **hidden_fields(page),  # csrf_token and form_token
            "category": "procurement",
            "agency": "trafikverket",
            "what": REPORT,
            "when": "våren 2026",
            "where": "Region Syd",
            "persons": "Enhetschefen för it-drift; två av utvärderarna",
            "contact_choice": "none",
            "contact": "",
        }
        status, page, _ = self.request("POST", "/report", form, files=True)
        match = RECEIPT_RE.search(page)
        if status == 200 and match:
            return match.group(1), ""
        return None, f"POST /report {status}"


# -- CPU accounting --------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """All CPUs, all processes: non-idle time since boot (user+nice+system+irq+softirq+steal)."""
    fields_ = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields_[:8])
    return (user + nice + system + irq + softirq + steal) / TICK


def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return pids


def tree_cpu_seconds(pid: int) -> float:
    """user+system time of a process and its live children (gunicorn master and workers)."""
    total = 0
    for p in process_tree(pid):
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        after = stat.rsplit(")", 1)[1].split()
        total += int(after[11]) + int(after[12])  # utime, stime
    return total / TICK


# -- Argon2id alone ---------------------------------------------------------


def _derive(n: int) -> list[float]:
    return [seconds_per_derivation(PRODUCTION_COST) for _ in range(n)]


def parallel_capacity(processes: int, each: int = 5) -> tuple[float, float]:
    """Argon2id alone, ``processes`` at once (as the gunicorn workers run it).

    Returns (derivations/s over the whole machine, median seconds per derivation).
    On a machine whose cores share memory bandwidth this is below
    cores / solo time: each 64 MiB derivation is memory-bound.
    """
    with ProcessPoolExecutor(processes) as pool:
        list(pool.map(_derive, [1] * processes))  # start the processes, warm them
        started = time.perf_counter()
        results = list(pool.map(_derive, [each] * processes))
        elapsed = time.perf_counter() - started
    times = [t for r in results for t in r]
    return processes * each / elapsed, statistics.median(times)


# -- the server ------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def serve(
    data_dir: Path, database_url: str, workers: int, extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """`visselpipa init`, then `visselpipa serve` on a free port; always stopped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISSELPIPA_")}
    env.update(
        {
            "VISSELPIPA_PLAIN_HTTP": "1",
            "VISSELPIPA_DATA_DIR": str(data_dir),
            "VISSELPIPA_DATABASE_URL": database_url,
            **OPEN_LIMITS,
            **(extra_env or {}),
        }
    )
    cli = [str(Path(sys.executable).with_name("visselpipa"))]
    if not Path(cli[0]).exists():
        cli = [sys.executable, "-m", "app.cli"]
    init = subprocess.run(
        [*cli, "init"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    if init.returncode != 0:
        raise RuntimeError(f"visselpipa init failed:\n{init.stdout}\n{init.stderr}")
    port = free_port()
    log = data_dir.parent / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*cli, "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(port, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"visselpipa serve exited:\n{server.output()}")
            try:
                with urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=5) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"visselpipa serve did not answer:\n{server.output()}")
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


# -- the load --------------------------------------------------------------


@dataclass
class Level:
    clients: int
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    cpu_machine: float = 0.0
    cpu_server: float = 0.0
    cpu_client: float = 0.0

    @property
    def cpu_rest(self) -> float:
        return self.cpu_machine - self.cpu_server - self.cpu_client

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed


def submissions(server: Server, clients: int, duration: float) -> Level:
    level = Level(clients)
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    deadline = 0.0

    def loop() -> None:
        client = Client(server.port)
        start_gate.wait()
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                receipt, why = client.submit()
            except (OSError, http.client.HTTPException) as e:
                receipt, why = None, f"{type(e).__name__}: {e}"
            elapsed = time.perf_counter() - started
            with lock:
                if receipt:
                    level.latencies.append(elapsed)
                    level.receipts.append(receipt)
                else:
                    level.failures[why] += 1

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    m0, s0, c0 = machine_busy_seconds(), tree_cpu_seconds(server.process.pid), time.process_time()
    started = time.perf_counter()
    deadline = started + duration
    start_gate.wait()
    for thread in threads:
        thread.join()
    level.elapsed = time.perf_counter() - started
    level.cpu_machine = machine_busy_seconds() - m0
    level.cpu_server = tree_cpu_seconds(server.process.pid) - s0
    level.cpu_client = time.process_time() - c0
    return level


def status_checks(
    server: Server, receipts: list[str], clients: int, count: int
) -> tuple[list[float], list[float], Counter[str]]:
    """(POST+GET latencies, POST-only latencies, failures)."""
    full: list[float] = []
    post_only: list[float] = []
    failures: Counter[str] = Counter()
    lock = threading.Lock()
    queue = list(receipts[-count:])

    def loop() -> None:
        while True:
            with lock:
                if not queue:
                    return
                receipt = queue.pop()
            client = Client(server.port)  # a fresh browser each time
            try:
                _, page, _ = client.request("GET", "/status")
                started = time.perf_counter()
                status, _, location = client.request(
                    "POST", "/status", {**hidden_fields(page), "receipt": receipt}
                )
                posted = time.perf_counter()
                if status != 303:
                    with lock:
                        failures[f"POST /status {status}"] += 1
                    continue
                path = urllib.parse.urlsplit(location).path or "/status"
                status, page, _ = client.request("GET", path)
                done = time.perf_counter()
                ok = status == 200 and "receipt" not in hidden_fields(page)
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    failures[f"{type(e).__name__}: {e}"] += 1
                continue
            with lock:
                if ok:
                    full.append(done - started)
                    post_only.append(posted - started)
                else:
                    failures[f"GET /status after 303: {status}, case not opened"] += 1

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return full, post_only, failures


# -- reporting -------------------------------------------------------------


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def pg_version() -> str:
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(PG_SERVER)
        with engine.connect() as conn:
            version = str(conn.exec_driver_sql("SHOW server_version").scalar())
        engine.dispose()
        return version
    except Exception as e:  # noqa: BLE001 - only for the header
        return f"unavailable ({type(e).__name__})"


def bench_database(name: str, args: argparse.Namespace, per: float, cores: int) -> list[str]:
    bound = cores / per
    capacity, per_parallel = parallel_capacity(cores)
    print(
        f"  [{name}] Argon2id alone, {cores} processes at once: {capacity:.2f} derivations/s "
        f"({ms(per_parallel)} each, median) vs bound {bound:.2f}/s",
        flush=True,
    )
    db_name = f"vp_bench_{secrets.token_hex(4)}"
    admin = None
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="vp-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        url = f"sqlite:///{data_dir / 'visselpipa.db'}"
        try:
            if name == "postgresql":
                import sqlalchemy as sa

                admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{db_name}"')
                url = PG_SERVER.rsplit("/", 1)[0] + "/" + db_name
            with serve(data_dir, url, args.workers) as server:
                warm = submissions(server, max(1, min(2, args.workers)), args.warmup)
                receipts = list(warm.receipts)
                for clients in args.clients:
                    runs = []
                    for repeat in range(args.repeats):
                        level = submissions(server, clients, args.duration)
                        runs.append(level)
                        receipts += level.receipts
                        print(
                            f"  [{name} c={clients} run {repeat + 1}] {len(level.latencies)} "
                            f"in {level.elapsed:.1f} s = {level.rate:.2f}/s, "
                            f"p50 {ms(pct(level.latencies, 50))}, "
                            f"p95 {ms(pct(level.latencies, 95))}, "
                            f"CPU machine {level.cpu_machine / level.elapsed:.2f} "
                            f"server {level.cpu_server / level.elapsed:.2f} "
                            f"client {level.cpu_client / level.elapsed:.2f} cores, "
                            f"failed {sum(level.failures.values())} {dict(level.failures)}",
                            flush=True,
                        )

                    def m(f: Callable[[Level], float], runs: list[Level] = runs) -> float:
                        return statistics.median(f(r) for r in runs)

                    rate = m(lambda r: r.rate)
                    argon = rate * per  # cores' worth of time spent in Argon2id
                    rows.append(
                        f"| {name} | submit | {clients} | "
                        f"{m(lambda r: len(r.latencies)):.0f} | {rate:.2f}/s | "
                        f"{ms(m(lambda r: pct(r.latencies, 50)))} | "
                        f"{ms(m(lambda r: pct(r.latencies, 95)))} | "
                        f"**{rate / bound:.2f}** | {rate / capacity:.2f} | "
                        f"{m(lambda r: r.cpu_machine / r.elapsed):.2f} | "
                        f"{m(lambda r: r.cpu_server / r.elapsed):.2f} "
                        f"({argon:.2f} Argon2id) | "
                        f"{m(lambda r: r.cpu_client / r.elapsed):.2f} | "
                        f"{m(lambda r: r.cpu_rest / r.elapsed):.2f} | "
                        f"{sum(sum(r.failures.values()) for r in runs)} |"
                    )
                for clients, count in ((1, args.status_count), (4, 2 * args.status_count)):
                    full, post, failures = status_checks(server, receipts, clients, count)
                    rows.append(
                        f"| {name} | status | {clients} | {len(full)} | – | "
                        f"{ms(pct(full, 50))} | {ms(pct(full, 95))} | – | – | – | – | – | – | "
                        f"{sum(failures.values())} |"
                    )
                    print(
                        f"  [{name} status c={clients}] {len(full)} checks (POST + GET after "
                        f"the 303): p50 {ms(pct(full, 50))}, p95 {ms(pct(full, 95))}; POST "
                        f"alone: p50 {ms(pct(post, 50))}, p95 {ms(pct(post, 95))}; failed "
                        f"{dict(failures)}",
                        flush=True,
                    )
                log = server.output()
            if args.second_cost:
                time_cost, memory_kib = args.second_cost
                second = {
                    "VISSELPIPA_KDF_TIME_COST": str(time_cost),
                    "VISSELPIPA_KDF_MEMORY_KIB": str(memory_kib),
                }
                with serve(data_dir, url, args.workers, second) as server:
                    fresh = submissions(server, max(1, min(2, args.workers)), args.warmup * 3)
                    for label, pool in (("old", receipts), ("new", fresh.receipts)):
                        for clients, count in ((1, args.status_count), (4, 2 * args.status_count)):
                            count = min(count, len(pool))
                            full, post, failures = status_checks(server, pool, clients, count)
                            rows.append(
                                f"| {name} | status, 2 costs, {label} receipt | {clients} | "
                                f"{len(full)} | – | {ms(pct(full, 50))} | {ms(pct(full, 95))} "
                                f"| – | – | – | – | – | – | {sum(failures.values())} |"
                            )
                            print(
                                f"  [{name} status, 2 costs, {label} receipts, c={clients}] "
                                f"{len(full)} checks: p50 {ms(pct(full, 50))}, p95 "
                                f"{ms(pct(full, 95))}; POST alone: p50 {ms(pct(post, 50))}; "
                                f"failed {dict(failures)}",
                                flush=True,
                            )
                    log += server.output()
            problems = [line for line in log.splitlines() if ERROR_LINE.search(line)]
            print(
                f"  [{name}] server log: {len(log.splitlines())} lines, {len(problems)} suspicious",
                flush=True,
            )
            for line in problems[:20]:
                print(f"    {line}")
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
                admin.dispose()
                print(f"  [{name}] dropped database {db_name}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="intake throughput against visselpipa serve")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", default="1,4,8")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per client level")
    parser.add_argument("--repeats", type=int, default=1, help="runs per level (median shown)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up")
    parser.add_argument("--status-count", type=int, default=40, help="sequential checks (x2 at 4)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--second-cost",
        metavar="T,M",
        help="then restart with this Argon2id time cost and memory (KiB): two costs in use",
    )
    args = parser.parse_args()
    if args.second_cost:
        args.second_cost = tuple(int(x) for x in args.second_cost.split(","))
    args.clients = [int(c) for c in args.clients.split(",")]
    cores = os.cpu_count() or 1
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    derivations = [seconds_per_derivation(PRODUCTION_COST) for _ in range(7)]
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
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    print(f"command: {Path(sys.executable).name} {' '.join(sys.argv)}")
    print(
        f"machine: nproc {nproc}, {cpu}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
        + (f", PostgreSQL {pg_version()} on {HOST}" if "postgresql" in databases else "")
    )
    print(
        f"Argon2id: t={PRODUCTION_COST.time_cost}, m={PRODUCTION_COST.memory_kib} KiB, "
        f"p={PRODUCTION_COST.parallelism} (production); {ms(per)} per derivation "
        f"(median of 7: {', '.join(f'{d * 1000:.0f}' for d in sorted(derivations))} ms); "
        f"bound = {cores} cores / {per:.3f} s = {bound:.2f} derivations/s"
    )
    print(
        f"gunicorn workers: {args.workers}; {args.duration:.0f} s per client level, "
        f"{args.repeats} run(s) each (median), warm-up {args.warmup:.0f} s"
    )
    print(flush=True)
    rows: list[str] = []
    for name in databases:
        rows += bench_database(name, args, per, cores)
    after = statistics.median(seconds_per_derivation(PRODUCTION_COST) for _ in range(5))
    capacity, per_parallel = parallel_capacity(cores)
    print(
        f"\nArgon2id after the load: {ms(after)} per derivation alone (median of 5); "
        f"{cores} at once: {capacity:.2f}/s ({ms(per_parallel)} each)\n"
    )
    print(
        "| database | action | clients | done | throughput | p50 | p95 | ratio to bound | "
        "ratio to Argon2id alone | CPU machine | CPU server | CPU client | CPU rest | failed |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    print(
        "\nCPU columns: cores busy on average during the level (of "
        f"{cores}); 'Argon2id' = throughput × {ms(per)}; 'rest' = machine − server − client "
        "(PostgreSQL, kernel, other tenants). 'Argon2id alone' = the same derivation "
        f"in {cores} processes at once, no HTTP, measured just before that database's run."
    )


if __name__ == "__main__":
    main()
