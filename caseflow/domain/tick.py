"""What the passing of time brings to a case: the events ``visselpipa tick`` appends.

:func:`due_events` is pure and idempotent: once its events are applied, calling
it again at the same ``now`` returns nothing, so two ticks at once (or a retry)
cannot duplicate an escalation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from caseflow.domain.dates import add_days, is_past, local_date, require_aware
from caseflow.domain.events import (
    CaseEvent,
    CaseShredded,
    InactivityReminderIssued,
    OversightInformed,
    RetentionWarningIssued,
)
from caseflow.domain.policies.deadlines import (
    ESCALATING,
    Deadline,
    inactivity_due,
    open_deadlines,
    retention_due,
)
from caseflow.domain.policies.escalation import escalations_due
from caseflow.domain.rules import Rules
from caseflow.domain.state import CaseState
from caseflow.domain.transitions import Status
from caseflow.domain.vocabulary import SYSTEM_ACTOR

_DAY = timedelta(days=1)


def due_events(state: CaseState, now: datetime, rules: Rules) -> list[CaseEvent]:
    """Reminders, escalations, the oversight notice and retention shredding due at ``now``."""
    require_aware(now)
    if state.status in (Status.NEW, Status.SHREDDED):
        return []
    retention = retention_due(state, rules.deadlines)
    if retention is not None and is_past(retention, now):
        # Shredding ends the case: nothing else is due once its key is gone.
        return [
            CaseShredded(
                case_id=state.case_id,
                reason=(
                    f"retention of {rules.deadlines.retention_years} years after closure "
                    f"on {state.closed_on} ended on {retention}"
                ),
                shredded_at=now,
                actor=SYSTEM_ACTOR,
            )
        ]
    events: list[CaseEvent] = []
    if (
        retention is not None
        and state.retention_warned_for != retention + _DAY
        and local_date(now) >= _warning_day(retention, rules)
    ):
        events.append(
            RetentionWarningIssued(case_id=state.case_id, shred_on=retention + _DAY, issued_at=now)
        )
    if (
        state.senior_officials_involved
        and not state.oversight_informed
        and rules.routing.inform_oversight_of_senior_officials
        and state.desk != rules.routing.oversight_desk
    ):
        events.append(
            OversightInformed(
                case_id=state.case_id,
                reason="senior officials are involved",
                informed_at=now,
            )
        )
    events.extend(escalations_due(state, now, rules))
    idle = inactivity_due(state, rules.deadlines)
    if (
        idle is not None
        and is_past(idle, now)
        and state.last_activity_on is not None
        and state.reminded_for != state.last_activity_on
    ):
        events.append(
            InactivityReminderIssued(
                case_id=state.case_id, inactive_since=state.last_activity_on, issued_at=now
            )
        )
    return events


def wake_on(
    state: CaseState, rules: Rules, deadlines: Sequence[Deadline] | None = None
) -> date | None:
    """The first local day on which :func:`due_events` may return something for ``state``.

    None when nothing will ever be due without a new event. The tick reads
    only the cases whose day has come, so this must never be late: for every
    ``now``, ``due_events(state, now)`` is empty unless ``wake_on(state) <=
    local_date(now)`` (a property test checks it over random histories). It
    may be early; the tick then finds nothing and the day moves on.
    ``deadlines`` saves recomputing ``open_deadlines(state, rules.deadlines)``
    when the caller has it.
    """
    if state.status in (Status.NEW, Status.SHREDDED):
        return None
    days: list[date] = []
    retention = retention_due(state, rules.deadlines)
    if retention is not None:
        days.append(retention + _DAY)
        if state.retention_warned_for != retention + _DAY:
            days.append(_warning_day(retention, rules))
    if (
        state.senior_officials_involved
        and not state.oversight_informed
        and rules.routing.inform_oversight_of_senior_officials
        and state.desk != rules.routing.oversight_desk
    ):
        days.append(state.received_on or date.min)
    if deadlines is None:
        deadlines = open_deadlines(state, rules.deadlines)
    for deadline in deadlines:
        if deadline.kind not in ESCALATING:
            continue
        for step in rules.escalation.ladder:
            taken = (deadline.kind, deadline.reference, deadline.due_on, step.level)
            if taken not in state.escalations:
                days.append(add_days(deadline.due_on, step.after_days) + _DAY)
    idle = inactivity_due(state, rules.deadlines)
    if idle is not None and state.reminded_for != state.last_activity_on:
        days.append(idle + _DAY)
    return min(days, default=None)


def _warning_day(retention: date, rules: Rules) -> date:
    """The day the desk is warned: ``retention_warning_days`` before the shredding day.

    ``retention`` is the last day the case is kept; it is shredded the day after.
    """
    return retention + _DAY - timedelta(days=rules.deadlines.retention_warning_days)
