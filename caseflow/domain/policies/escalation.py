"""Who hears about a missed deadline, and when one agency keeps failing.

The ladder (``escalation.toml``) climbs assignee → desk lead → oversight; each
step is taken once per missed deadline and is an event with its reason. An
extended or newly computed deadline starts a fresh ladder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

from caseflow.domain.dates import add_days, is_past, local_date
from caseflow.domain.events import CaseEscalated, SystemicPatternFlagged
from caseflow.domain.policies.deadlines import ESCALATING, open_deadlines
from caseflow.domain.rules import EscalationRules, Rules
from caseflow.domain.state import CaseState
from caseflow.domain.summaries import FindingSummary


def escalations_due(state: CaseState, now: datetime, rules: Rules) -> list[CaseEscalated]:
    """The ladder steps reached at ``now`` and not yet taken, for every missed deadline."""
    events: list[CaseEscalated] = []
    for deadline in open_deadlines(state, rules.deadlines):
        if deadline.kind not in ESCALATING or not deadline.is_missed(now):
            continue
        for step in rules.escalation.ladder:
            taken = (deadline.kind, deadline.reference, deadline.due_on, step.level)
            if taken in state.escalations:
                continue
            if not is_past(add_days(deadline.due_on, step.after_days), now):
                continue
            what = deadline.kind.value + (f" {deadline.reference}" if deadline.reference else "")
            events.append(
                CaseEscalated(
                    case_id=state.case_id,
                    deadline=deadline.kind,
                    reference=deadline.reference,
                    due_on=deadline.due_on,
                    level=step.level,
                    reason=(
                        f"{what} deadline {deadline.due_on.isoformat()} missed "
                        f"(step after {step.after_days} days): {step.level.value} is told"
                    ),
                    escalated_at=now,
                )
            )
    return events


def systemic_flags(
    findings: Sequence[FindingSummary],
    already_flagged: Mapping[str, frozenset[str]],
    now: datetime,
    rules: EscalationRules,
) -> list[SystemicPatternFlagged]:
    """Agencies with repeated substantiated cases within the window, not yet flagged.

    ``findings`` is every finding the projection knows; ``already_flagged`` maps
    an agency to the cases its earlier flags covered (see :func:`flagged_cases`).
    An agency is flagged again only when a substantiated case not covered yet
    falls in the window, so calling this twice at the same ``now`` flags once.
    """
    today = local_date(now)
    window_from = today - timedelta(days=rules.systemic_window_days - 1)
    cases: dict[str, dict[str, date]] = {}
    for finding in findings:
        if finding.substantiated and window_from <= finding.found_on <= today:
            seen = cases.setdefault(finding.agency, {})
            seen[finding.case_id] = max(
                finding.found_on, seen.get(finding.case_id, finding.found_on)
            )
    flags: list[SystemicPatternFlagged] = []
    for agency in sorted(cases):
        case_ids = tuple(sorted(cases[agency]))
        covered = already_flagged.get(agency, frozenset())
        if len(case_ids) >= rules.systemic_threshold and not set(case_ids) <= covered:
            flags.append(
                SystemicPatternFlagged(
                    agency=agency,
                    case_ids=case_ids,
                    window_from=window_from,
                    window_to=today,
                    notify=(rules.systemic_notify_desk, rules.systemic_refer_to),
                    flagged_at=now,
                )
            )
    return flags


def flagged_cases(flags: Iterable[SystemicPatternFlagged]) -> dict[str, frozenset[str]]:
    """The cases each agency's earlier flags covered (the input of :func:`systemic_flags`)."""
    covered: dict[str, frozenset[str]] = {}
    for flag in flags:
        covered[flag.agency] = covered.get(flag.agency, frozenset()) | frozenset(flag.case_ids)
    return covered
