"""Speed of the Merkle tree: proofs at a million events, and `verify` with the tree.

Not part of the test suite. Run::

    .venv/bin/python bench/merkle.py [--events 1000000] [--database sqlite|postgresql|both]
                                     [--proofs 200] [--repeats 3]

Seeds a fresh database through the migrations with ``--events`` events of
the shape bench/verify.py uses (bulk-inserted, not measured), builds the
stored tree for them as migration 0007 does, and signs one tree head at the
end. Then it measures, and prints medians:

- an inclusion proof from the stored tree (``inclusion_proof``, one indexed
  lookup), for ``--proofs`` random leaves, each also verified against the
  head's root (as the proof service does before handing it out);
- a consistency proof from a random older size to the head, likewise;
- one append of one event at that size (the tree's rows are written in the
  append's transaction);
- ``verify_log`` with the head as ``expected`` — what
  ``visselpipa verify --expect`` runs: the chain walk, the tree recomputed
  from the events, every checkpoint, the consistency proof — in events/s,
  next to ``verify_chain`` alone on the same database.

The aims (issue 12): proofs under 10 ms at 1 000 000 events; verify at least
200 000 events/s on SQLite, and on PostgreSQL at least today's 117 000.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from verify import PG_SERVER, seed  # noqa: E402  (bench/verify.py)

from caseflow.store import (  # noqa: E402
    EventStore,
    NewEvent,
    create_engine,
    migrate,
    sign_checkpoint,
    verify_chain,
    verify_consistency,
    verify_inclusion,
    verify_log,
)
from caseflow.store.checkpoints import Checkpoint  # noqa: E402
from caseflow.store.merkle import Frontier, root_of  # noqa: E402
from caseflow.store.tree import (  # noqa: E402
    consistency_proof,
    inclusion_proof,
    merkle_nodes_table,
    root_at,
)
from crypto.signing import Signer  # noqa: E402

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def build_tree(engine: sa.Engine, batch: int = 20_000) -> None:
    """The stored tree for events inserted behind the store (as migration 0007 builds it)."""
    frontier = Frontier()
    with engine.begin() as conn:
        after = 0
        while True:
            found = conn.execute(
                sa.text("SELECT seq, hash FROM events WHERE seq > :a ORDER BY seq LIMIT :n"),
                {"a": after, "n": batch},
            ).all()
            if not found:
                break
            rows = frontier.extend([bytes(r.hash) for r in found], collect=True)
            conn.execute(
                sa.insert(merkle_nodes_table),
                [{"level": lv, "idx": ix, "hash": h} for lv, ix, h in rows],
            )
            after = int(found[-1].seq)


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(samples) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def bench(name: str, url: str, args: argparse.Namespace) -> None:
    engine = create_engine(url)
    migrate(engine)
    started = time.perf_counter()
    seed(engine, args.events)
    build_tree(engine)
    print(f"{name}: seeded {args.events} events and their tree in "
          f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    signer = Signer(bytes(range(32)))
    made = sign_checkpoint(engine, signer, datetime(2026, 12, 1, 9, tzinfo=STOCKHOLM))
    head = Checkpoint.from_event(made).head()
    assert head is not None
    size = head.tree_size
    rng = random.Random(12)

    samples = []
    with engine.connect() as conn:
        for _ in range(args.proofs):
            index = rng.randrange(size)
            t0 = time.perf_counter()
            leaf, path = inclusion_proof(conn, index, size)
            verify_inclusion(leaf, index, size, path, head.root_hash)
            samples.append(time.perf_counter() - t0)
    print(f"| {name} | inclusion proof + check, {size} leaves | {_ms(samples)} |", flush=True)

    samples = []
    with engine.connect() as conn:
        old_roots = {}
        olds = [rng.randrange(1, size) for _ in range(args.proofs)]
        for old in olds[:5]:  # the old roots, for the check (not timed)
            old_roots[old] = root_at(conn, old)
        for old in olds[:5] * (args.proofs // 5):
            t0 = time.perf_counter()
            proof = consistency_proof(conn, old, size)
            verify_consistency(old, size, old_roots[old], head.root_hash, proof)
            samples.append(time.perf_counter() - t0)
    print(f"| {name} | consistency proof + check, to {size} | {_ms(samples)} |", flush=True)

    store = EventStore(engine)
    samples = []
    for n in range(args.proofs // 4):
        event = NewEvent(type="SignedIn", actor="staff:x", recorded_at="2026-12-01")
        t0 = time.perf_counter()
        store.append_now(f"bench-{n}", 0, [event])
        samples.append(time.perf_counter() - t0)
    print(f"| {name} | one append of one event (with its tree rows) | {_ms(samples)} |")
    made = sign_checkpoint(engine, signer, datetime(2026, 12, 1, 10, tzinfo=STOCKHOLM))
    total = made.seq

    for label, run in (
        ("verify_chain alone", lambda: verify_chain(engine)),
        ("verify_log --expect (chain + tree + heads)", lambda: verify_log(
            engine, signer.public_key, expected=head)),
    ):  # fmt: skip
        rates = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            report = run()
            rates.append(total / (time.perf_counter() - t0))
            assert report.ok, report
        print(
            f"| {name} | {label}, {total} events | median {statistics.median(rates):,.0f} "
            f"events/s ({', '.join(f'{r:,.0f}' for r in rates)}) |",
            flush=True,
        )
    # The tree recomputed on its own, in memory: the part verify adds.
    with engine.connect() as conn:
        hashes = [bytes(r[0]) for r in conn.exec_driver_sql("SELECT hash FROM events ORDER BY seq")]
    t0 = time.perf_counter()
    root_of(hashes)
    elapsed = time.perf_counter() - t0
    print(f"| {name} | the root of {len(hashes)} leaves in memory | {elapsed:.2f} s "
          f"({len(hashes) / elapsed:,.0f} leaves/s) |")  # fmt: skip
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description="Merkle proofs and verify with the tree")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--proofs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, SQLite {__import__('sqlite3').sqlite_version}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print("| database | what | figure |")
    print("|---|---|---|")
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            bench("SQLite", f"sqlite:///{tmp}/merkle.sqlite3", args)
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
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
