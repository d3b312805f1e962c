"""What happened to a case, as frozen, versioned facts.

Events carry routing metadata and opaque ids only, never report content: the
report, messages and files are sealed elsewhere and referred to by id. Times on
the reporter's side are dates (a minute-precise time can identify who was at
their desk); staff-side times are time-zone aware datetimes.

Each class has a ``schema_version``; when a class changes shape, bump it and
register an upcaster in :mod:`caseflow.domain.codec` so old records still read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar

from caseflow.domain.vocabulary import (
    DeadlineKind,
    EscalationLevel,
    Outcome,
    RetaliationRisk,
    SanctionLevel,
    Severity,
)


@dataclass(frozen=True)
class Event:
    """Base of every event; ``schema_version`` is the shape of the record it came from."""

    schema_version: ClassVar[int] = 1


@dataclass(frozen=True)
class CaseEvent(Event):
    """An event in the stream of one case."""

    case_id: str


# --- receipt and the reporter's follow-ups -------------------------------------------


@dataclass(frozen=True)
class ReportReceived(CaseEvent):
    """A report arrived through the intake; emitted by the intake with this exact shape."""

    category: str
    agency: str
    desk: str
    consulted_desks: tuple[str, ...]
    received_on: date
    senior_officials_involved: bool
    named_staff: tuple[str, ...]


@dataclass(frozen=True)
class ReporterMessageAdded(CaseEvent):
    message_id: str
    added_on: date


@dataclass(frozen=True)
class CaseWithdrawn(CaseEvent):
    """The reporter withdrew the report; a reporter's day, never finer (DESIGN §4)."""

    withdrawn_on: date


@dataclass(frozen=True)
class ReporterFileAdded(CaseEvent):
    file_id: str
    added_on: date


@dataclass(frozen=True)
class ReporterContactProvided(CaseEvent):
    """The reporter chose to leave contact details (sealed separately, art. 16)."""

    added_on: date


@dataclass(frozen=True)
class MessageToReporterSent(CaseEvent):
    """A question or note to the reporter (the sealed text is ``message_id``)."""

    message_id: str
    sent_at: datetime
    actor: str


# --- handling by the desk --------------------------------------------------------------


@dataclass(frozen=True)
class CaseAcknowledged(CaseEvent):
    message_id: str
    acknowledged_at: datetime
    actor: str


@dataclass(frozen=True)
class CaseAssigned(CaseEvent):
    assignee: str
    assigned_at: datetime
    actor: str


@dataclass(frozen=True)
class CaseUnassigned(CaseEvent):
    previous: str
    reason: str
    unassigned_at: datetime
    actor: str


@dataclass(frozen=True)
class AccessGranted(CaseEvent):
    """``staff_id`` receives the case key (the service seals it to their key)."""

    staff_id: str
    reason: str
    granted_at: datetime


@dataclass(frozen=True)
class AccessRevoked(CaseEvent):
    """``staff_id``'s grant of the case key is destroyed."""

    staff_id: str
    reason: str
    revoked_at: datetime


@dataclass(frozen=True)
class ConflictDeclared(CaseEvent):
    """``staff_id`` is recused from the case from now on."""

    staff_id: str
    reason: str
    declared_at: datetime
    actor: str


@dataclass(frozen=True)
class DeskChanged(CaseEvent):
    from_desk: str
    to_desk: str
    reason: str
    changed_at: datetime
    actor: str


@dataclass(frozen=True)
class OversightInformed(CaseEvent):
    """Oversight hears of the case (metadata only: it receives no key)."""

    reason: str
    informed_at: datetime


@dataclass(frozen=True)
class CaseAssessed(CaseEvent):
    """Triage: an inadmissible case is rejected by this very event.

    Version 2 adds ``message_id``: a rejection carries a sealed message to the
    reporter that gives the reason (version 1 records get "": none was written).
    """

    schema_version: ClassVar[int] = 2

    admissible: bool
    severity: Severity
    retaliation_risk: RetaliationRisk
    reason: str
    assessed_at: datetime
    actor: str
    message_id: str = ""


@dataclass(frozen=True)
class InvestigationOpened(CaseEvent):
    opened_at: datetime
    actor: str


@dataclass(frozen=True)
class FindingRecorded(CaseEvent):
    """A finding against a pseudonymous subject (never a name)."""

    finding_id: str
    substantiated: bool
    subject_id: str
    severity: Severity
    recorded_at: datetime
    actor: str


@dataclass(frozen=True)
class ReferredToAuthority(CaseEvent):
    authority: str
    reason: str
    referred_at: datetime
    actor: str


@dataclass(frozen=True)
class FeedbackGiven(CaseEvent):
    message_id: str
    given_at: datetime
    actor: str


