"""The deadlines of a case, derived from its facts and the rules.

Nothing here is stored: a deadline is a function of the case and of
``deadlines.toml``. Each falls at the end of its local day in Stockholm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from caseflow.domain.dates import add_days, add_months, add_years, end_of_day, is_past
from caseflow.domain.rules import DeadlineRules
from caseflow.domain.state import CaseState
from caseflow.domain.transitions import Status
from caseflow.domain.vocabulary import ChannelType, DeadlineKind, ExtensionReason

#: Missing one of these climbs the escalation ladder; the others only remind.
ESCALATING = frozenset(
    {DeadlineKind.ACKNOWLEDGEMENT, DeadlineKind.FEEDBACK, DeadlineKind.RECOMMENDATION}
)


@dataclass(frozen=True, order=True)
class Deadline:
    due_on: date
    kind: DeadlineKind
    reference: str = ""  # the recommendation id, for recommendation deadlines

    @property
    def due_at(self) -> datetime:
        """The first instant at which the deadline is missed."""
        return end_of_day(self.due_on)

    def is_missed(self, now: datetime) -> bool:
        return is_past(self.due_on, now)


def acknowledgement_due(state: CaseState, rules: DeadlineRules) -> date | None:
    if state.status is not Status.RECEIVED or state.received_on is None:
        return None
    return add_days(state.received_on, rules.acknowledge_within_days)


#: How long after its start the feedback deadline may fall at the latest, by channel:
#: an internal channel gives feedback within 3 months (directive 2019/1937 art. 9.1.f,
#: Swedish Act 2021:890 ch. 5), with no extension; an external channel within 3
#: months, or 6 "in duly justified cases" (art. 11.2.d, Act 2021:890 ch. 6).
FEEDBACK_LIMIT_MONTHS = {ChannelType.INTERNAL: 3, ChannelType.EXTERNAL: 6}


def feedback_anchor(state: CaseState, rules: DeadlineRules) -> date | None:
    """The day the feedback period runs from (None before a report is received).

    The acknowledgement, or day 7 when none was sent, whichever is earlier: a
    late acknowledgement does not move the deadline. A reopened case owes new
    feedback from the day it was reopened.
    """
    if state.received_on is None:
        return None
    if state.reopened_on is not None:
        return state.reopened_on
    anchor = add_days(state.received_on, rules.acknowledge_within_days)
    if state.acknowledged_on is not None:
        anchor = min(anchor, state.acknowledged_on)
    return anchor


def feedback_due(state: CaseState, rules: DeadlineRules) -> date | None:
    """Three months from the acknowledgement, or from day 7 when none was sent (art. 9.1.f).

    A recorded extension (external channels only) replaces the computed date.
    """
    anchor = feedback_anchor(state, rules)
    if not state.is_open or state.feedback_given_on is not None or anchor is None:
        return None
    if state.feedback_extended_to is not None:
        return state.feedback_extended_to
    return add_months(anchor, rules.feedback_within_months)


def latest_feedback_due(state: CaseState, rules: DeadlineRules) -> date | None:
    """The latest day the law lets the feedback deadline fall on, for this channel."""
    anchor = feedback_anchor(state, rules)
    if anchor is None:
        return None
    return add_months(anchor, FEEDBACK_LIMIT_MONTHS[rules.channel])


def extension_refusal(
    state: CaseState, months: int, reason: str, rules: DeadlineRules
) -> str | None:
    """Why the feedback deadline may not be extended by ``months`` (None: it may).

    An internal channel never extends; an external one by 1 to
    ``max_extension_months`` at a time, with a reason of
    :class:`ExtensionReason`, up to :data:`FEEDBACK_LIMIT_MONTHS` in total.
    """
    if rules.channel is ChannelType.INTERNAL:
        return (
            "an internal channel gives feedback within 3 months, with no extension "
            "(Act 2021:890; the 6 months of directive art. 11.2.d are for external channels)"
        )
    if reason not in {r.value for r in ExtensionReason}:
        return "a reason must be recorded: one of " + ", ".join(r.value for r in ExtensionReason)
    longest = rules.max_extension_months
    if not 1 <= months <= longest:
        return f"an extension is 1 to {longest} months"
    current = feedback_due(state, rules)
    latest = latest_feedback_due(state, rules)
    if current is None or latest is None:
        return "no feedback deadline is running"
    if extended_feedback_due(current, months) > latest:
        limit = FEEDBACK_LIMIT_MONTHS[rules.channel]
        return (
            f"feedback is due within {limit} months in total, by {latest.isoformat()} at the latest"
        )
    return None


def extended_feedback_due(current: date, months: int) -> date:
    return add_months(current, months)


def inactivity_due(state: CaseState, rules: DeadlineRules) -> date | None:
    if not state.is_open or state.last_activity_on is None:
        return None
    return add_days(state.last_activity_on, rules.inactivity_reminder_days)


def recommendation_due(issued_on: date, days: int) -> date:
    return add_days(issued_on, days)


def retention_due(state: CaseState, rules: DeadlineRules) -> date | None:
    """The day after which a closed case is crypto-shredded (None while it is kept)."""
    if not state.is_closed or state.closed_on is None or state.hold is not None:
        return None
    return add_years(state.closed_on, rules.retention_years)


def open_deadlines(state: CaseState, rules: DeadlineRules) -> list[Deadline]:
    """Every deadline the case still has, earliest first (missed ones included)."""
    found: list[Deadline] = []
    for kind, due in (
        (DeadlineKind.ACKNOWLEDGEMENT, acknowledgement_due(state, rules)),
        (DeadlineKind.FEEDBACK, feedback_due(state, rules)),
        (DeadlineKind.INACTIVITY, inactivity_due(state, rules)),
        (DeadlineKind.RETENTION, retention_due(state, rules)),
    ):
        if due is not None:
            found.append(Deadline(due, kind))
    if state.status is not Status.SHREDDED:
        found.extend(
            Deadline(r.due_on, DeadlineKind.RECOMMENDATION, r.recommendation_id)
            for r in state.open_recommendations()
        )
    return sorted(found)


def next_deadline(state: CaseState, rules: DeadlineRules) -> Deadline | None:
    """The earliest deadline of the case: what the inbox sorts by."""
    deadlines = open_deadlines(state, rules)
    return deadlines[0] if deadlines else None
