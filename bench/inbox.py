"""Latency of the staff inbox (GET /staff/inbox) over 100 000 cases: search, sort, pages.

Not part of the test suite. Run::

    .venv/bin/python bench/inbox.py [--cases 100000] [--requests 300]
                                    [--database sqlite|postgresql|both]

Method, per database (SQLite in a temporary directory; PostgreSQL in a fresh
database ``vp_bench_inbox_<random>`` on 127.0.0.1, dropped at the end):

1. migrate to the newest revision and create the desks; create an
   investigator and a desk lead of the anti-corruption team;
2. insert ``--cases`` rows into the read models the inbox reads, directly
   and in bulk (5 000 rows per INSERT, one transaction; nothing else reads
   them here, so no event is written): ``case_index`` — half routed to the
   anti-corruption team, 30 % to the ethics committee, 20 % to oversight;
   10 % of the anti-corruption cases consult the ethics committee; 70 %
   open, the rest concluded, rejected or shredded; next deadlines spread
   over ±200 days around today, so about a third of the open cases are
   overdue; received days over the last 700 days and the last activity
   between then and today; 90 % of the cases assigned to one of 100
   members, the investigator among them (≈ 225 open cases of theirs) — and
   ``case_recusals``: the investigator and the lead are each recused from
   1 % of the cases. Then ``ANALYZE`` (SQLite) or ``VACUUM ANALYZE``
   (PostgreSQL, what autovacuum does after a bulk load);
3. sign both members in through the Flask test client (password, then a
   TOTP code): every request below goes through the whole app, session,
   second factor check, desk lookup, the inbox queries and the template;
4. per scenario, 20 warm-up requests, then ``--requests`` timed ones
   (wall clock around ``client.get``, the response read in full); report
   p50 (the median) and p95.

The scenarios (see ``SCENARIOS``) are the first page with the default
filters, search by a full reference and by a four-character prefix, every
sort order, filters combined with a sort, the deadline window, "needs my
action", page 20, and the desk lead's inbox, needs-my-action and workload.
The app runs in this process (no network, no gunicorn): the figures are the
server's own time per request, not what a browser would see over TLS.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyotp  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from app import create_app  # noqa: E402
from caseflow.clock import STOCKHOLM  # noqa: E402
from caseflow.store import create_engine, migrate  # noqa: E402
from caseflow.store.projections import case_index_table, case_recusals_table  # noqa: E402
from config.settings import load_settings  # noqa: E402
from identity import accounts  # noqa: E402
from identity.bootstrap import bootstrap  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bänkprov för inkorgen 2026"
OPEN = ["received", "acknowledged", "assessed", "investigating", "deliberating", "reopened"]
CLOSED = ["concluded", "rejected", "shredded"]
CATEGORIES = ["bribery", "procurement", "fraud", "partisan_bias", "conflict_of_interest"]
HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')
ATTR = re.compile(r'(\w+)="([^"]*)"')
SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')


def rows(
    count: int, today: date, assignees: list[str], agencies: list[str]
) -> Iterator[dict[str, Any]]:
    rng = random.Random(4711)
    for _ in range(count):
        roll = rng.random()
        desk = "anticorruption" if roll < 0.5 else "ethics" if roll < 0.8 else "oversight"
        consulted = "ethics" if desk == "anticorruption" and rng.random() < 0.1 else ""
        status = rng.choice(OPEN) if rng.random() < 0.7 else rng.choice(CLOSED)
        received = today - timedelta(days=rng.randrange(0, 700))
        active = received + timedelta(days=rng.randrange(0, (today - received).days + 1))
        due = None if status == "shredded" else today + timedelta(days=rng.randrange(-200, 200))
        yield {
            "case_id": secrets.token_hex(16),
            "desk": desk,
            "consulted_desks": consulted,
            "category": rng.choice(CATEGORIES),
            "agency": rng.choice(agencies),
            "status": status,
            "assignee": rng.choice(assignees) if rng.random() < 0.9 else None,
            "severity": None,
            "retaliation_risk": None,
            "outcome": None,
            "received_on": received,
            "closed_on": None if status in OPEN else received + timedelta(days=30),
            "last_activity_on": active,
            "next_deadline_on": due,
            "next_deadline_kind": None if due is None else "feedback",
            "escalation_level": None,
            "senior_officials": False,
            "oversight_informed": False,
            "wake_on": due,
            "version": 3,
        }


def fill(
    engine: sa.Engine, count: int, members: list[str], agencies: list[str]
) -> tuple[float, str]:
    """Fill the read models; return the seconds taken and an open anti-corruption case id."""
    started = time.perf_counter()
    today = datetime.now(STOCKHOLM).date()
    assignees = [*members, *(secrets.token_hex(8) for _ in range(100 - len(members)))]
    rng = random.Random(815)
    batch: list[dict[str, Any]] = []
    recusals: list[dict[str, Any]] = []
    sample = ""
    with engine.begin() as conn:
        for row in rows(count, today, assignees, agencies):
            batch.append(row)
            if not sample and row["desk"] == "anticorruption" and row["status"] in OPEN:
                sample = row["case_id"]
            for member in members:
                if rng.random() < 0.01 and row["case_id"] != sample:
                    recusals.append({"case_id": row["case_id"], "staff_id": member})
            if len(batch) == 5000:
                conn.execute(sa.insert(case_index_table), batch)
                batch.clear()
        if batch:
            conn.execute(sa.insert(case_index_table), batch)
        for start in range(0, len(recusals), 5000):
            conn.execute(sa.insert(case_recusals_table), recusals[start : start + 5000])
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            # What autovacuum does soon after a bulk load in production: the
            # statistics, and the visibility map that lets the counts read
            # the index alone.
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            auto.exec_driver_sql("VACUUM ANALYZE case_index")
            auto.exec_driver_sql("VACUUM ANALYZE case_recusals")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started, sample


def hidden(page: str) -> dict[str, str]:
    """The hidden inputs (the CSRF token) of a page."""
    found: dict[str, str] = {}
    for tag in HIDDEN.findall(page):
        attrs = dict(ATTR.findall(tag))
        found.setdefault(attrs.get("name", ""), attrs.get("value", ""))
    return found


def create_member(engine: sa.Engine, kdf: Any, username: str, role: str, desk_key: Any) -> str:
    with engine.begin() as conn:
        member, _ = accounts.create_staff(conn, username, role, PASSWORD, kdf)
        accounts.add_desk_member(conn, "anticorruption", member.id, desk_key)
    return member.id


def signed_in_client(app: Any, username: str) -> Any:
    app.test_client_class = None
    client = app.test_client()

    def get(path: str) -> Any:
        return client.get(path, base_url="https://localhost")

    def post(path: str, data: dict[str, str]) -> Any:
        return client.post(path, data=data, base_url="https://localhost")

    page = get("/staff/login").get_data(as_text=True)
    post("/staff/login", {**hidden(page), "username": username, "password": PASSWORD})
    page = get("/staff/enrol").get_data(as_text=True)
    match = SECRET.search(page)
    assert match, "no TOTP secret on the enrolment page"
    totp = pyotp.TOTP(match.group(1).replace(" ", ""))
    post("/staff/enrol", {**hidden(page), "code": totp.now()})
    return client


#: (name, who, path): ``{ref}`` is an open case of the desk, ``{prefix}`` its first four.
SCENARIOS = (
    ("default (open, by deadline)", "investigator", "/staff/inbox"),
    ("only overdue", "investigator", "/staff/inbox?status=open&overdue=y"),
    ("reference, whole", "investigator", "/staff/inbox?reference={ref}"),
    ("reference, 4-char prefix", "investigator", "/staff/inbox?reference={prefix}&status=all"),
    ("sort received, newest", "investigator", "/staff/inbox?sort=received&order=desc"),
    ("sort last activity, oldest", "investigator", "/staff/inbox?sort=activity"),
    ("sort reference", "investigator", "/staff/inbox?sort=reference"),
    ("deadline, latest first", "investigator", "/staff/inbox?order=desc"),
    ("category + sort received", "investigator", "/staff/inbox?category=fraud&sort=received"),
    ("agency + all states", "investigator", "/staff/inbox?agency=skatteverket&status=all"),
    ("due within 7 days", "investigator", "/staff/inbox?due=7"),
    ("needs my action", "investigator", "/staff/inbox?action=y"),
    ("only mine, by activity", "investigator", "/staff/inbox?mine=y&sort=activity&order=desc"),
    ("page 20", "investigator", "/staff/inbox?page=20"),
    ("lead: default", "desk_lead", "/staff/inbox"),
    ("lead: needs my action", "desk_lead", "/staff/inbox?action=y"),
    ("lead: workload", "desk_lead", "/staff/workload"),
)


def timed(client: Any, path: str, requests: int) -> tuple[float, float, int]:
    for _ in range(20):
        assert client.get(path, base_url="https://localhost").status_code == 200, path
    samples = []
    size = 0
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path, base_url="https://localhost")
        body = response.get_data()
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200
        size = len(body)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
    return p50 * 1000, p95 * 1000, size


def run(database_url: str, workdir: Path, cases: int, requests: int) -> dict[str, Any]:
    settings = load_settings(
        environ={},
        overrides={
            "secret_key": secrets.token_urlsafe(40),
            "tenant_salt": secrets.token_hex(16),
            "signing_seed": secrets.token_hex(32),
            "data_dir": str(workdir / "data"),
            "database_url": database_url,
            "kdf_time_cost": 1,
            "kdf_memory_kib": 8,
            "kdf_parallelism": 1,
            "insecure_test_kdf": True,
        },
    )
    engine = create_engine(database_url)
    migrate(engine)
    desks = bootstrap(engine, settings).created_desks
    key = desks["anticorruption"]
    members = {
        "investigator": create_member(engine, settings.kdf, "bänk", "investigator", key),
        "desk_lead": create_member(engine, settings.kdf, "ledare", "desk_lead", key),
    }
    agencies = [a.id for a in settings.agencies]
    seconds, sample = fill(engine, cases, list(members.values()), agencies)
    app = create_app(settings, {"TESTING": True})
    clients = {"investigator": signed_in_client(app, "bänk")}
    clients["desk_lead"] = signed_in_client(app, "ledare")
    figures: dict[str, Any] = {"fill_s": seconds}
    for name, who, path in SCENARIOS:
        figures[name] = timed(clients[who], path.format(ref=sample, prefix=sample[:4]), requests)
        print(f"  {name}: p50 {figures[name][0]:.1f} ms", file=sys.stderr, flush=True)
    app.extensions["visselpipa.engine"].dispose()
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    names = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    print(
        f"{args.cases} rows in case_index; an investigator and a desk lead of the "
        "anti-corruption team signed in through the Flask test client; 20 warm-up + "
        f"{args.requests} timed GETs per scenario"
    )
    for name in names:
        with tempfile.TemporaryDirectory(prefix="vp-bench-inbox-") as tmp:
            workdir = Path(tmp)
            admin = None
            if name == "sqlite":
                url = f"sqlite:///{workdir / 'inbox.sqlite3'}"
            else:
                db = f"vp_bench_inbox_{secrets.token_hex(4)}"
                admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
                url = sa.make_url(PG_SERVER).set(database=db).render_as_string(hide_password=False)
            try:
                figures = run(url, workdir, args.cases, args.requests)
            finally:
                if admin is not None:
                    with admin.connect() as conn:
                        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
                    admin.dispose()
            print(f"\n[{name}] filled case_index in {figures['fill_s']:.1f} s (not measured)")
            print(f"{'scenario':<28} {'p50 ms':>8} {'p95 ms':>8} {'page bytes':>11}")
            for scenario, _who, _path in SCENARIOS:
                p50, p95, size = figures[scenario]
                print(f"{scenario:<28} {p50:>8.1f} {p95:>8.1f} {size:>11}")


if __name__ == "__main__":
    main()