@dataclass(frozen=True)
class FeedbackDeadlineExtended(CaseEvent):
    new_due_on: date
    reason: str
    extended_at: datetime
    actor: str


@dataclass(frozen=True)
class DeliberationBegun(CaseEvent):
    begun_at: datetime
    actor: str


@dataclass(frozen=True)
class CaseConcluded(CaseEvent):
    outcome: Outcome
    reason: str
    concluded_at: datetime
    actor: str


@dataclass(frozen=True)
class InternalNoteAdded(CaseEvent):
    """A note among the desk's staff (the sealed text is ``note_id``); never shown to
    the reporter, and no step of the workflow."""

    note_id: str
    added_at: datetime
    actor: str


@dataclass(frozen=True)
class CaseReopened(CaseEvent):
    reason: str
    reopened_at: datetime
    actor: str


# --- recommendations and sanctions --------------------------------------------------


@dataclass(frozen=True)
class RecommendationIssued(CaseEvent):
    """A recommendation to an agency (or employer), tracked until implemented."""

    recommendation_id: str
    agency: str
    due_on: date
    sanction_proposal_id: str | None
    issued_at: datetime
    actor: str


@dataclass(frozen=True)
class RecommendationImplemented(CaseEvent):
    recommendation_id: str
    implemented_on: date
    recorded_at: datetime
    actor: str


@dataclass(frozen=True)
class SanctionProposed(CaseEvent):
    """The ladder's proposal; the committee decides, never the ladder."""

    proposal_id: str
    subject_id: str
    level: SanctionLevel
    finding_ids: tuple[str, ...]
    eligible_voters: tuple[str, ...]
    possible_retaliation: bool
    proposed_at: datetime
    actor: str


@dataclass(frozen=True)
class SanctionVoteCast(CaseEvent):
    proposal_id: str
    voter: str
    approve: bool
    cast_at: datetime


@dataclass(frozen=True)
class SanctionDecided(CaseEvent):
    proposal_id: str
    approved: bool
    level: SanctionLevel
    votes_for: tuple[str, ...]
    votes_against: tuple[str, ...]
    decided_at: datetime
    actor: str


# --- what the clock brings (emitted by ``due_events``) ------------------------------


@dataclass(frozen=True)
class CaseEscalated(CaseEvent):
    """One step of the escalation ladder for one missed deadline."""

    deadline: DeadlineKind
    reference: str
    due_on: date
    level: EscalationLevel
    reason: str
    escalated_at: datetime


@dataclass(frozen=True)
class InactivityReminderIssued(CaseEvent):
    inactive_since: date
    issued_at: datetime


@dataclass(frozen=True)
class HoldPlaced(CaseEvent):
    """A legal hold or an archive decision: retention does not shred the case."""

    archive: bool
    reason: str
    placed_at: datetime
    actor: str


@dataclass(frozen=True)
class HoldReleased(CaseEvent):
    reason: str
    released_at: datetime
    actor: str


@dataclass(frozen=True)
class RetentionWarningIssued(CaseEvent):
    """The desk is told that the case will be shredded on ``shred_on``."""

    shred_on: date
    issued_at: datetime


@dataclass(frozen=True)
class CaseShredded(CaseEvent):
    """Every grant of the case key is destroyed; the chain stays verifiable."""

    reason: str
    shredded_at: datetime
    actor: str


# --- across cases -------------------------------------------------------------------


@dataclass(frozen=True)
class SystemicPatternFlagged(Event):
    """Repeated substantiated cases against one agency: oversight and JO are told.

    Lives in the agency's stream, not in a case's.
    """

    agency: str
    case_ids: tuple[str, ...]
    window_from: date
    window_to: date
    notify: tuple[str, ...]
    flagged_at: datetime


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        ReportReceived,
        ReporterMessageAdded,
        ReporterFileAdded,
        CaseWithdrawn,
        ReporterContactProvided,
        MessageToReporterSent,
        CaseAcknowledged,
        CaseAssigned,
        CaseUnassigned,
        AccessGranted,
        AccessRevoked,
        ConflictDeclared,
        DeskChanged,
        OversightInformed,
        CaseAssessed,
        InvestigationOpened,
        FindingRecorded,
        ReferredToAuthority,
        FeedbackGiven,
        FeedbackDeadlineExtended,
        DeliberationBegun,
        CaseConcluded,
        CaseReopened,
        InternalNoteAdded,
        RecommendationIssued,
        RecommendationImplemented,
        SanctionProposed,
        SanctionVoteCast,
        SanctionDecided,
        CaseEscalated,
        InactivityReminderIssued,
        CaseShredded,
        HoldPlaced,
        HoldReleased,
        RetentionWarningIssued,
        SystemicPatternFlagged,
    )
}
"""Every event type by its stored name (the class name)."""
