"""What a removal costs: the rotation and the new epochs, against the desk's cases.

Not part of the test suite. Run::

    .venv/bin/python bench/revocation.py [--database sqlite|postgresql|both]
                                         [--cases 100,1000,5000] [--repeats 3]

For each size it fills a fresh database with that many cases of the
anti-corruption desk, as the intake leaves them (a desk grant and a reporter
grant of epoch 1, a reporter_index row: real X25519 keys, random case keys),
then times ``identity.desk_keys.rotate_now`` in its own transaction (what a
removal or ``rotate-desk-key`` does: retire the copies, a new desk key, one
new epoch per case sealed to the desk and the reporter), and the clean-up
(``consolidate``: every older grant opened with the retired key and sealed to
the new one). Median of ``--repeats`` rotations of the same desk (each adds
an epoch). The removal holds the log's append lock for that long: reports
wait meanwhile.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from nacl.public import PrivateKey

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from caseflow.store import create_engine, migrate  # noqa: E402
from caseflow.store.records import grants_table, reporter_index_table  # noqa: E402
from config.settings import load_settings  # noqa: E402
from crypto.sealing import CaseKey, seal_grant  # noqa: E402
from crypto.signing import Signer  # noqa: E402
from identity import accounts, desk_keys  # noqa: E402
from identity.bootstrap import bootstrap  # noqa: E402
from identity.key_log import OPERATOR  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DESK = "anticorruption"


def fill(engine: sa.Engine, desk_public: object, cases: int) -> None:
    rows, index = [], []
    for _ in range(cases):
        case_id, reporter, key = secrets.token_hex(16), PrivateKey.generate(), CaseKey.generate()
        rows.append(
            {
                "case_id": case_id,
                "recipient": f"desk:{DESK}",
                "epoch": 1,
                "sealed_key": seal_grant(key, case_id, desk_public),  # type: ignore[arg-type]
            }
        )
        rows.append(
            {
                "case_id": case_id,
                "recipient": "reporter",
                "epoch": 1,
                "sealed_key": seal_grant(key, case_id, reporter.public_key),
            }
        )
        index.append(
            {
                "lookup_tag": secrets.token_bytes(32),
                "case_id": case_id,
                "public_key": bytes(reporter.public_key),
                "kdf": "argon2id$v=19$m=8,t=1,p=1$tenant_salt",
            }
        )
    with engine.begin() as conn:
        conn.execute(sa.insert(grants_table), rows)
        conn.execute(sa.insert(reporter_index_table), index)


def run(url: str, data_dir: Path, cases: int, repeats: int) -> tuple[float, float]:
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
        made = bootstrap(engine, settings)
        signer = Signer(settings.signing_seed)
        with engine.begin() as conn:
            member, private = accounts.create_staff(
                conn, "bench", "investigator", "x" * 16, settings.kdf
            )
            accounts.add_desk_member(
                conn, DESK, member.id, made.created_desks[DESK], signer, OPERATOR
            )
        fill(engine, made.created_desks[DESK].public_key, cases)
        rotations, cleanups = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            with engine.begin() as conn:
                desk_keys.rotate_now(conn, DESK, signer, OPERATOR)
            rotations.append(time.perf_counter() - started)
            started = time.perf_counter()
            with engine.begin() as conn:
                old = desk_keys.retired_keys(conn, DESK, member.id, private)
                desk_keys.consolidate(conn, DESK, old)
            cleanups.append(time.perf_counter() - started)
        return statistics.median(rotations), statistics.median(cleanups)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description="the cost of a removal against the cases")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cases", default="100,1000,5000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    names = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    print("| database | cases | rotation + new epochs | clean-up (re-seal older grants) |")
    print("|---|---|---|---|")
    for name in names:
        for cases in (int(c) for c in args.cases.split(",")):
            with tempfile.TemporaryDirectory() as directory:
                data_dir = Path(directory)
                if name == "sqlite":
                    url = f"sqlite:///{data_dir / 'bench.sqlite3'}"
                    rotation, cleanup = run(url, data_dir, cases, args.repeats)
                else:
                    db = f"vp_bench_{secrets.token_hex(4)}"
                    server = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
                    with server.connect() as conn:
                        conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
                    try:
                        url = PG_SERVER.rsplit("/", 1)[0] + f"/{db}"
                        rotation, cleanup = run(url, data_dir, cases, args.repeats)
                    finally:
                        with server.connect() as conn:
                            conn.exec_driver_sql(f'DROP DATABASE "{db}" WITH (FORCE)')
                        server.dispose()
            print(f"| {name} | {cases} | {rotation * 1000:.0f} ms | {cleanup * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
