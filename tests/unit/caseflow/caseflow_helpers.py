"""Helpers for the caseflow domain tests: the checked-in rules, local times, journeys."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

from caseflow.domain.commands import Command, Receive
from caseflow.domain.dates import STOCKHOLM
from caseflow.domain.decider import decide
from caseflow.domain.rules import Rules, load_rules
from caseflow.domain.state import CaseState, replay

RULES_DIR = Path(__file__).resolve().parents[3] / "config" / "rules"
RULES = load_rules(RULES_DIR)

DESK_MEMBERS = {
    "anticorruption": frozenset({"ana", "bo"}),
    "ethics": frozenset({"cecilia", "dan", "eva"}),
    "oversight": frozenset({"olle"}),
}
COMMITTEE = frozenset({"cecilia", "dan", "eva"})


def stockholm(text: str) -> datetime:
    """``"2026-03-29 01:30"`` as an aware datetime, Stockholm local time."""
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


def received(
    received_on: date,
    *,
    category: str = "bribery",
    named_staff: tuple[str, ...] = (),
    senior: bool = False,
    case_id: str = "case-1",
    rules: Rules = RULES,
) -> CaseState:
    """A case just received on ``received_on``."""
    receive = Receive(
        case_id=case_id,
        actor="intake",
        category=category,
        agency="skatteverket",
        received_on=received_on,
        senior_officials_involved=senior,
        named_staff=named_staff,
        desk_members=DESK_MEMBERS,
    )
    now = datetime.combine(received_on, datetime.min.time(), tzinfo=STOCKHOLM)
    return replay(decide(CaseState(), receive, now, rules))


def run(
    state: CaseState, commands: Iterable[Command], now: datetime, rules: Rules = RULES
) -> CaseState:
    """Apply ``commands`` one after the other at ``now``; any refusal fails the test."""
    for command in commands:
        state = replay(decide(state, command, now, rules), state)
    return state
