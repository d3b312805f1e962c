"""Projections kept live and projections rebuilt from the log are the same, row for row."""

from __future__ import annotations

import contextlib
import random
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from caseflow.domain import CaseflowError
from caseflow.domain.commands import (
    Acknowledge,
    Assess,
    Assign,
    BeginDeliberation,
    Command,
    Conclude,
    DecideSanction,
    IssueRecommendation,
    OpenInvestigation,
    ProposeSanction,
    Receive,
    RecordFinding,
    Reopen,
    Vote,
)
from caseflow.domain.dates import STOCKHOLM
from caseflow.domain.rules import load_rules
from caseflow.domain.vocabulary import Outcome, RetaliationRisk, Severity
from caseflow.service.cases import CaseService, Step
from caseflow.service.projections import Projections, earlier_findings
from caseflow.service.tick import Tick
from caseflow.store import create_engine, migrate
from caseflow.store.projections import (
    PROJECTION_TABLES,
    case_index_table,
    findings_table,
    sanction_proposals_table,
)

RULES = load_rules(Path(__file__).resolve().parents[3] / "config" / "rules")
MEMBERS = {
    "anticorruption": frozenset({"ana", "bo"}),
    "ethics": frozenset({"cecilia", "dan", "eva"}),
    "oversight": frozenset({"olle"}),
}
COMMITTEE = frozenset({"cecilia", "dan", "eva"})
CATEGORIES = ["bribery", "procurement", "partisan_bias", "conflict_of_interest"]
AGENCIES = ["skatteverket", "tullverket", "polisen"]


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            t.name: sorted(tuple(r) for r in conn.execute(sa.select(t))) for t in PROJECTION_TABLES
        }


def random_history(engine: Engine, seed: int, cases: int) -> None:
    """Cases that wander through the workflow, ticked now and then; refusals are skipped."""
    rng = random.Random(seed)
    service = CaseService(engine, RULES)
    tick = Tick(engine, RULES, batch=3)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=STOCKHOLM)
    for n in range(cases):
        case_id = f"case-{seed}-{n}"
        now = start + timedelta(days=rng.randrange(0, 60), hours=rng.randrange(0, 24))
        service.execute(
            case_id,
            [
                Step(
                    Receive(
                        case_id=case_id,
                        actor="reporter",
                        category=rng.choice(CATEGORIES),
                        agency=rng.choice(AGENCIES),
                        received_on=now.date(),
                        senior_officials_involved=rng.random() < 0.2,
                        desk_members=MEMBERS,
                    )
                )
            ],
            now=now,
        )
        for step in range(rng.randrange(0, 14)):
            now += timedelta(days=rng.randrange(0, 20), hours=rng.randrange(0, 12))
            command = _next_command(rng, case_id, step, service, engine)
            with contextlib.suppress(CaseflowError):
                service.execute(case_id, [Step(command)], now=now)
            if rng.random() < 0.3:
                tick.run(now)
    tick.run(start + timedelta(days=900))


def _next_command(
    rng: random.Random, case_id: str, step: int, service: CaseService, engine: Engine
) -> Command:
    actor = rng.choice(["ana", "bo", "cecilia", "dan", "eva"])
    subject = rng.choice(["subject-1", "subject-2"])
    state = service.load(case_id)
    pending = [p for p in state.proposals if not p.decided]
    options: list[Command] = [
        Acknowledge(case_id, actor, f"m-{step}"),
        Assign(case_id, actor, rng.choice(["ana", "bo", "eva"])),
        Assess(
            case_id,
            actor,
            rng.random() < 0.85,
            rng.choice(list(Severity)),
            rng.choice(list(RetaliationRisk)),
            "assessed",
            f"why-{step}",
        ),
        OpenInvestigation(case_id, actor),
        RecordFinding(
            case_id, actor, f"f-{step}", rng.random() < 0.8, subject, rng.choice(list(Severity))
        ),
        BeginDeliberation(case_id, actor),
        IssueRecommendation(case_id, actor, f"r-{step}", rng.choice(AGENCIES)),
        Conclude(case_id, actor, rng.choice(list(Outcome)), "concluded"),
        Reopen(case_id, actor, "new facts"),
    ]
    with engine.connect() as conn:
        earlier = earlier_findings(conn, subject, case_id)
    options.append(ProposeSanction(case_id, actor, f"p-{step}", subject, COMMITTEE, earlier))
    if pending:
        proposal = pending[0]
        options.append(Vote(case_id, rng.choice(sorted(COMMITTEE)), proposal.proposal_id, True))
        options.append(DecideSanction(case_id, actor, proposal.proposal_id, f"s-{step}"))
    typical = {
        "received": options[0],
        "acknowledged": options[2],
        "assessed": options[3],
        "reopened": options[3],
        "investigating": options[4] if not state.findings or rng.random() < 0.3 else options[5],
        "deliberating": options[-1] if rng.random() < 0.7 else options[6],
    }.get(state.status.value)
    if typical is not None and rng.random() < 0.6:
        return typical
    return rng.choice(options)


def test_a_rebuild_gives_the_same_rows_as_the_live_projection(engine: Engine) -> None:
    random_history(engine, seed=7, cases=25)
    live = snapshot(engine)
    assert len(live["case_index"]) == 25
    assert live["findings"] and live["projection_position"]
    report = Projections(RULES).rebuild(engine)
    assert report.cases == 25 and report.events > 25
    assert snapshot(engine) == live


def test_a_rebuild_repairs_a_damaged_or_emptied_projection(engine: Engine) -> None:
    random_history(engine, seed=11, cases=10)
    live = snapshot(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(case_index_table).values(status="received", wake_on=None))
        conn.execute(sa.delete(findings_table))
        conn.execute(sa.delete(sanction_proposals_table))
    assert snapshot(engine) != live
    Projections(RULES).rebuild(engine)
    assert snapshot(engine) == live


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 10_000))
def test_any_history_rebuilds_to_the_live_projection(tmp_path_factory: Any, seed: int) -> None:
    path = tmp_path_factory.mktemp("rebuild") / "db.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    migrate(engine)
    try:
        random_history(engine, seed=seed, cases=6)
        live = snapshot(engine)
        Projections(RULES).rebuild(engine)
        assert snapshot(engine) == live
    finally:
        engine.dispose()


def test_an_empty_log_rebuilds_to_empty_tables(engine: Engine) -> None:
    report = Projections(RULES).rebuild(engine)
    assert (report.events, report.cases) == (0, 0)
    assert all(rows == [] for rows in snapshot(engine).values())


def test_the_case_index_says_what_the_inbox_needs(engine: Engine) -> None:
    service = CaseService(engine, RULES)
    received = date(2026, 4, 1)
    service.execute(
        "c-1",
        [
            Step(
                Receive(
                    case_id="c-1",
                    actor="reporter",
                    category="partisan_bias",
                    agency="polisen",
                    received_on=received,
                    senior_officials_involved=False,
                    also_concerns=("bribery",),
                    desk_members=MEMBERS,
                )
            )
        ],
        now=datetime(2026, 4, 1, tzinfo=STOCKHOLM),
    )
    with engine.connect() as conn:
        row = conn.execute(sa.select(case_index_table)).one()
    assert row.desk == "ethics" and row.consulted_desks == "anticorruption"
    assert (row.status, row.next_deadline_kind) == ("received", "acknowledgement")
    assert row.next_deadline_on == date(2026, 4, 8)
    assert row.wake_on == date(2026, 4, 9)  # the day the missed deadline escalates
