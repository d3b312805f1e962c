"""The case as it stands: a frozen value folded from its events.

``evolve`` is the only way a case changes, and it never refuses: whatever was
stored happened. Checks belong to the decider, before events exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from datetime import date

from caseflow.domain.dates import local_date
from caseflow.domain.events import (
    AccessGranted,
    AccessRevoked,
    CaseAcknowledged,
    CaseAssessed,
    CaseAssigned,
    CaseConcluded,
    CaseEscalated,
    CaseEvent,
    CaseReopened,
    CaseShredded,
    CaseUnassigned,
    CaseWithdrawn,
    ConflictDeclared,
    DeliberationBegun,
    DeskChanged,
    FeedbackDeadlineExtended,
    FeedbackGiven,
    FindingRecorded,
    HoldPlaced,
    HoldReleased,
    InactivityReminderIssued,
    InternalNoteAdded,
    InvestigationOpened,
    MessageToReporterSent,
    OversightInformed,
    RecommendationImplemented,
    RecommendationIssued,
    ReferredToAuthority,
    ReporterContactProvided,
    ReporterFileAdded,
    ReporterMessageAdded,
    ReportReceived,
    RetentionWarningIssued,
    SanctionDecided,
    SanctionProposed,
    SanctionVoteCast,
)
from caseflow.domain.summaries import FindingSummary
from caseflow.domain.transitions import CLOSED_STATUSES, OPEN_STATUSES, Status
from caseflow.domain.vocabulary import (
    DeadlineKind,
    EscalationLevel,
    Outcome,
    RetaliationRisk,
    SanctionLevel,
    Severity,
)


@dataclass(frozen=True)
class Finding:
    finding_id: str
    substantiated: bool
    subject_id: str
    severity: Severity
    recorded_on: date
    recorded_by: str


@dataclass(frozen=True)
class Recommendation:
    recommendation_id: str
    agency: str
    due_on: date
    sanction_proposal_id: str | None
    implemented_on: date | None = None


@dataclass(frozen=True)
class SanctionProposal:
    proposal_id: str
    subject_id: str
    level: SanctionLevel
    finding_ids: tuple[str, ...]
    eligible_voters: tuple[str, ...]
    possible_retaliation: bool
    votes: tuple[tuple[str, bool], ...] = ()  # (voter, approve), in casting order
    approved: bool | None = None  # None until decided

    @property
    def decided(self) -> bool:
        return self.approved is not None

    def voters(self, approve: bool) -> tuple[str, ...]:
        return tuple(voter for voter, vote in self.votes if vote is approve)


_ProposalChange = Callable[[SanctionProposal], SanctionProposal]

#: A step of the escalation ladder already taken: (deadline, reference, due on, level).
EscalationStep = tuple[DeadlineKind, str, date, EscalationLevel]


@dataclass(frozen=True)
class CaseState:
    """Everything the decider and the policies need to know about one case.

    ``grants`` are the staff members who hold the case key; ``recused`` are those
    who must never hold it. ``version`` counts the events folded in (the stream
    version the store appends after).
    """

    case_id: str = ""
    status: Status = Status.NEW
    version: int = 0
    category: str = ""
    agency: str = ""
    desk: str = ""
    consulted_desks: tuple[str, ...] = ()
    senior_officials_involved: bool = False
    oversight_informed: bool = False
    received_on: date | None = None
    acknowledged_on: date | None = None
    reopened_on: date | None = None
    feedback_given_on: date | None = None
    feedback_extended_to: date | None = None
    closed_on: date | None = None
    last_activity_on: date | None = None
    reminded_for: date | None = None
    assignee: str | None = None
    grants: frozenset[str] = frozenset()
    recused: frozenset[str] = frozenset()
    severity: Severity | None = None
    retaliation_risk: RetaliationRisk | None = None
    outcome: Outcome | None = None
    referrals: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    recommendations: tuple[Recommendation, ...] = ()
    proposals: tuple[SanctionProposal, ...] = ()
    escalations: frozenset[EscalationStep] = frozenset()
    hold: str | None = None  # why the case is kept from shredding (legal hold, archive)
    archived: bool = False
    retention_warned_for: date | None = None  # the shredding day the desk was warned of

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    def proposal(self, proposal_id: str) -> SanctionProposal | None:
        return next((p for p in self.proposals if p.proposal_id == proposal_id), None)

    def recommendation(self, recommendation_id: str) -> Recommendation | None:
        return next(
            (r for r in self.recommendations if r.recommendation_id == recommendation_id), None
        )

    def open_recommendations(self) -> tuple[Recommendation, ...]:
        return tuple(r for r in self.recommendations if r.implemented_on is None)


def findings_of(state: CaseState) -> tuple[FindingSummary, ...]:
    """The case's findings as the cross-case policies see them."""
    return tuple(
        FindingSummary(
            case_id=state.case_id,
            finding_id=f.finding_id,
            agency=state.agency,
            subject_id=f.subject_id,
            substantiated=f.substantiated,
            severity=f.severity,
            found_on=f.recorded_on,
            recorded_by=f.recorded_by,
        )
        for f in state.findings
    )


