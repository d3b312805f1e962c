"""A generated year of cases with many small cells, driven through the real case service."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Engine

from caseflow.domain.commands import Acknowledge, Assess, Conclude, GiveFeedback, Receive
from caseflow.domain.dates import STOCKHOLM
from caseflow.domain.vocabulary import Outcome, RetaliationRisk, Severity
from caseflow.service.cases import CaseService, Step
from config.settings import Settings

MEMBERS = {
    "anticorruption": frozenset({"ana", "bo"}),
    "ethics": frozenset({"cecilia", "dan", "eva"}),
    "oversight": frozenset({"olle"}),
}
CATEGORIES = (
    "bribery",
    "procurement",
    "fraud",
    "conflict_of_interest",
    "partisan_bias",
    "impartiality",
    "ethics",
)
_CLOSINGS = (Outcome.NO_FURTHER_ACTION, Outcome.NOT_SUBSTANTIATED, None)  # None: rejected


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=STOCKHOLM)


def generate_year(engine: Engine, settings: Settings, year: int, seed: int) -> int:
    """Cases received through ``year``: per quarter and category mostly 0–4, a few larger.

    Each case is acknowledged after 1–12 days (so some late, and some of a
    quarter's last week only in the next), given feedback for some, and
    concluded or rejected for some, at days spread over the year. Returns
    the number of cases.
    """
    rng = random.Random(seed)
    cases = CaseService(engine, settings.rules)
    made = 0
    end = date(year, 12, 31)
    for quarter in range(4):
        first = date(year, 3 * quarter + 1, 1)
        last = (
            date(year, 3 * quarter + 4, 1) if quarter < 3 else date(year + 1, 1, 1)
        ) - timedelta(days=1)
        for category in CATEGORIES:
            count = rng.choice((0, 0, 1, 1, 2, 3, 4, 5, 6, 8))
            for _ in range(count):
                case_id = f"g{year}-{seed}-{made:04}"
                made += 1
                day = first + timedelta(days=rng.randrange((last - first).days + 1))
                steps = [(_at(day, 0), Receive(
                    case_id=case_id, actor="reporter", category=category,
                    agency="skatteverket", received_on=day, senior_officials_involved=False,
                    desk_members=MEMBERS,
                ))]  # fmt: skip
                moment = _at(day + timedelta(days=rng.randint(1, 12)))
                steps.append((moment, Acknowledge(case_id, "ana", f"ack-{case_id}")))
                if rng.random() < 0.5:
                    moment += timedelta(days=rng.randint(20, 120))
                    steps.append((moment, GiveFeedback(case_id, "ana", f"fb-{case_id}")))
                if rng.random() < 0.6:
                    moment += timedelta(days=rng.randint(1, 60))
                    closing = rng.choice(_CLOSINGS)
                    steps.append((moment, Assess(
                        case_id, "ana", closing is not None, Severity.LOW, RetaliationRisk.LOW,
                        "triage", f"why-{case_id}",
                    )))  # fmt: skip
                    if closing is not None:
                        steps.append((moment, Conclude(case_id, "ana", closing, "done")))
                for moment, command in steps:
                    if moment.date() > end:
                        break
                    cases.execute(case_id, [Step(command)], now=moment)
    return made
