"""Keep the read models in step with the log, and rebuild them from it.

Every projection row is a function of one case's state (or of one flag
event), so the same functions serve both paths:

- **live**: :class:`CaseService` calls :meth:`Projections.case_changed` inside
  the transaction that appends a case's events, with the state after them;
- **rebuild**: :meth:`Projections.rebuild` replays the whole log in sequence
  order and writes the rows of every final state.

A test rebuilds a database that was projected live and finds the tables
identical, row for row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlalchemy as sa

from caseflow.domain import CaseState, Rules, evolve, from_record, wake_on
from caseflow.domain.events import EVENT_TYPES, CaseEvent, SystemicPatternFlagged
from caseflow.domain.policies.deadlines import Deadline, open_deadlines
from caseflow.domain.summaries import FindingSummary
from caseflow.domain.vocabulary import EscalationLevel, Severity
from caseflow.store import RecordedEvent
from caseflow.store.events import APPEND_LOCK_KEY
from caseflow.store.projections import (
    PROJECTION_TABLES,
    agency_flags_table,
    case_index_table,
    case_recusals_table,
    findings_table,
    projection_position_table,
    sanction_proposals_table,
)

#: The type names whose events fold into a case's state.
CASE_EVENT_TYPES = frozenset(
    name for name, cls in EVENT_TYPES.items() if issubclass(cls, CaseEvent)
)
FLAG_TYPE = SystemicPatternFlagged.__name__
POSITION = "events"
_LEVELS = list(EscalationLevel)
#: Rows per INSERT statement when writing many (bounded memory, few round trips).
_CHUNK = 2000


def case_row(state: CaseState, rules: Rules) -> dict[str, Any]:
    """The ``case_index`` row of ``state``."""
    deadlines = open_deadlines(state, rules.deadlines)
    deadline = deadlines[0] if deadlines else None
    return {
        "case_id": state.case_id,
        "desk": state.desk,
        "consulted_desks": " ".join(state.consulted_desks),
        "category": state.category,
        "agency": state.agency,
        "status": state.status.value,
        "assignee": state.assignee,
        "severity": _value(state.severity),
        "retaliation_risk": _value(state.retaliation_risk),
        "outcome": _value(state.outcome),
        "received_on": state.received_on,
        "closed_on": state.closed_on,
        "last_activity_on": state.last_activity_on,
        "next_deadline_on": None if deadline is None else deadline.due_on,
        "next_deadline_kind": None if deadline is None else deadline.kind.value,
        "escalation_level": _escalation_level(state, deadlines),
        "senior_officials": state.senior_officials_involved,
        "oversight_informed": state.oversight_informed,
        "wake_on": wake_on(state, rules, deadlines),
        "version": state.version,
    }


def _escalation_level(state: CaseState, deadlines: Sequence[Deadline]) -> str | None:
    """The highest rung reached on a deadline the case still has."""
    current = {(d.kind, d.reference, d.due_on) for d in deadlines}
    reached = [level for kind, ref, due, level in state.escalations if (kind, ref, due) in current]
    return max(reached, key=_LEVELS.index).value if reached else None


def finding_rows(state: CaseState) -> list[dict[str, Any]]:
    return [
        {
            "case_id": state.case_id,
            "finding_id": f.finding_id,
            "agency": state.agency,
            "subject_id": f.subject_id,
            "substantiated": f.substantiated,
            "severity": f.severity.value,
            "found_on": f.recorded_on,
            "recorded_by": f.recorded_by,
        }
        for f in state.findings
    ]


def proposal_rows(state: CaseState) -> list[dict[str, Any]]:
    return [
        {
            "case_id": state.case_id,
            "proposal_id": p.proposal_id,
            "subject_id": p.subject_id,
            "level": p.level.value,
            "possible_retaliation": p.possible_retaliation,
            "votes_cast": len(p.votes),
            "approved": p.approved,
        }
        for p in state.proposals
    ]


def flag_row(seq: int, flag: SystemicPatternFlagged) -> dict[str, Any]:
    return {
        "seq": seq,
        "agency": flag.agency,
        "case_ids": " ".join(flag.case_ids),
        "window_from": flag.window_from,
        "window_to": flag.window_to,
        "notify": " ".join(flag.notify),
    }


@dataclass(frozen=True)
class RebuildReport:
    events: int
    cases: int
    flags: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


class Projections:
    """Writes the read models; knows the rules because deadlines depend on them."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules

    # -- live --------------------------------------------------------------------

    def case_changed(
        self, conn: sa.Connection, state: CaseState, recorded: Sequence[RecordedEvent]
    ) -> None:
        """Project ``state`` (a case just appended to) in the caller's transaction."""
        self.cases_changed(conn, [state], max((e.seq for e in recorded), default=0))

    def cases_changed(self, conn: sa.Connection, states: Sequence[CaseState], seq: int) -> None:
        """Replace the rows of ``states`` (the tick projects many cases at once)."""
        if not states:
            return
        ids = [s.case_id for s in states]
        for table in (
            case_index_table,
            findings_table,
            sanction_proposals_table,
            case_recusals_table,
        ):
            for part in _chunks(ids, 500):
                conn.execute(sa.delete(table).where(table.c.case_id.in_(part)))
        self._write_states(conn, states)
        self._advance(conn, seq)

    def index_changed(self, conn: sa.Connection, states: Sequence[CaseState], seq: int) -> None:
        """Replace only the ``case_index`` rows of ``states``.

        For the tick: the events it appends (escalations, reminders, notices,
        warnings, shredding) never change a case's findings or proposals.
        """
        if not states:
            return
        t = case_index_table
        for part in _chunks([s.case_id for s in states], 500):
            conn.execute(sa.delete(t).where(t.c.case_id.in_(part)))
        for part in _chunks(list(states), _CHUNK):
            conn.execute(sa.insert(t), [case_row(state, self.rules) for state in part])
        self._advance(conn, seq)

    def flags_raised(self, conn: sa.Connection, recorded: Sequence[RecordedEvent]) -> None:
        rows = [flag_row(e.seq, _flag(e.meta)) for e in recorded if e.type == FLAG_TYPE]
        if rows:
            conn.execute(sa.insert(agency_flags_table), rows)
            self._advance(conn, max(r["seq"] for r in rows))

    def _write_states(self, conn: sa.Connection, states: Iterable[CaseState]) -> None:
        cases: list[dict[str, Any]] = []
        findings: list[dict[str, Any]] = []
        proposals: list[dict[str, Any]] = []
        recusals: list[dict[str, Any]] = []

        def flush() -> None:
            for table, rows in (
                (case_index_table, cases),
                (findings_table, findings),
                (sanction_proposals_table, proposals),
                (case_recusals_table, recusals),
            ):
                if rows:
                    conn.execute(sa.insert(table), rows)
                    rows.clear()

        for state in states:
            cases.append(case_row(state, self.rules))
            findings.extend(finding_rows(state))
            proposals.extend(proposal_rows(state))
            recusals.extend(
                {"case_id": state.case_id, "staff_id": staff} for staff in sorted(state.recused)
            )
            if len(cases) >= _CHUNK:
                flush()
        flush()

    @staticmethod
    def _advance(conn: sa.Connection, seq: int) -> None:
        t = projection_position_table
        moved = conn.execute(
            sa.update(t).where(t.c.name == POSITION, t.c.last_seq < seq).values(last_seq=seq)
        ).rowcount
        if (
            not moved
            and conn.execute(sa.select(t.c.name).where(t.c.name == POSITION)).first() is None
        ):
            conn.execute(sa.insert(t).values(name=POSITION, last_seq=seq))

    # -- rebuild -----------------------------------------------------------------

    def rebuild(self, engine: sa.Engine) -> RebuildReport:
        """Drop every projection row and derive them again from the whole log.

        Runs in one transaction that holds the append lock, so no event is
        appended between the read and the write; appenders wait (at about
        50 000 events a second, a million events take some twenty seconds).
        """
        started = time.perf_counter()
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))
            states, flags, count, last_seq = self._replay_log(conn)
            for table in PROJECTION_TABLES:
                conn.execute(sa.delete(table))
            self._write_states(conn, states.values())
            for part in _chunks(flags, _CHUNK):
                conn.execute(sa.insert(agency_flags_table), part)
            if last_seq:
                self._advance(conn, last_seq)
        return RebuildReport(
            events=count,
            cases=len(states),
            flags=len(flags),
            seconds=time.perf_counter() - started,
        )

    @staticmethod
    def _replay_log(
        conn: sa.Connection,
    ) -> tuple[dict[str, CaseState], list[dict[str, Any]], int, int]:
        states: dict[str, CaseState] = {}
        flags: list[dict[str, Any]] = []
        count = last_seq = 0
        fresh = CaseState()
        for seq, stream_id, type_name, meta in _log_rows(conn):
            count += 1
            last_seq = seq
            if type_name in CASE_EVENT_TYPES:
                event = from_record(type_name, json.loads(meta))
                assert isinstance(event, CaseEvent)
                states[stream_id] = evolve(states.get(stream_id, fresh), event)
            elif type_name == FLAG_TYPE:
                flags.append(flag_row(seq, _flag(json.loads(meta))))
        return states, flags, count, last_seq


