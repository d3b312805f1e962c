"""``visselpipa tick``: what the passing of time brings, appended to the log.

The tick reads from the case index only the cases whose wake day has come
(:func:`caseflow.domain.wake_on`), replays them in batches, appends what
:func:`caseflow.domain.due_events` returns (reminders, escalations, the
oversight notice, retention shredding), destroys the grants (and sealed files) of shredded cases
in the same transaction, and flags agencies with repeated substantiated cases.

**Idempotent**: ``due_events`` returns nothing for what is already recorded,
so a second tick at the same ``now`` appends nothing.

**Safe when run twice at once**: each batch is decided and appended in one
transaction that first takes the log's append lock (PostgreSQL advisory lock;
SQLite's single writer), so a second tick sees the first one's events before
it decides; an append against a stream that moved anyway raises a conflict
and the batch is decided again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from caseflow.domain import CaseState, Rules, due_events, evolve, from_record, to_record
from caseflow.domain.dates import local_date, require_aware
from caseflow.domain.events import CaseEvent, CaseShredded, Event
from caseflow.domain.policies.escalation import systemic_flags
from caseflow.domain.summaries import FindingSummary
from caseflow.domain.vocabulary import SYSTEM_ACTOR
from caseflow.service.cases import MAX_ATTEMPTS, recorded_at
from caseflow.service.projections import CASE_EVENT_TYPES, Projections, finding_summaries
from caseflow.store import ConcurrencyConflict, EventStore, NewEvent, events_table
from caseflow.store.blobs import blob_chunks_table
from caseflow.store.events import APPEND_LOCK_KEY
from caseflow.store.projections import agency_flags_table, case_index_table, findings_table
from caseflow.store.records import files_table, grants_table

#: Cases decided and appended per transaction: large enough for few round
#: trips, small enough that the append lock is held only briefly.
BATCH = 500


def agency_stream(agency: str) -> str:
    """The stream that holds an agency's systemic flags."""
    return f"agency:{agency}"


@dataclass
class TickReport:
    now: datetime
    cases_examined: int = 0
    cases_changed: int = 0
    events_appended: int = 0
    shredded: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Tick:
    """Runs the clock's part of the workflow over every case that is due."""

    def __init__(self, engine: sa.Engine, rules: Rules, batch: int = BATCH) -> None:
        self.engine = engine
        self.rules = rules
        self.store = EventStore(engine)
        self.projections = Projections(rules)
        self.batch = batch

    def run(self, now: datetime) -> TickReport:
        require_aware(now)
        started = time.perf_counter()
        report = TickReport(now=now)
        for part in _chunks(self._due_case_ids(now), self.batch):
            self._tick_cases(part, now, report)
        self._flag_agencies(now, report)
        report.seconds = time.perf_counter() - started
        return report

    def _due_case_ids(self, now: datetime) -> list[str]:
        t = case_index_table
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(t.c.case_id)
                    .where(t.c.wake_on <= local_date(now))
                    .order_by(t.c.case_id)
                ).scalars()
            )

    def _tick_cases(self, case_ids: Sequence[str], now: datetime, report: TickReport) -> None:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.engine.begin() as conn:
                    _lock(conn)
                    changed = self._decide_and_append(conn, case_ids, now)
                break
            except ConcurrencyConflict:
                if attempt == MAX_ATTEMPTS:
                    raise
        report.cases_examined += len(case_ids)
        report.cases_changed += changed.cases
        report.events_appended += changed.events
        report.shredded.extend(changed.shredded)

    def _decide_and_append(
        self, conn: sa.Connection, case_ids: Sequence[str], now: datetime
    ) -> _Changed:
        states = _load_states(conn, case_ids)
        appends: list[tuple[str, int, list[NewEvent]]] = []
        after: list[CaseState] = []
        shredded: list[str] = []
        for state in states:
            events = due_events(state, now, self.rules)
            moved = state
            for event in events:
                moved = evolve(moved, event)
                if isinstance(event, CaseShredded):
                    shredded.append(state.case_id)
            if events:
                appends.append((state.case_id, state.version, [_record(e, now) for e in events]))
            # Rows of cases with nothing due are rewritten too: their wake day
            # was computed under rules that may since have changed.
            after.append(moved)
        recorded = self.store.append_batch(conn, appends)
        for part in _chunks(shredded, 500):
            # Crypto-shredding: without a grant the case key is gone for good.
            conn.execute(sa.delete(grants_table).where(grants_table.c.case_id.in_(part)))
            # The sealed files no key opens any more: gone too, with their rows.
            held = sa.select(files_table.c.id).where(files_table.c.case_id.in_(part))
            conn.execute(sa.delete(blob_chunks_table).where(blob_chunks_table.c.blob_id.in_(held)))
            conn.execute(sa.delete(files_table).where(files_table.c.case_id.in_(part)))
        last_seq = max((e.seq for e in recorded), default=0)
        self.projections.index_changed(conn, after, last_seq)
        return _Changed(cases=len(appends), events=len(recorded), shredded=shredded)

    def _flag_agencies(self, now: datetime, report: TickReport) -> None:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.engine.begin() as conn:
                    _lock(conn)
                    flags = systemic_flags(
                        _recent_findings(conn, now, self.rules),
                        _flagged(conn),
                        now,
                        self.rules.escalation,
                    )
                    if not flags:
                        return
                    streams = [agency_stream(f.agency) for f in flags]
                    versions = self.store.stream_versions(conn, streams)
                    recorded = self.store.append_batch(
                        conn,
                        [
                            (stream, versions.get(stream, 0), [_record(flag, now)])
                            for stream, flag in zip(streams, flags, strict=True)
                        ],
                    )
                    self.projections.flags_raised(conn, recorded)
                report.flags.extend(f.agency for f in flags)
                report.events_appended += len(recorded)
                return
            except ConcurrencyConflict:
                if attempt == MAX_ATTEMPTS:
                    raise


