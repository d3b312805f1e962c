"""Statistics on a generated data set whose answers are known by construction.

Cases are driven through the real case service with chosen dates, so every
figure below is worked out by hand from the story in :func:`_march_and_april`.
Every test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from caseflow.domain.commands import (
    Acknowledge,
    Assess,
    BeginDeliberation,
    Conclude,
    GiveFeedback,
    IssueRecommendation,
    OpenInvestigation,
    Receive,
    RecordFinding,
    RecordImplementation,
    Shred,
)
from caseflow.domain.dates import STOCKHOLM
from caseflow.domain.rules import load_rules
from caseflow.domain.vocabulary import Outcome, RetaliationRisk, Severity
from caseflow.service.cases import CaseService, Step
from caseflow.service.tick import Tick
from reporting.statistics import (
    SUPPRESSED,
    Statistics,
    Timeliness,
    export_csv,
    export_rows,
    suppress,
)

RULES = load_rules(Path(__file__).resolve().parents[3] / "config" / "rules")
MEMBERS = {
    "anticorruption": frozenset({"ana", "bo"}),
    "ethics": frozenset({"cecilia", "dan", "eva"}),
    "oversight": frozenset({"olle"}),
}
TODAY = date(2026, 6, 15)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


def receive(cases: CaseService, case_id: str, day: date, category: str = "bribery") -> None:
    command = Receive(
        case_id=case_id,
        actor="reporter",
        category=category,
        agency="skatteverket",
        received_on=day,
        senior_officials_involved=False,
        desk_members=MEMBERS,
    )
    cases.execute(
        case_id, [Step(command)], now=datetime.combine(day, datetime.min.time(), STOCKHOLM)
    )


def run(cases: CaseService, case_id: str, now: str, *commands: Any) -> None:
    cases.execute(case_id, [Step(c) for c in commands], now=at(now))


def assessed(case_id: str, admissible: bool = True) -> Assess:
    return Assess(case_id, "ana", admissible, Severity.LOW, RetaliationRisk.LOW, "triage", "why")


def _march_and_april(engine: Engine) -> CaseService:
    """Twelve bribery reports on 2 March, three partisan-bias reports on 6 April,
    one bribery report on 14 June.

    Acknowledgement (due 9 March): c00–c08 on 5 March (3 days), c09–c10 on
    12 March (10 days, late), c11 never. Feedback: c00–c05 on 1 April (30
    days, in time), c06 on 10 June (100 days; due 5 June: late). c07 is
    concluded on 20 April, c08 rejected on 20 March. c09 and c10 go to
    deliberation; recommendations issued 1 April: r1 on c09 (implemented),
    r2 on c10 due 1 May (overdue by June), r3 on c10 due 1 December (open).
    """
    cases = CaseService(engine, RULES)
    march = [f"c{n:02}" for n in range(12)]
    for case_id in march:
        receive(cases, case_id, date(2026, 3, 2))
    for case_id in march[:9]:
        run(cases, case_id, "2026-03-05 10:00", Acknowledge(case_id, "ana", f"ack-{case_id}"))
    for case_id in march[9:11]:
        run(cases, case_id, "2026-03-12 10:00", Acknowledge(case_id, "ana", f"ack-{case_id}"))
    for case_id in march[:6]:
        run(cases, case_id, "2026-04-01 10:00", GiveFeedback(case_id, "ana", f"fb-{case_id}"))
    run(cases, "c06", "2026-06-10 10:00", GiveFeedback("c06", "ana", "fb-c06"))
    run(
        cases,
        "c07",
        "2026-04-20 10:00",
        assessed("c07"),
        Conclude("c07", "ana", Outcome.NO_FURTHER_ACTION, "nothing found"),
    )
    run(cases, "c08", "2026-03-20 10:00", assessed("c08", admissible=False))
    for case_id in ("c09", "c10"):
        run(
            cases,
            case_id,
            "2026-03-20 10:00",
            assessed(case_id),
            OpenInvestigation(case_id, "ana"),
            RecordFinding(case_id, "ana", f"f-{case_id}", False, "subject-1", Severity.LOW),
            BeginDeliberation(case_id, "cecilia"),
        )
    run(
        cases,
        "c09",
        "2026-04-01 10:00",
        IssueRecommendation("c09", "cecilia", "r1", "skatteverket", date(2026, 5, 1)),
    )
    run(
        cases,
        "c09",
        "2026-04-20 10:00",
        RecordImplementation("c09", "cecilia", "r1", date(2026, 4, 20)),
    )
    run(
        cases,
        "c10",
        "2026-04-01 10:00",
        IssueRecommendation("c10", "cecilia", "r2", "skatteverket", date(2026, 5, 1)),
        IssueRecommendation("c10", "cecilia", "r3", "skatteverket", date(2026, 12, 1)),
    )
    for n in range(3):
        receive(cases, f"e{n}", date(2026, 4, 6), category="partisan_bias")
    receive(cases, "fresh", date(2026, 6, 14))
    return cases


def test_the_small_cell_rule_at_its_boundaries() -> None:
    assert [suppress(n) for n in (0, 1, 4, 5, 6, 120)] == ["0", "<5", "<5", "5", "6", "120"]
    with pytest.raises(ValueError):
        suppress(-1)
    # A share over fewer than five cases would give the count away.
    assert Timeliness(measured=4, within=3, days=(1, 2, 3, 4)).public_share() == "–"
    assert Timeliness(measured=4, within=3, days=(1, 2, 3, 4)).public_median() == "–"
    assert Timeliness(measured=5, within=3, days=(1, 2, 3, 4, 9)).public_share() == "60 %"
    assert Timeliness(measured=5, within=3, days=(1, 2, 3, 4, 9)).public_median() == "3"
    assert Timeliness(measured=0, within=0).share is None


def test_acknowledgement_in_march_is_nine_of_twelve(engine: Engine) -> None:
    _march_and_april(engine)
    march = Statistics(engine, RULES).figures(date(2026, 3, 1), date(2026, 3, 1), TODAY)

    assert march.months == ("2026-03",)
    assert march.received_by_category.count("2026-03", "bribery") == 12
    assert march.received_by_category.total == 12
    assert march.received_by_desk.count("2026-03", "anticorruption") == 12
    ack = march.acknowledgement
    assert (ack.measured, ack.within, ack.share) == (12, 9, 0.75)
    assert ack.median_days == 3.0  # nine at 3 days, two at 10
    assert ack.public_share() == "75 %"

    # Feedback: c00–c06 gave it (six in time), c09–c11 are past 9 June
    # without it; c07 and c08 were closed before it fell due.
    fb = march.feedback
    assert (fb.measured, fb.within) == (10, 6)
    assert fb.median_days == 30.0
    assert fb.public_share() == "60 %"

    assert march.outcomes.count("rejected") == 1  # c08, closed 20 March
    assert march.outcomes.count("no_further_action") == 0  # c07 closed in April


def test_april_counts_three_internally_and_lt5_in_the_export(engine: Engine) -> None:
    _march_and_april(engine)
    april = Statistics(engine, RULES).figures(date(2026, 4, 1), date(2026, 4, 1), TODAY)

    assert april.received_by_category.count("2026-04", "partisan_bias") == 3
    assert april.received_by_desk.count("2026-04", "ethics") == 3
    # None of the three was acknowledged, and 13 April has passed.
    assert (april.acknowledgement.measured, april.acknowledgement.within) == (3, 0)
    assert april.outcomes.count("no_further_action") == 1
    assert april.recommendations.items() == [("implemented", 1), ("overdue", 1), ("open", 1)]

    exported = {(s, r, c): v for s, r, c, v in export_rows(april)}
    assert exported[("received_by_category", "2026-04", "partisan_bias")] == SUPPRESSED
    assert exported[("received_by_category", "2026-04", "bribery")] == "0"
    assert exported[("received_by_desk", "2026-04", "ethics")] == SUPPRESSED
    assert exported[("acknowledgement", "share_within_deadline", "")] == "–"
    assert exported[("recommendations", "implemented", "")] == SUPPRESSED

    rows = list(csv.reader(io.StringIO(export_csv(april))))
    assert rows[0] == ["section", "row", "column", "value"]
    assert ["received_by_category", "2026-04", "partisan_bias", "<5"] in rows
    # No count between 1 and 4 appears anywhere in the exported form.
    assert all(not (r[3].isdigit() and 0 < int(r[3]) < 5) for r in rows[2:])


def test_open_and_overdue_cases_by_desk_and_state(engine: Engine) -> None:
    _march_and_april(engine)
    figures = Statistics(engine, RULES).figures(date(2026, 3, 1), date(2026, 6, 1), TODAY)

    opened = figures.open_cases
    assert opened.count("anticorruption", "acknowledged") == 7  # c00–c06
    assert opened.count("anticorruption", "deliberating") == 2  # c09, c10
    assert opened.count("anticorruption", "received") == 2  # c11 and the fresh one
    assert opened.count("ethics", "received") == 3
    assert opened.total == 14
    # Inside their deadlines: the report of 14 June (acknowledge by 21 June)
    # and c06, active on 10 June (inactivity reminder on 24 June).
    assert figures.overdue_cases.count("anticorruption", "received") == 1
    assert figures.overdue_cases.count("anticorruption", "acknowledged") == 6
    assert figures.overdue_cases.total == 12
    assert figures.received_by_category.count("2026-06", "bribery") == 1
    assert figures.received_by_category.total == 16


def test_figures_survive_crypto_shredding(engine: Engine) -> None:
    cases = _march_and_april(engine)
    stats = Statistics(engine, RULES)
    before = stats.figures(date(2026, 3, 1), date(2026, 4, 1), TODAY)
    run(cases, "c07", "2026-06-12 10:00", Shred("c07", "system", "retention test"))
    run(cases, "c08", "2026-06-12 10:00", Shred("c08", "system", "retention test"))
    after = stats.figures(date(2026, 3, 1), date(2026, 4, 1), TODAY)
    assert cases.load("c07").status.value == "shredded"
    assert export_rows(after) == export_rows(before)
    assert after.outcomes.count("rejected") == 1 and after.outcomes.count("no_further_action") == 1


def test_escalations_are_counted_by_level_in_the_month_they_happened(engine: Engine) -> None:
    cases = CaseService(engine, RULES)
    receive(cases, "late", date(2026, 3, 2))
    tick = Tick(engine, RULES)
    for moment in ("2026-03-10 00:01", "2026-03-13 08:00", "2026-03-20 08:00"):
        tick.run(at(moment))
    stats = Statistics(engine, RULES)
    march = stats.figures(date(2026, 3, 1), date(2026, 3, 1), date(2026, 3, 21))
    assert march.escalations.items() == [("assignee", 1), ("desk_lead", 1), ("oversight", 1)]
    february = stats.figures(date(2026, 2, 1), date(2026, 2, 1), date(2026, 3, 21))
    assert february.escalations.total == 0


def test_a_range_is_checked() -> None:
    stats = Statistics(None, RULES)  # type: ignore[arg-type]  # refused before any query
    with pytest.raises(ValueError):
        stats.figures(date(2026, 4, 1), date(2026, 3, 1), TODAY)
    with pytest.raises(ValueError):
        stats.figures(date(2000, 1, 1), date(2026, 3, 1), TODAY)