def replay(events: Iterable[CaseEvent], state: CaseState | None = None) -> CaseState:
    """Fold ``events`` into ``state`` (a fresh case by default)."""
    current = CaseState() if state is None else state
    for event in events:
        current = evolve(current, event)
    return current


def evolve(state: CaseState, event: CaseEvent) -> CaseState:
    """The case after ``event``. Pure; never refuses."""
    moved = _apply(state, event)
    changes: dict[str, object] = {"version": state.version + 1}
    activity = _activity_day(event)
    if activity is not None and (
        moved.last_activity_on is None or activity > moved.last_activity_on
    ):
        changes["last_activity_on"] = activity
    return _changed(moved, **changes)


_FIELDS = frozenset(f.name for f in fields(CaseState))


def _changed(state: CaseState, **changes: object) -> CaseState:
    """``dataclasses.replace`` for :class:`CaseState`, ten times faster.

    Replaying the log (the tick, a rebuild of the projections) calls this for
    every event; ``replace`` re-runs the frozen ``__init__`` over some thirty
    fields each time. CaseState has no ``__post_init__`` to skip, and unknown
    field names are still refused.
    """
    unknown = changes.keys() - _FIELDS
    if unknown:
        raise TypeError(f"CaseState has no field(s) {sorted(unknown)}")
    new = object.__new__(CaseState)
    new.__dict__.update(state.__dict__)
    new.__dict__.update(changes)
    return new


def _activity_day(event: CaseEvent) -> date | None:
    """The day of an event that counts as work on the case; the clock's own events do not."""
    match event:
        case ReportReceived(received_on=day):
            return day
        case (
            ReporterMessageAdded(added_on=day)
            | ReporterFileAdded(added_on=day)
            | CaseWithdrawn(withdrawn_on=day)
        ):
            return day
        case (
            MessageToReporterSent(sent_at=moment)
            | CaseAcknowledged(acknowledged_at=moment)
            | CaseAssigned(assigned_at=moment)
            | CaseUnassigned(unassigned_at=moment)
            | ConflictDeclared(declared_at=moment)
            | DeskChanged(changed_at=moment)
            | CaseAssessed(assessed_at=moment)
            | InvestigationOpened(opened_at=moment)
            | FindingRecorded(recorded_at=moment)
            | ReferredToAuthority(referred_at=moment)
            | FeedbackGiven(given_at=moment)
            | FeedbackDeadlineExtended(extended_at=moment)
            | DeliberationBegun(begun_at=moment)
            | CaseConcluded(concluded_at=moment)
            | CaseReopened(reopened_at=moment)
            | InternalNoteAdded(added_at=moment)
            | RecommendationIssued(issued_at=moment)
            | RecommendationImplemented(recorded_at=moment)
            | SanctionProposed(proposed_at=moment)
            | SanctionVoteCast(cast_at=moment)
            | SanctionDecided(decided_at=moment)
            | HoldPlaced(placed_at=moment)
            | HoldReleased(released_at=moment)
        ):
            return local_date(moment)
    return None


