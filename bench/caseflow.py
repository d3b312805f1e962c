"""Speed of `visselpipa tick` and `visselpipa rebuild-projections` on a large deployment.

Not part of the test suite. Run::

    .venv/bin/python bench/caseflow.py [--cases 100000] [--database sqlite|postgresql|both]
                                       [--repeats 3]

Seeds a fresh database (SQLite file in a temporary directory, or a new
PostgreSQL database ``vp_bench_<random>`` on 127.0.0.1, dropped afterwards):
``--cases`` cases received over the 120 days before 1 December 2026, each
walked by the real decider through a random prefix of a typical journey
(acknowledge, assign, assess, investigate, findings, messages both ways), so
about ten events per case and every case still open. The events are appended
with the store's own chain (``EventStore.append_batch``), so seeding is slow
and not measured.

Then, ``--repeats`` times on a fresh copy of the seeded database:

1. ``rebuild``: :meth:`Projections.rebuild` over the whole log (events/s);
2. ``tick, backlog``: the first tick at 2026-12-01 08:00 — every deadline
   missed since the cases arrived is escalated at once (the worst case: a
   tick that never ran, or ran after a long outage);
3. ``tick, again``: a second tick at the same moment (idempotence: appends nothing);
4. ``tick, next day``: the daily tick 24 hours later.

Medians are printed with the machine. Aims (issue 3): tick < 10 s for
100 000 open cases; rebuild ≥ 50 000 events/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from caseflow.domain import CaseState, decide, evolve, to_record  # noqa: E402
from caseflow.domain.commands import (  # noqa: E402
    Acknowledge,
    AddReporterMessage,
    Assess,
    Assign,
    Command,
    OpenInvestigation,
    Receive,
    RecordFinding,
    RequestInformation,
)
from caseflow.domain.dates import STOCKHOLM  # noqa: E402
from caseflow.domain.rules import load_rules  # noqa: E402
from caseflow.domain.vocabulary import RetaliationRisk, Severity  # noqa: E402
from caseflow.service.cases import REPORTER, recorded_at, reporter_moment  # noqa: E402
from caseflow.service.projections import Projections  # noqa: E402
from caseflow.service.tick import Tick  # noqa: E402
from caseflow.store import EventStore, NewEvent, create_engine, migrate  # noqa: E402
from config.settings import PACKAGE_DIR  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
RULES = load_rules(PACKAGE_DIR / "rules")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=STOCKHOLM)
MEMBERS = {
    "anticorruption": frozenset({"ana", "bo"}),
    "ethics": frozenset({"cecilia", "dan", "eva"}),
    "oversight": frozenset({"olle"}),
}
CATEGORIES = ["bribery", "procurement", "fraud", "partisan_bias", "conflict_of_interest"]
AGENCIES = [f"agency-{n:02}" for n in range(40)]
SEALED = os.urandom(700)  # a sealed report or message: opaque bytes to the store


def journey(rng: random.Random, case_id: str) -> Iterator[tuple[Command, datetime]]:
    """A random prefix of a typical case, with the moment of each step."""
    received = NOW.date() - timedelta(days=rng.randrange(1, 121))
    at = datetime.combine(received, datetime.min.time(), STOCKHOLM)
    yield (
        Receive(
            case_id=case_id,
            actor=REPORTER,
            category=rng.choice(CATEGORIES),
            agency=rng.choice(AGENCIES),
            received_on=received,
            senior_officials_involved=rng.random() < 0.05,
            desk_members=MEMBERS,
            contact_provided=rng.random() < 0.3,
        ),
        at,
    )
    staff = rng.choice(["ana", "bo"])
    steps: list[Callable[[int], Command]] = [
        lambda n: Acknowledge(case_id, staff, f"m{n}"),
        lambda n: Assign(case_id, staff, staff),
        lambda n: RequestInformation(case_id, staff, f"m{n}"),
        lambda n: AddReporterMessage(case_id, REPORTER, f"r{n}"),
        lambda n: Assess(case_id, staff, True, Severity.MEDIUM, RetaliationRisk.LOW, "in scope"),
        lambda n: OpenInvestigation(case_id, staff),
        lambda n: RequestInformation(case_id, staff, f"m{n}"),
        lambda n: AddReporterMessage(case_id, REPORTER, f"r{n}"),
        lambda n: RecordFinding(
            case_id,
            staff,
            f"f{n}",
            rng.random() < 0.6,
            f"subject-{rng.randrange(5000)}",
            rng.choice(list(Severity)),
        ),
        lambda n: RequestInformation(case_id, staff, f"m{n}"),
        lambda n: AddReporterMessage(case_id, REPORTER, f"r{n}"),
    ]
    for n, step in enumerate(steps[: rng.randrange(0, len(steps) + 1)]):
        at += timedelta(days=rng.randrange(0, 6), hours=rng.randrange(0, 8))
        if at >= NOW:
            return
        yield step(n), at


def seed(engine: sa.Engine, cases: int) -> int:
    """Append every case's events, 1 000 cases per transaction; returns the event count."""
    store = EventStore(engine)
    rng = random.Random(2026)
    total = 0
    batch: list[tuple[str, int, list[NewEvent]]] = []

    def flush() -> None:
        with engine.begin() as conn:
            store.append_batch(conn, batch)
        batch.clear()

    for _ in range(cases):
        case_id = secrets.token_hex(16)
        state, records = CaseState(), []
        for command, at in journey(rng, case_id):
            when = reporter_moment(at) if command.actor == REPORTER else at
            for event in decide(state, command, when, RULES):
                state = evolve(state, event)
                type_name, meta = to_record(event)
                records.append(
                    NewEvent(
                        type=type_name,
                        actor=command.actor,
                        recorded_at=recorded_at(command.actor, when),
                        meta=meta,
                        body=SEALED
                        if type_name in ("ReportReceived", "ReporterMessageAdded")
                        else None,
                    )
                )
        batch.append((case_id, 0, records))
        total += len(records)
        if len(batch) == 1000:
            flush()
    if batch:
        flush()
    return total


