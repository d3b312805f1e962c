"""Time to make and send the daily mail digest to staff over 100 000 cases.

Not part of the test suite. Run::

    .venv/bin/python bench/mail_digest.py [--cases 100000] [--members 50]
                                          [--events 2000] [--repeats 5]
                                          [--database sqlite|postgresql|both]

Method, per database (SQLite in a temporary directory; PostgreSQL in a fresh
database ``vp_bench_mail_<random>`` on 127.0.0.1, dropped at the end):

1. migrate, create the desks, and fill ``case_index`` with ``--cases`` rows
   as bench/inbox.py does (half on the anti-corruption desk, 70 % open,
   deadlines spread over ±200 days: about a third of the open cases overdue);
2. ``--members`` investigators on the anti-corruption desk, mail on;
3. append ``--events`` events to the log through the store (half
   ``ReporterMessageAdded``, half ``CaseEscalated`` to the assignee level,
   each on a different case), recorded today;
4. make today's digest (:func:`caseflow.service.notifications.make_digest_once`:
   the log's window, every member's counts, the rows) ``--repeats`` times,
   deleting it between runs; then deliver it to a local aiosmtpd server
   (:func:`app.mail.send_digests`, one SMTP connection, one mail a member)
   ``--repeats`` times. Medians.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from app.mail import send_digests  # noqa: E402
from bench.inbox import PG_SERVER, fill  # noqa: E402
from caseflow.clock import STOCKHOLM  # noqa: E402
from caseflow.service.notifications import make_digest_once  # noqa: E402
from caseflow.store import EventStore, NewEvent, create_engine, migrate  # noqa: E402
from caseflow.store.notifications import (  # noqa: E402
    mail_digest_items_table,
    mail_digests_table,
)
from caseflow.store.projections import case_index_table  # noqa: E402
from config.settings import load_settings  # noqa: E402
from crypto.signing import Signer  # noqa: E402
from identity import accounts  # noqa: E402
from identity.bootstrap import bootstrap  # noqa: E402
from identity.key_log import OPERATOR  # noqa: E402
from tests.functional.mail_server import free_port, smtp_server  # noqa: E402


def _forget(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(mail_digest_items_table))
        conn.execute(sa.delete(mail_digests_table))


def run(url: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    settings = load_settings(
        environ={},
        overrides={
            "secret_key": secrets.token_urlsafe(40),
            "tenant_salt": secrets.token_hex(16),
            "signing_seed": secrets.token_hex(32),
            "data_dir": str(workdir / "data"),
            "database_url": url,
            "kdf_time_cost": 1,
            "kdf_memory_kib": 8,
            "kdf_parallelism": 1,
            "insecure_test_kdf": True,
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "mail_from": "visselpipa@bench.example",
            "base_url": "https://bench.example",
        },
    )
    engine = create_engine(url)
    migrate(engine)
    desks = bootstrap(engine, settings).created_desks
    fill(engine, args.cases)
    signer = Signer(settings.signing_seed)
    with engine.begin() as conn:
        for i in range(args.members):
            member, _ = accounts.create_staff(
                conn, f"m{i}", "investigator", "bänkprov lösenord 2026", settings.kdf
            )
            accounts.add_desk_member(
                conn, "anticorruption", member.id, desks["anticorruption"], signer, OPERATOR
            )
            accounts.set_mail_choice(
                conn, member.id, accounts.MailChoice(f"m{i}@bench.example", True)
            )
        ids = list(
            conn.execute(
                sa.select(case_index_table.c.case_id).where(
                    case_index_table.c.desk == "anticorruption"
                )
            ).scalars()
        )
    now = datetime.now(STOCKHOLM).replace(hour=8, minute=0, second=0, microsecond=0)
    today = now.date()
    chosen = random.Random(7).sample(ids, args.events)
    appends = []
    for n, case_id in enumerate(chosen):
        if n % 2:
            event = NewEvent("ReporterMessageAdded", "reporter", today.isoformat(), {})
        else:
            event = NewEvent(
                "CaseEscalated", "system", now.isoformat(timespec="seconds"), {"level": "assignee"}
            )
        appends.append((case_id, 0, [event]))
    with engine.begin() as conn:
        EventStore(engine).append_batch(conn, appends)

    make = []
    for _ in range(args.repeats):
        _forget(engine)
        started = time.perf_counter()
        make_digest_once(engine, today, settings.mail.deadline_notice_days)
        make.append(time.perf_counter() - started)
    send = []
    with smtp_server(port) as server:
        for _ in range(args.repeats):
            _forget(engine)
            make_digest_once(engine, today, settings.mail.deadline_notice_days)
            server.clear()
            started = time.perf_counter()
            report = send_digests(engine, settings.mail, now)
            send.append(time.perf_counter() - started)
            assert report.sent == args.members and not report.failures, report
        sample = server.mails[0][2].get_content()
    engine.dispose()
    return {"make": make, "send": send, "sample": sample}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    names = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{args.cases} cases in case_index, {args.members} members with mail on, "
        f"{args.events} events in the window; medians of {args.repeats}"
    )
    for name in names:
        with tempfile.TemporaryDirectory(prefix="vp-bench-mail-") as tmp:
            workdir = Path(tmp)
            admin = None
            if name == "sqlite":
                url = f"sqlite:///{workdir / 'mail.sqlite3'}"
            else:
                db = f"vp_bench_mail_{secrets.token_hex(4)}"
                admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
                url = sa.make_url(PG_SERVER).set(database=db).render_as_string(hide_password=False)
            try:
                figures = run(url, workdir, args)
            finally:
                if admin is not None:
                    with admin.connect() as conn:
                        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
                    admin.dispose()
        make = statistics.median(figures["make"])
        send = statistics.median(figures["send"])
        print(
            f"\n[{name}] make the digest: {make:.2f} s; deliver {args.members} mails: {send:.2f} s"
        )
        print("one member's mail:\n" + figures["sample"])


if __name__ == "__main__":
    main()
