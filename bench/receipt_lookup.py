"""A receipt check without HTTP and without the padding: one cost in use, then two.

Not part of the test suite. Run::

    .venv/bin/python bench/receipt_lookup.py [--database sqlite|postgresql|both]
                                             [--rows 100000] [--repeats 15]
                                             [--second-cost 4,65536]

For each database (SQLite in a temporary directory; PostgreSQL in a fresh
database ``vp_bench_<random>`` on 127.0.0.1, dropped at the end): migrate,
bootstrap, ``--rows`` receipt index rows with their reporter grants (random
tags, inserted in bulk, carrying the production cost), and a few real
receipts submitted through ``Intake`` at the production cost. Then, each the
median of ``--repeats``:

- the pre-0007 path, reproduced here: one Argon2id derivation at the
  production cost and the single-tag query the code ran before the cost was
  stored (``WHERE lookup_tag = :tag``);
- ``receipt_costs`` alone (the walk through the index on ``kdf``);
- ``Intake.open_case`` with a valid and with an unknown receipt, one cost;
- after restarting ``Intake`` with the second cost and submitting receipts
  with it: ``open_case`` with an old, a new and an unknown receipt.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from caseflow.service.cases import CaseService  # noqa: E402
from caseflow.service.intake import RECEIPT_SALT, Intake, Report, receipt_costs  # noqa: E402
from caseflow.store import create_engine, migrate  # noqa: E402
from caseflow.store.records import grants_table, reporter_index_table  # noqa: E402
from config.settings import Settings, load_settings  # noqa: E402
from crypto.kdf import PRODUCTION_COST, derive_reporter_keys  # noqa: E402
from crypto.receipt import Receipt  # noqa: E402
from identity.bootstrap import bootstrap  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def settings_for(url: str, data_dir: Path, secret_values: dict[str, str], cost: tuple[int, int]):
    return load_settings(
        environ={},
        overrides={
            **secret_values,
            "data_dir": str(data_dir),
            "database_url": url,
            "kdf_time_cost": cost[0],
            "kdf_memory_kib": cost[1],
            "kdf_parallelism": 1,
        },
    )


def fill(engine: sa.Engine, rows: int) -> None:
    """``rows`` index rows and reporter grants, as many reports would leave them."""
    kdf = PRODUCTION_COST.to_text(RECEIPT_SALT)
    batch = 5000
    with engine.begin() as conn:
        for start in range(0, rows, batch):
            ids = [secrets.token_hex(16) for _ in range(min(batch, rows - start))]
            conn.execute(
                sa.insert(reporter_index_table),
                [
                    {
                        "lookup_tag": secrets.token_bytes(32),
                        "case_id": case_id,
                        "public_key": secrets.token_bytes(32),
                        "kdf": kdf,
                    }
                    for case_id in ids
                ],
            )
            conn.execute(
                sa.insert(grants_table),
                [
                    {"case_id": c, "recipient": "reporter", "sealed_key": secrets.token_bytes(102)}
                    for c in ids
                ],
            )


def median_ms(f: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        f()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def before_path(engine: sa.Engine, settings: Settings, typed: str) -> object:
    """What open_case did before migration 0007: one derivation, one tag."""
    keys = derive_reporter_keys(Receipt.parse(typed), settings.tenant_salt, PRODUCTION_COST)
    with engine.connect() as conn:
        return conn.execute(
            sa.select(reporter_index_table.c.case_id, grants_table.c.sealed_key)
            .join(grants_table, grants_table.c.case_id == reporter_index_table.c.case_id)
            .where(reporter_index_table.c.lookup_tag == keys.lookup_tag)
            .where(grants_table.c.recipient == "reporter")
        ).first()


def run(name: str, args: argparse.Namespace) -> list[str]:
    rows: list[str] = []
    db_name = f"vp_bench_{secrets.token_hex(4)}"
    admin = None
    with tempfile.TemporaryDirectory(prefix="vp-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        url = f"sqlite:///{data_dir / 'visselpipa.db'}"
        if name == "postgresql":
            admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{db_name}"')
            url = PG_SERVER.rsplit("/", 1)[0] + "/" + db_name
        try:
            secret_values = {
                "secret_key": secrets.token_urlsafe(40),
                "tenant_salt": secrets.token_hex(16),
                "signing_seed": secrets.token_hex(32),
            }
            production = (PRODUCTION_COST.time_cost, PRODUCTION_COST.memory_kib)
            settings = settings_for(url, data_dir, secret_values, production)
            engine = create_engine(url)
            migrate(engine)
            bootstrap(engine, settings)
            started = time.perf_counter()
            fill(engine, args.rows)
            print(f"  [{name}] {args.rows} rows in {time.perf_counter() - started:.1f} s")
            intake = Intake(engine, settings, CaseService(engine, settings.rules))
            report = Report("bribery", "tullverket", "Mutor vid upphandlingen.")
            old = str(intake.submit(intake.begin(), report))
            unknown = str(Receipt.generate())
            r = args.repeats

            def with_conn() -> object:
                with engine.connect() as conn:
                    return receipt_costs(conn, settings.kdf)

            figures = {
                "pre-0007 path (1 derivation, 1 tag), valid": median_ms(
                    lambda: before_path(engine, settings, old), r
                ),
                "receipt_costs walk, 1 cost": median_ms(with_conn, r),
                "open_case, 1 cost, valid": median_ms(lambda: intake.open_case(old), r),
                "open_case, 1 cost, unknown": median_ms(lambda: intake.open_case(unknown), r),
            }
            second = settings_for(url, data_dir, secret_values, args.second_cost)
            intake2 = Intake(engine, second, CaseService(engine, second.rules))
            new = str(intake2.submit(intake2.begin(), report))
            assert len(intake2.receipt_costs()) == 2
            assert intake2.open_case(old) is not None and intake2.open_case(new) is not None

            def with_conn2() -> object:
                with engine.connect() as conn:
                    return receipt_costs(conn, second.kdf)

            figures |= {
                "receipt_costs walk, 2 costs": median_ms(with_conn2, r),
                "open_case, 2 costs, old receipt": median_ms(lambda: intake2.open_case(old), r),
                "open_case, 2 costs, new receipt": median_ms(lambda: intake2.open_case(new), r),
                "open_case, 2 costs, unknown": median_ms(lambda: intake2.open_case(unknown), r),
            }
            for label, value in figures.items():
                rows.append(f"| {name} | {label} | {value:.1f} ms |")
                print(f"  [{name}] {label}: {value:.1f} ms", flush=True)
            engine.dispose()
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
                admin.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="receipt checks with one and two costs")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--second-cost", default="4,65536", metavar="T,M")
    args = parser.parse_args()
    time_cost, memory_kib = (int(x) for x in args.second_cost.split(","))
    args.second_cost = (time_cost, memory_kib)
    print(f"command: {Path(sys.executable).name} {' '.join(sys.argv)}")
    print(
        f"nproc {os.cpu_count()}; production cost t={PRODUCTION_COST.time_cost}, "
        f"m={PRODUCTION_COST.memory_kib} KiB; second cost t={time_cost}, m={memory_kib} KiB; "
        f"median of {args.repeats}"
    )
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    rows: list[str] = []
    for name in databases:
        rows += run(name, args)
    print("\n| database | measurement | median |\n|---|---|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