class Backend:
    """A seeded database and fresh copies of it for each measured run."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name, self.workdir, self.copies = name, workdir, 0
        self.admin: sa.Engine | None = None
        if name == "sqlite":
            self.seed_url = f"sqlite:///{workdir / 'seed.sqlite3'}"
        else:
            self.admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
            self.seed_db = f"vp_bench_{secrets.token_hex(4)}"
            self._sql(f'CREATE DATABASE "{self.seed_db}"')
            self.seed_url = (
                sa.make_url(PG_SERVER)
                .set(database=self.seed_db)
                .render_as_string(hide_password=False)
            )
        self.made: list[str] = []

    def _sql(self, text: str) -> None:
        assert self.admin is not None
        with self.admin.connect() as conn:
            conn.exec_driver_sql(text)

    def fresh_copy(self) -> str:
        self.copies += 1
        if self.name == "sqlite":
            target = self.workdir / f"copy-{self.copies}.sqlite3"
            shutil.copyfile(self.workdir / "seed.sqlite3", target)
            return f"sqlite:///{target}"
        name = f"{self.seed_db}_{self.copies}"
        self._sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.seed_db}"')
        self.made.append(name)
        return sa.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)

    def drop(self) -> None:
        if self.admin is None:
            return
        for name in [*self.made, self.seed_db]:
            self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()


def measure(backend: Backend, repeats: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {
        "rebuild_events_per_s": [], "rebuild_s": [], "tick_backlog_s": [],
        "tick_again_s": [], "tick_next_day_s": [], "backlog_events": [],
        "backlog_cases": [], "next_day_cases": [],
    }  # fmt: skip
    for _ in range(repeats):
        engine = create_engine(backend.fresh_copy())
        rebuilt = Projections(RULES).rebuild(engine)
        figures["rebuild_events_per_s"].append(rebuilt.events_per_second)
        figures["rebuild_s"].append(rebuilt.seconds)
        tick = Tick(engine, RULES)
        backlog = tick.run(NOW)
        figures["tick_backlog_s"].append(backlog.seconds)
        figures["backlog_events"].append(backlog.events_appended)
        figures["backlog_cases"].append(backlog.cases_examined)
        again = tick.run(NOW)
        assert again.events_appended == 0, "a second tick at the same moment appended events"
        figures["tick_again_s"].append(again.seconds)
        next_day = tick.run(NOW + timedelta(days=1))
        figures["tick_next_day_s"].append(next_day.seconds)
        figures["next_day_cases"].append(next_day.cases_examined)
        engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    names = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    machine = platform.processor() or platform.machine()
    system = f"{platform.system()} {platform.release()}"
    print(f"machine: {machine}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"Python {platform.python_version()}, {system}")  # fmt: skip
    print(f"{args.cases} open cases received over the 120 days before {NOW.date()}; "
          f"medians of {args.repeats} runs, each on a fresh copy")  # fmt: skip
    for name in names:
        with tempfile.TemporaryDirectory(prefix="vp-bench-") as tmp:
            backend = Backend(name, Path(tmp))
            try:
                engine = create_engine(backend.seed_url)
                migrate(engine)
                started = time.perf_counter()
                events = seed(engine, args.cases)
                engine.dispose()
                print(f"\n[{name}] seeded {events} events in "
                      f"{time.perf_counter() - started:.0f} s (not measured)")  # fmt: skip
                f = {k: statistics.median(v) for k, v in measure(backend, args.repeats).items()}
                print(
                    f"  rebuild-projections: {f['rebuild_events_per_s']:,.0f} events/s "
                    f"({f['rebuild_s']:.1f} s for {events} events; aim >= 50,000/s)"
                )
                print(
                    f"  tick, backlog:   {f['tick_backlog_s']:.2f} s for "
                    f"{f['backlog_cases']:.0f} due cases, {f['backlog_events']:.0f} events "
                    f"appended (aim < 10 s for {args.cases} open cases)"
                )
                print(f"  tick, again:     {f['tick_again_s']:.2f} s (appended nothing)")
                print(f"  tick, next day:  {f['tick_next_day_s']:.2f} s for "
                      f"{f['next_day_cases']:.0f} due cases")  # fmt: skip
            finally:
                backend.drop()


if __name__ == "__main__":
    main()
