"""Speed of `visselpipa verify` (the hash-chain walk) over a large event log.

Not part of the test suite. Run::

    .venv/bin/python bench/verify.py [--events 1000000] [--database sqlite|postgresql|both]
                                     [--batch 1000,10000] [--repeats 3]

Seeds a fresh database (SQLite file in a temporary directory, or a new
PostgreSQL database ``vp_bench_<random>`` on 127.0.0.1, dropped afterwards)
through the migrations, then inserts ``--events`` events spread over streams
of 1–12 events with a realistic shape (≈ 250 bytes of JSON metadata, a
≈ 700-byte sealed body or none) and their chain hashes computed with the
store's own ``event_hash``, in bulk (the seeding is not measured). Then it
times :func:`caseflow.store.verify_chain` over the whole log for each batch
size, ``--repeats`` times, and prints the median events/s. The aim (issue 6):
at least 200 000 events/s. ``verify_chain`` runs as ``visselpipa verify``
runs it (workers chosen automatically: one process per CPU from 200 000
events); ``--workers 1`` measures the single-process fast path. The machine
line includes the load average, because a busy machine slows every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from caseflow.store import create_engine, events_table, migrate, verify_chain  # noqa: E402
from caseflow.store.hashing import GENESIS, event_hash  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TYPES = [
    "ReportReceived",
    "CaseAcknowledged",
    "CaseAssigned",
    "MessageToReporterSent",
    "ReporterMessageAdded",
    "CaseAssessed",
    "InvestigationOpened",
    "FindingRecorded",
]


def rows(count: int, seed: int = 7):
    """Events in seq order with correct chain hashes, as insert parameters."""
    rng = random.Random(seed)
    prev, seq, stream = GENESIS, 0, 0
    body = os.urandom(700)
    while seq < count:
        stream += 1
        stream_id = f"{stream:032x}"
        for version in range(1, rng.randint(1, 12) + 1):
            if seq >= count:
                break
            seq += 1
            type_ = TYPES[min(version - 1, len(TYPES) - 1)]
            meta = json.dumps(
                {
                    "case_id": stream_id,
                    "schema_version": 1,
                    "message_id": secrets.token_hex(12),
                    "at": "2026-11-24T10:15:00+01:00",
                    "actor": "staff:utredare",
                    "reason": "acknowledged within the deadline",
                    "desk": "anticorruption",
                },
                sort_keys=True,
                separators=(",", ":"),
            )
            recorded_at = "2026-11-24" if version == 1 else "2026-11-24T10:15:00+01:00"
            actor = "reporter" if version == 1 else "staff:utredare"
            payload = body if version % 2 else None
            digest = event_hash(
                seq, stream_id, version, type_, actor, recorded_at, meta, payload, prev
            )
            yield {
                "seq": seq,
                "stream_id": stream_id,
                "version": version,
                "type": type_,
                "actor": actor,
                "recorded_at": recorded_at,
                "meta": meta,
                "body": payload,
                "prev_hash": prev,
                "hash": digest,
            }
            prev = digest


def seed(engine: sa.Engine, count: int) -> None:
    batch: list[dict[str, object]] = []
    with engine.begin() as conn:
        for row in rows(count):
            batch.append(row)
            if len(batch) == 10_000:
                conn.execute(sa.insert(events_table), batch)
                batch.clear()
        if batch:
            conn.execute(sa.insert(events_table), batch)


def bench(name: str, url: str, args: argparse.Namespace) -> None:
    engine = create_engine(url)
    migrate(engine)
    started = time.perf_counter()
    seed(engine, args.events)
    print(
        f"{name}: seeded {args.events} events in {time.perf_counter() - started:.0f} s", flush=True
    )
    for batch in args.batch:
        rates = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            report = verify_chain(engine, batch=batch, workers=args.workers)
            elapsed = time.perf_counter() - started
            assert report.ok and report.events_checked == args.events, report
            rates.append(args.events / elapsed)
        print(
            f"| {name} | {batch} | {args.events} | {statistics.median(rates):,.0f} events/s "
            f"| {', '.join(f'{r:,.0f}' for r in rates)} |",
            flush=True,
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description="hash-chain verification speed")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--batch", default="1000,10000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="default: automatic")
    args = parser.parse_args()
    args.batch = [int(b) for b in args.batch.split(",")]
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {__import__('sqlite3').sqlite_version}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
        f"workers {'automatic' if args.workers is None else args.workers}"
    )
    print("| database | batch | events | median | runs |")
    print("|---|---|---|---|---|")
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            bench("SQLite", f"sqlite:///{tmp}/verify.sqlite3", args)
    if args.database in ("postgresql", "both"):
        name = f"vp_bench_{secrets.token_hex(4)}"
        admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            bench("PostgreSQL", PG_SERVER.rsplit("/", 1)[0] + "/" + name, args)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