def _apply(state: CaseState, event: CaseEvent) -> CaseState:
    match event:
        case ReportReceived():
            return _changed(
                state,
                case_id=event.case_id,
                status=Status.RECEIVED,
                category=event.category,
                agency=event.agency,
                desk=event.desk,
                consulted_desks=event.consulted_desks,
                senior_officials_involved=event.senior_officials_involved,
                received_on=event.received_on,
                recused=state.recused | frozenset(event.named_staff),
            )
        case (
            ReporterMessageAdded()
            | ReporterFileAdded()
            | ReporterContactProvided()
            | MessageToReporterSent()
            | InternalNoteAdded()
        ):
            return state
        case CaseAcknowledged():
            return _changed(
                state,
                status=Status.ACKNOWLEDGED,
                acknowledged_on=local_date(event.acknowledged_at),
            )
        case CaseAssigned():
            return _changed(state, assignee=event.assignee)
        case CaseUnassigned():
            return _changed(state, assignee=None)
        case AccessGranted():
            return _changed(state, grants=state.grants | {event.staff_id})
        case AccessRevoked():
            return _changed(state, grants=state.grants - {event.staff_id})
        case ConflictDeclared():
            assignee = None if state.assignee == event.staff_id else state.assignee
            return _changed(state, recused=state.recused | {event.staff_id}, assignee=assignee)
        case DeskChanged():
            consulted = tuple(d for d in state.consulted_desks if d != event.to_desk)
            return _changed(state, desk=event.to_desk, consulted_desks=consulted, assignee=None)
        case OversightInformed():
            return _changed(state, oversight_informed=True)
        case CaseAssessed():
            status = Status.ASSESSED if event.admissible else Status.REJECTED
            closed_on = None if event.admissible else local_date(event.assessed_at)
            return _changed(
                state,
                status=status,
                severity=event.severity,
                retaliation_risk=event.retaliation_risk,
                closed_on=closed_on,
            )
        case InvestigationOpened():
            return _changed(state, status=Status.INVESTIGATING)
        case FindingRecorded():
            finding = Finding(
                finding_id=event.finding_id,
                substantiated=event.substantiated,
                subject_id=event.subject_id,
                severity=event.severity,
                recorded_on=local_date(event.recorded_at),
                recorded_by=event.actor,
            )
            return _changed(state, findings=(*state.findings, finding))
        case ReferredToAuthority():
            return _changed(state, referrals=(*state.referrals, event.authority))
        case FeedbackGiven():
            return _changed(state, feedback_given_on=local_date(event.given_at))
        case FeedbackDeadlineExtended():
            return _changed(state, feedback_extended_to=event.new_due_on)
        case DeliberationBegun():
            return _changed(state, status=Status.DELIBERATING)
        case CaseConcluded():
            return _changed(
                state,
                status=Status.CONCLUDED,
                outcome=event.outcome,
                closed_on=local_date(event.concluded_at),
            )
        case CaseWithdrawn():
            return _changed(
                state,
                status=Status.WITHDRAWN,
                outcome=Outcome.WITHDRAWN,
                closed_on=event.withdrawn_on,
            )
        case CaseReopened():
            return _changed(
                state,
                status=Status.REOPENED,
                outcome=None,
                closed_on=None,
                reopened_on=local_date(event.reopened_at),
                feedback_given_on=None,
                feedback_extended_to=None,
            )
        case RecommendationIssued():
            recommendation = Recommendation(
                recommendation_id=event.recommendation_id,
                agency=event.agency,
                due_on=event.due_on,
                sanction_proposal_id=event.sanction_proposal_id,
            )
            return _changed(state, recommendations=(*state.recommendations, recommendation))
        case RecommendationImplemented():
            return _changed(
                state,
                recommendations=tuple(
                    replace(r, implemented_on=event.implemented_on)
                    if r.recommendation_id == event.recommendation_id
                    else r
                    for r in state.recommendations
                ),
            )
        case SanctionProposed():
            proposal = SanctionProposal(
                proposal_id=event.proposal_id,
                subject_id=event.subject_id,
                level=event.level,
                finding_ids=event.finding_ids,
                eligible_voters=event.eligible_voters,
                possible_retaliation=event.possible_retaliation,
            )
            return _changed(state, proposals=(*state.proposals, proposal))
        case SanctionVoteCast():
            return _with_proposal(
                state,
                event.proposal_id,
                lambda p: replace(p, votes=(*p.votes, (event.voter, event.approve))),
            )
        case SanctionDecided():
            return _with_proposal(
                state, event.proposal_id, lambda p: replace(p, approved=event.approved)
            )
        case CaseEscalated():
            step = (event.deadline, event.reference, event.due_on, event.level)
            return _changed(state, escalations=state.escalations | {step})
        case InactivityReminderIssued():
            return _changed(state, reminded_for=event.inactive_since)
        case HoldPlaced():
            kind = "archive decision" if event.archive else "legal hold"
            return _changed(state, hold=f"{kind}: {event.reason}", archived=event.archive)
        case HoldReleased():
            return _changed(state, hold=None)
        case RetentionWarningIssued():
            return _changed(state, retention_warned_for=event.shred_on)
        case CaseShredded():
            return _changed(state, status=Status.SHREDDED, grants=frozenset(), assignee=None)
    return state


def _with_proposal(state: CaseState, proposal_id: str, change: _ProposalChange) -> CaseState:
    return _changed(
        state,
        proposals=tuple(change(p) if p.proposal_id == proposal_id else p for p in state.proposals),
    )