@dataclass(frozen=True)
class _Changed:
    cases: int
    events: int
    shredded: list[str]


def _lock(conn: sa.Connection) -> None:
    """Take the append lock before reading, so a concurrent tick's events are seen."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))
    # SQLite: engine.begin() issued BEGIN IMMEDIATE, the database's one write lock.


def _record(event: Event, now: datetime) -> NewEvent:
    type_name, meta = to_record(event)
    return NewEvent(
        type=type_name, actor=SYSTEM_ACTOR, recorded_at=recorded_at(SYSTEM_ACTOR, now), meta=meta
    )


def _load_states(conn: sa.Connection, case_ids: Sequence[str]) -> list[CaseState]:
    states: dict[str, CaseState] = {case_id: CaseState() for case_id in case_ids}
    for stream_id, type_name, meta in _stream_rows(conn, case_ids):
        if type_name in CASE_EVENT_TYPES:
            event = from_record(type_name, _json(meta))
            if isinstance(event, CaseEvent):
                states[stream_id] = evolve(states[stream_id], event)
    return [state for state in states.values() if state.version]


def _stream_rows(conn: sa.Connection, stream_ids: Sequence[str]) -> list[tuple[str, str, str]]:
    """(stream_id, type, meta) of the streams' events, by stream and version.

    Through the driver's cursor on SQLite and psycopg: the tick may replay a
    hundred thousand cases, and SQLAlchemy's row objects would cost more than
    decoding them.
    """
    backend = (conn.dialect.name, conn.dialect.driver)
    if backend not in (("sqlite", "pysqlite"), ("postgresql", "psycopg")):
        t = events_table
        query = (
            sa.select(t.c.stream_id, t.c.type, t.c.meta)
            .where(t.c.stream_id.in_(list(stream_ids)))
            .order_by(t.c.stream_id, t.c.version)
        )
        return [(row[0], row[1], row[2]) for row in conn.execute(query)]
    mark = "?" if backend[0] == "sqlite" else "%s"
    marks = ",".join([mark] * len(stream_ids))
    dbapi = conn.connection.driver_connection
    assert dbapi is not None  # a checked-out connection has one
    cursor = dbapi.cursor()
    try:
        cursor.execute(
            "SELECT stream_id, type, meta FROM events "  # noqa: S608 - placeholders only
            f"WHERE stream_id IN ({marks}) ORDER BY stream_id, version",
            list(stream_ids),
        )
        rows: list[tuple[str, str, str]] = cursor.fetchall()
        return rows
    finally:
        cursor.close()


def _recent_findings(conn: sa.Connection, now: datetime, rules: Rules) -> list[FindingSummary]:
    t = findings_table
    since = local_date(now) - timedelta(days=rules.escalation.systemic_window_days)
    return finding_summaries(conn, t.c.substantiated.is_(True), t.c.found_on >= since)


def _flagged(conn: sa.Connection) -> dict[str, frozenset[str]]:
    t = agency_flags_table
    covered: dict[str, frozenset[str]] = {}
    for agency, case_ids in conn.execute(sa.select(t.c.agency, t.c.case_ids)):
        covered[agency] = covered.get(agency, frozenset()) | frozenset(case_ids.split())
    return covered


def _json(text: str) -> dict[str, object]:
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