def _log_rows(conn: sa.Connection) -> Iterator[tuple[int, str, str, str]]:
    """(seq, stream_id, type, meta) of every event in seq order, in bounded memory.

    Through the driver's own cursor (a server-side one on PostgreSQL): the
    rebuild reads the whole log, and SQLAlchemy's row objects would cost
    more than the rest of the work on each row. Other drivers take the
    portable path.
    """
    query = "SELECT seq, stream_id, type, meta FROM events ORDER BY seq"
    backend = (conn.dialect.name, conn.dialect.driver)
    if backend not in (("sqlite", "pysqlite"), ("postgresql", "psycopg")):
        yield from conn.exec_driver_sql(query).tuples()
        return
    dbapi = conn.connection.driver_connection
    assert dbapi is not None  # a checked-out connection has one
    cursor = dbapi.cursor() if backend[0] == "sqlite" else dbapi.cursor(name="visselpipa_rebuild")
    try:
        cursor.execute(query)
        while rows := cursor.fetchmany(10_000):
            yield from rows
    finally:
        cursor.close()


def _value(member: Enum | None) -> str | None:
    return None if member is None else str(member.value)


def _flag(meta: dict[str, Any]) -> SystemicPatternFlagged:
    event = from_record(FLAG_TYPE, meta)
    assert isinstance(event, SystemicPatternFlagged)
    return event


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- reading -------------------------------------------------------------------


def finding_summaries(conn: sa.Connection, *criteria: Any) -> list[FindingSummary]:
    """Findings from the projection, as the cross-case policies take them."""
    t = findings_table
    rows = conn.execute(sa.select(t).where(*criteria).order_by(t.c.found_on, t.c.finding_id))
    return [
        FindingSummary(
            case_id=r.case_id,
            finding_id=r.finding_id,
            agency=r.agency,
            subject_id=r.subject_id,
            substantiated=r.substantiated,
            severity=Severity(r.severity),
            found_on=r.found_on,
            recorded_by=r.recorded_by,
        )
        for r in rows
    ]


def earlier_findings(
    conn: sa.Connection, subject_id: str, case_id: str
) -> tuple[FindingSummary, ...]:
    """The subject's findings in other cases: what ``ProposeSanction`` climbs the ladder on."""
    t = findings_table
    return tuple(finding_summaries(conn, t.c.subject_id == subject_id, t.c.case_id != case_id))
