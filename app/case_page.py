"""How the staff case page lays out its actions: the next step first, the rest grouped.

The workflow offers up to twenty actions at once; shown one after the other
they pushed the report off the first screen and looked all alike. Here the
one the workflow expects next (from the case's state and its deadlines) is
picked out and shown open under the report; every other action goes into a
named group that the page folds with ``<details>``, so it works without
JavaScript. A group opens by itself when it holds the form that was just
submitted, so an error and what was typed are never hidden.

Pure: it reads the case view and the forms the page already built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from flask_babel import lazy_gettext as _l

from caseflow.domain import CommandKind
from caseflow.domain.transitions import Status
from caseflow.domain.vocabulary import DeadlineKind
from caseflow.service.workspace import DeadlineView, StaffCaseView

#: A feedback deadline this close (in days) makes feedback the next step.
FEEDBACK_DUE_SOON_DAYS = 14

C = CommandKind


class _Form(Protocol):
    kind: CommandKind
    label: Any


@dataclass(frozen=True)
class Group:
    """A named, folded group of actions on the case page."""

    key: str
    label: Any
    forms: tuple[Any, ...]
    #: Unfolded when the page loads: it holds the form just submitted.
    open: bool


@dataclass(frozen=True)
class Arrangement:
    """The case page's actions: the next step (if the workflow expects one) and the rest."""

    primary: Any | None
    #: The deadline the next step answers, if one does.
    due: DeadlineView | None
    groups: tuple[Group, ...]


#: The groups in the order the page shows them, each with the actions it holds.
GROUPS: tuple[tuple[str, Any, tuple[CommandKind, ...]], ...] = (
    (
        "handling",
        _l("Handling"),
        (
            C.ACKNOWLEDGE,
            C.ASSIGN,
            C.UNASSIGN,
            C.ASSESS,
            C.OPEN_INVESTIGATION,
            C.RECORD_FINDING,
            C.BEGIN_DELIBERATION,
            C.CONCLUDE,
            C.REOPEN,
        ),
    ),
    (
        "reporter",
        _l("Contact with the reporter"),
        (C.REQUEST_INFORMATION, C.GIVE_FEEDBACK, C.EXTEND_FEEDBACK_DEADLINE),
    ),
    (
        "committee",
        _l("Committee: recommendations and sanctions"),
        (
            C.ISSUE_RECOMMENDATION,
            C.RECORD_IMPLEMENTATION,
            C.PROPOSE_SANCTION,
            C.VOTE,
            C.DECIDE_SANCTION,
        ),
    ),
    (
        "records",
        _l("Notes and keeping the records"),
        (C.ADD_INTERNAL_NOTE, C.PLACE_HOLD, C.RELEASE_HOLD),
    ),
    (
        "elsewhere",
        _l("Referral and recusal"),
        (C.REFER, C.DECLARE_CONFLICT),
    ),
)
#: Where an action no group names goes (a form added later is never lost).
OTHER_GROUP = ("other", _l("Other actions"))

#: The deadline each action answers, for the "due on" line of the next step.
ANSWERS: dict[CommandKind, DeadlineKind] = {
    C.ACKNOWLEDGE: DeadlineKind.ACKNOWLEDGEMENT,
    C.GIVE_FEEDBACK: DeadlineKind.FEEDBACK,
    C.ISSUE_RECOMMENDATION: DeadlineKind.RECOMMENDATION,
    C.RECORD_IMPLEMENTATION: DeadlineKind.RECOMMENDATION,
}


def _feedback_due_soon(view: StaffCaseView) -> bool:
    return any(
        d.deadline.kind is DeadlineKind.FEEDBACK and d.days_left <= FEEDBACK_DUE_SOON_DAYS
        for d in view.deadlines
    )


def expected_next(view: StaffCaseView) -> tuple[CommandKind, ...]:
    """The actions the workflow expects next, most pressing first (allowed or not)."""
    state = view.state
    status = state.status
    if status is Status.RECEIVED:
        return (C.ACKNOWLEDGE,)
    wanted: list[CommandKind] = []
    if state.feedback_given_on is None and _feedback_due_soon(view):
        wanted.append(C.GIVE_FEEDBACK)
    if status in (Status.ACKNOWLEDGED, Status.REOPENED):
        wanted.append(C.ASSESS)
    elif status is Status.ASSESSED:
        wanted += [C.OPEN_INVESTIGATION, C.CONCLUDE]
    elif status is Status.INVESTIGATING:
        if not state.findings:
            wanted.append(C.RECORD_FINDING)
        wanted += [C.BEGIN_DELIBERATION, C.CONCLUDE]
    elif status is Status.DELIBERATING:
        if any(p.approved is None for p in state.proposals):
            wanted += [C.VOTE, C.DECIDE_SANCTION]
        if not state.recommendations:
            wanted.append(C.ISSUE_RECOMMENDATION)
        if state.open_recommendations():
            wanted.append(C.RECORD_IMPLEMENTATION)
        wanted.append(C.CONCLUDE)
    elif status is Status.CONCLUDED and state.open_recommendations():
        wanted.append(C.RECORD_IMPLEMENTATION)
    return tuple(wanted)


def arrange(
    view: StaffCaseView, forms: Sequence[_Form], submitted: CommandKind | None = None
) -> Arrangement:
    """Pick the next step among ``forms`` and fold the others into their groups."""
    by_kind = {form.kind: form for form in forms}
    primary = next((by_kind[k] for k in expected_next(view) if k in by_kind), None)
    due = None
    if primary is not None and primary.kind in ANSWERS:
        due = next((d for d in view.deadlines if d.deadline.kind is ANSWERS[primary.kind]), None)
    rest = [form for form in forms if form is not primary]
    named = {kind for _, _, kinds in GROUPS for kind in kinds}
    groups: list[Group] = []
    for key, label, kinds in (*GROUPS, (*OTHER_GROUP, ())):
        members = tuple(
            form for form in rest if (form.kind in kinds if kinds else form.kind not in named)
        )
        if members:
            is_open = submitted is not None and any(f.kind is submitted for f in members)
            groups.append(Group(key, label, members, is_open))
    return Arrangement(primary, due, tuple(groups))
