"""The two leaks found in issue 12, reproduced with the attacker of ``attacker.py``.

1. A quarterly report hid its received total ("Reports received: x") but
   printed "Acknowledged within 7 days — cases judged: 7" beside it; with
   every case of the quarter judged, that is the total, and the small
   categories fall out of it.
2. The annual supervisor report printed a category the first quarter hid:
   the other quarters show 0 for it, so the year gives the quarter away.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from caseflow.domain.commands import Acknowledge, Receive
from caseflow.domain.dates import STOCKHOLM
from caseflow.service.cases import CaseService, Step
from config.settings import Settings, load_settings
from reporting.reports import PublishedReport, annual_supervisor_report, quarterly_report
from reporting.statistics import Statistics
from reporting.suppression import COMPLEMENT_FLOOR
from tests.unit.reporting.attacker import Cell, attack, read, recovered
from tests.unit.reporting.year_data import generate_year

MEMBERS = {
    "anticorruption": frozenset({"ana", "bo"}),
    "ethics": frozenset({"cecilia", "dan", "eva"}),
    "oversight": frozenset({"olle"}),
}
#: What the product says an ``x`` is at least (the rule printed in every report).
X_FLOOR = COMPLEMENT_FLOOR
#: A day after the year, when all its reports may be made.
NEXT_YEAR = date(2027, 1, 5)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        {"VISSELPIPA_DATA_DIR": str(tmp_path / "data"), "VISSELPIPA_DATABASE_URL": database_url},
        require_secrets=False,
    )


def received(engine: Engine, settings: Settings, day: date, counts: dict[str, int]) -> None:
    """``counts`` cases per category received on ``day``, each acknowledged the next day."""
    cases = CaseService(engine, settings.rules)
    for category, count in counts.items():
        for n in range(count):
            case_id = f"{category[:4]}-{day.isoformat()}-{n}"
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
            cases.execute(
                case_id,
                [Step(Acknowledge(case_id, "ana", f"ack-{case_id}"))],
                now=datetime(day.year, day.month, day.day + 1, 10, tzinfo=STOCKHOLM),
            )


def slacks(engine: Engine, settings: Settings, year: int) -> dict[Cell, int]:
    """The true number of cases not yet judged: what the attacker is handed."""
    stats = Statistics(engine, settings.rules)
    found: dict[Cell, int] = {}
    sums = {(d, k): 0 for d in ("acknowledgement", "feedback") for k in ("cases", "within", "late")}
    for quarter in range(1, 5):
        first = date(year, 3 * quarter - 2, 1)
        last = {1: date(year, 3, 31), 2: date(year, 6, 30), 3: date(year, 9, 30)}.get(
            quarter, date(year, 12, 31)
        )
        total = sum(stats.period_counts(first, last).received.values())
        figures = stats.figures(first, last, last)
        for deadline in ("acknowledgement", "feedback"):
            t = getattr(figures, deadline)
            found[(f"{year}Q{quarter}", deadline, "cases")] = total - t.measured
            for key, value in (("cases", t.measured), ("within", t.within),
                               ("late", t.measured - t.within)):  # fmt: skip
                sums[(deadline, key)] += value
    total = sum(stats.period_counts(date(year, 1, 1), date(year, 12, 31)).received.values())
    figures = stats.figures(date(year, 1, 1), date(year, 12, 1), date(year, 12, 31))
    for deadline in ("acknowledgement", "feedback"):
        t = getattr(figures, deadline)
        found[(str(year), deadline, "cases")] = total - t.measured
        for key, value in (("cases", t.measured), ("within", t.within),
                           ("late", t.measured - t.within)):  # fmt: skip
            found[("year", deadline, key)] = value - sums[(deadline, key)]
    return found


def test_a_hidden_received_total_is_not_given_away_by_cases_judged(
    engine: Engine, settings: Settings
) -> None:
    received(engine, settings, date(2026, 2, 2), {"bribery": 5, "fraud": 1, "partisan_bias": 1})
    report = quarterly_report(engine, settings, "2026Q1", today=NEXT_YEAR)
    knowledge = read([report], settings, slacks(engine, settings, 2026), x_floor=X_FLOOR)
    hidden = attack(knowledge)
    assert hidden, "the quarter has small cells, so something is hidden"
    assert recovered(hidden, knowledge) == {}


def test_the_annual_report_does_not_give_away_what_a_quarter_hid(
    engine: Engine, settings: Settings
) -> None:
    received(engine, settings, date(2026, 2, 2), {"bribery": 7, "fraud": 1, "partisan_bias": 1})
    received(engine, settings, date(2026, 4, 6), {"procurement": 5})
    reports = [
        quarterly_report(engine, settings, f"2026Q{q}", today=NEXT_YEAR) for q in range(1, 5)
    ]
    reports.append(annual_supervisor_report(engine, settings, 2026, today=NEXT_YEAR))
    knowledge = read(reports, settings, slacks(engine, settings, 2026), x_floor=X_FLOOR)
    hidden = attack(knowledge)
    assert ("2026Q1", "received_by_category", "partisan_bias") in hidden
    assert recovered(hidden, knowledge) == {}


def _publish_year(engine: Engine, settings: Settings, year: int) -> list[PublishedReport]:
    """Every report of the year, in the order they are published."""
    reports = [
        quarterly_report(engine, settings, f"{year}Q{q}", today=date(year + 1, 1, 5))
        for q in range(1, 5)
    ]
    reports.append(annual_supervisor_report(engine, settings, year, today=date(year + 1, 1, 5)))
    return reports


@pytest.mark.parametrize("seed", [1, 2])
def test_a_generated_year_of_small_cells_gives_none_away(
    engine: Engine, settings: Settings, seed: int
) -> None:
    generate_year(engine, settings, 2025, seed)
    reports = _publish_year(engine, settings, 2025)
    knowledge = read(reports, settings, slacks(engine, settings, 2025), x_floor=X_FLOOR)
    hidden = attack(knowledge)
    small = [c for c in hidden if knowledge.shown[c] == "<5"]
    assert len(small) >= 15, "the data set is meant to have many small cells"
    assert recovered(hidden, knowledge) == {}
    # Integers narrow nothing either (the LP is only a lower bound of that attack).
    assert recovered(attack(knowledge, small, integer=True), knowledge) == {}


def test_a_report_made_again_prints_what_was_published_and_the_year_still_publishes(
    engine: Engine, settings: Settings
) -> None:
    generate_year(engine, settings, 2025, 3)
    later = date(2026, 1, 5)
    first = quarterly_report(engine, settings, "2025Q1", today=later)
    # A report of the first quarter registered late (received_on in February).
    received(engine, settings, date(2025, 2, 10), {"fraud": 2})
    again = quarterly_report(engine, settings, "2025Q1", today=later)
    assert again.sections == first.sections
    # The year counts the late cases, the first quarter as published does
    # not: the difference is taken as known to the attacker (it can only
    # hide more), and the rest of the year is still published.
    year = _publish_year(engine, settings, 2025)[-1]
    assert (
        year.value("received_by_category", "fraud") in ("x", "..")
        or int(year.value("received_by_category", "fraud")) >= 5
    )
