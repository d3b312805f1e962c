"""The intake's and the status check's own work, without Argon2id, in process.

Not part of the test suite. Run::

    .venv/bin/python bench/intake_paths.py [--database sqlite|postgresql|both] [--count 300]

``bench/intake.py`` measures through HTTP at the production cost, where one
Argon2id derivation per submission and per status check dominates and a
shared machine's noise is larger than a change of a few per cent. This
script takes Argon2id out (the cheapest cost, t = 1, m = 8 KiB) and times
what is left, on a fresh database, ``--count`` times each (median, p95):

- ``submit``: ``Intake.begin`` + ``Intake.submit`` (sealing, grants, the
  hash-chained append, the read models);
- ``open``: ``Intake.open_case`` with a receipt (the lookup and the grants);
- ``view``: ``Intake.view`` of a case with a report and one message;
- ``message``: ``Intake.add_message``.

It uses only APIs that exist before and after content-key epochs, so the
same file can be run from an older checkout (``PYTHONPATH=<checkout>``) to
compare.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from caseflow.clock import STOCKHOLM  # noqa: E402
from caseflow.service.cases import CaseService  # noqa: E402
from caseflow.service.intake import Intake, Report  # noqa: E402
from caseflow.store import create_engine, migrate  # noqa: E402
from config.settings import load_settings  # noqa: E402
from identity.bootstrap import bootstrap  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TEXT = "Chefen lät sin brors firma vinna upphandlingen av städtjänster. " * 20


def timed(f: Callable[[], object], count: int) -> tuple[float, float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        f()
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.95) - 1] * 1000


def run(url: str, data_dir: Path, count: int) -> dict[str, tuple[float, float]]:
    settings = load_settings(
        environ={},
        overrides={
            "secret_key": secrets.token_urlsafe(40),
            "tenant_salt": secrets.token_hex(16),
            "signing_seed": secrets.token_hex(32),
            "data_dir": str(data_dir),
            "database_url": url,
            "kdf_time_cost": 1,
            "kdf_memory_kib": 8,
            "kdf_parallelism": 1,
            "insecure_test_kdf": True,
        },
    )
    engine = create_engine(url)
    try:
        migrate(engine)
        bootstrap(engine, settings)
        now = datetime(2026, 11, 2, 10, 0, tzinfo=STOCKHOLM)
        intake = Intake(engine, settings, CaseService(engine, settings.rules), clock=lambda: now)
        receipts: list[str] = []

        def submit() -> None:
            submission = intake.begin()
            receipts.append(str(intake.submit(submission, Report("bribery", "tullverket", TEXT))))

        results = {"submit": timed(submit, count)}
        picks = iter(receipts * 2)
        results["open"] = timed(lambda: intake.open_case(next(picks)), count)
        accesses = [intake.open_case(r) for r in receipts[:count]]
        chosen = iter(accesses)
        results["message"] = timed(
            lambda: intake.add_message(next(chosen), "Ett meddelande till."),  # type: ignore[arg-type]
            count,
        )
        again = iter(accesses)
        results["view"] = timed(lambda: intake.view(next(again)), count)  # type: ignore[arg-type]
        return results
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description="intake paths without Argon2id")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    names = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for name in names:
        with tempfile.TemporaryDirectory() as directory:
            data_dir = Path(directory)
            if name == "sqlite":
                results = run(f"sqlite:///{data_dir / 'bench.sqlite3'}", data_dir, args.count)
            else:
                db = f"vp_bench_{secrets.token_hex(4)}"
                server = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
                with server.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
                try:
                    url = PG_SERVER.rsplit("/", 1)[0] + f"/{db}"
                    results = run(url, data_dir, args.count)
                finally:
                    with server.connect() as conn:
                        conn.exec_driver_sql(f'DROP DATABASE "{db}" WITH (FORCE)')
                    server.dispose()
        line = ", ".join(f"{k} {m:.2f} ms (p95 {p:.2f})" for k, (m, p) in results.items())
        print(f"{name}: {line}", flush=True)


if __name__ == "__main__":
    main()
