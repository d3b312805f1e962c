"""`visselpipa tick` against the real store: escalations, idempotence, shredding, flags, races.

Every test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from caseflow.domain.commands import (
    Acknowledge,
    Assess,
    Conclude,
    OpenInvestigation,
    Receive,
    RecordFinding,
)
from caseflow.domain.dates import STOCKHOLM
from caseflow.domain.rules import load_rules
from caseflow.domain.vocabulary import Outcome, RetaliationRisk, Severity
from caseflow.service.cases import CaseService, Step
from caseflow.service.tick import Tick, agency_stream
from caseflow.store import EventStore, create_engine, verify_chain
from caseflow.store.projections import agency_flags_table, case_index_table
from caseflow.store.records import grants_table

RULES = load_rules(Path(__file__).resolve().parents[3] / "config" / "rules")
MEMBERS = {
    "anticorruption": frozenset({"ana", "bo"}),
    "ethics": frozenset({"cecilia", "dan", "eva"}),
    "oversight": frozenset({"olle"}),
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


def receive(cases: CaseService, case_id: str, day: date, agency: str = "skatteverket") -> None:
    command = Receive(
        case_id=case_id,
        actor="reporter",
        category="bribery",
        agency=agency,
        received_on=day,
        senior_officials_involved=False,
        desk_members=MEMBERS,
    )
    cases.execute(
        case_id, [Step(command)], now=datetime.combine(day, datetime.min.time(), STOCKHOLM)
    )


def run(cases: CaseService, case_id: str, now: datetime, *commands: Any) -> None:
    cases.execute(case_id, [Step(c) for c in commands], now=now)


def index_row(engine: Engine, case_id: str) -> Any:
    with engine.connect() as conn:
        t = case_index_table
        return conn.execute(sa.select(t).where(t.c.case_id == case_id)).one()


def event_types(engine: Engine, stream: str) -> list[str]:
    return [e.type for e in EventStore(engine).read_stream(stream)]


def test_a_missed_acknowledgement_climbs_the_ladder_once_per_step(engine: Engine) -> None:
    cases = CaseService(engine, RULES)
    receive(cases, "late", date(2026, 3, 2))
    receive(cases, "on-time", date(2026, 3, 2))
    run(cases, "on-time", at("2026-03-04 10:00"), Acknowledge("on-time", "ana", "m-1"))
    tick = Tick(engine, RULES)

    # Due on 9 March; missed from 00:00 on the 10th, Stockholm time.
    assert tick.run(at("2026-03-09 23:59")).events_appended == 0
    first = tick.run(at("2026-03-10 00:01"))
    assert first.events_appended == 1 and first.cases_changed == 1
    assert event_types(engine, "late")[-1] == "CaseEscalated"
    assert index_row(engine, "late").escalation_level == "assignee"
    assert index_row(engine, "late").wake_on == date(2026, 3, 13)  # desk lead after 3 days
    assert index_row(engine, "on-time").escalation_level is None

    # A second tick at the same moment appends nothing.
    assert tick.run(at("2026-03-10 00:01")).events_appended == 0
    # Three days later the desk lead is told, then oversight after ten.
    assert tick.run(at("2026-03-13 08:00")).events_appended == 1
    # By the 20th both cases have also been idle for 14 days: one reminder each.
    assert tick.run(at("2026-03-20 08:00")).events_appended == 3
    assert index_row(engine, "late").escalation_level == "oversight"
    escalated = [e for e in EventStore(engine).read_stream("late") if e.type == "CaseEscalated"]
    assert [e.meta["level"] for e in escalated] == ["assignee", "desk_lead", "oversight"]
    assert event_types(engine, "on-time")[-1] == "InactivityReminderIssued"
    assert verify_chain(engine).ok


def test_the_tick_reads_only_cases_whose_day_has_come(engine: Engine) -> None:
    cases = CaseService(engine, RULES)
    for n in range(5):
        receive(cases, f"case-{n}", date(2026, 5, 1) + timedelta(days=n))
    report = Tick(engine, RULES).run(at("2026-05-10 12:00"))
    # Received 1–3 May are overdue (due 8–10 May, missed by the 10th at noon
    # only for 1 and 2 May); the others are not even read.
    assert report.cases_examined == 2 and report.events_appended == 2


def test_retention_shreds_the_grants_and_keeps_the_chain_and_the_figures(engine: Engine) -> None:
    cases = CaseService(engine, RULES)
    receive(cases, "old", date(2024, 1, 8))
    run(
        cases,
        "old",
        at("2024-01-10 09:00"),
        Acknowledge("old", "ana", "m-1"),
        Assess("old", "ana", True, Severity.LOW, RetaliationRisk.LOW, "in scope"),
        Conclude("old", "ana", Outcome.NO_FURTHER_ACTION, "nothing found"),
    )
    with engine.begin() as conn:
        conn.execute(
            sa.insert(grants_table),
            [{"case_id": "old", "recipient": "desk:anticorruption", "sealed_key": b"k" * 80}],
        )
    tick = Tick(engine, RULES)
    assert tick.run(at("2026-01-10 12:00")).shredded == []  # two years end on the 10th
    report = tick.run(at("2026-01-11 00:00"))
    assert report.shredded == ["old"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(grants_table)).all() == []
    row = index_row(engine, "old")
    assert (row.status, row.category, row.received_on) == ("shredded", "bribery", date(2024, 1, 8))
    assert row.wake_on is None
    assert verify_chain(engine).ok
    assert tick.run(at("2026-01-12 00:00")).events_appended == 0


def test_repeated_substantiated_cases_flag_the_agency_once(engine: Engine) -> None:
    cases = CaseService(engine, RULES)
    for n in range(3):
        case_id = f"tull-{n}"
        receive(cases, case_id, date(2026, 6, 1), agency="tullverket")
        run(
            cases,
            case_id,
            at("2026-06-02 09:00") + timedelta(days=n),
            Acknowledge(case_id, "ana", f"m-{n}"),
            Assess(case_id, "ana", True, Severity.HIGH, RetaliationRisk.LOW, "in scope"),
            OpenInvestigation(case_id, "ana"),
            RecordFinding(case_id, "bo", f"f-{n}", True, "subject-9", Severity.HIGH),
        )
    tick = Tick(engine, RULES)
    report = tick.run(at("2026-06-05 12:00"))
    assert report.flags == ["tullverket"]
    assert event_types(engine, agency_stream("tullverket")) == ["SystemicPatternFlagged"]
    assert tick.run(at("2026-06-05 12:00")).flags == []
    with engine.connect() as conn:
        row = conn.execute(sa.select(agency_flags_table)).one()
    assert row.case_ids.split() == ["tull-0", "tull-1", "tull-2"] and "JO" in row.notify


def test_two_ticks_at_once_append_each_event_exactly_once(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: two ticks cannot overlap there")
    from caseflow.store import migrate

    engine = create_engine(database_url)
    migrate(engine)
    cases = CaseService(engine, RULES)
    for n in range(40):
        receive(cases, f"case-{n:02}", date(2026, 2, 2), agency=f"agency-{n % 3}")
    now = at("2026-03-01 08:00")  # every case is past all three ladder steps
    engines = [create_engine(database_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def tick(own: Engine) -> None:
        barrier.wait()
        try:
            Tick(own, RULES, batch=7).run(now)
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=tick, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = EventStore(engine)
    steps = Counter(
        (e.stream_id, e.meta["level"]) for e in store.read_all() if e.type == "CaseEscalated"
    )
    assert len(steps) == 40 * 3 and set(steps.values()) == {1}
    assert Tick(engine, RULES).run(now).events_appended == 0
    assert verify_chain(engine).ok
    for own in (*engines, engine):
        own.dispose()
