"""What staff, the reporter and the intake ask of a case.

A command is a request: the decider checks it against the case and either
emits events or refuses. Ids (messages, findings, recommendations, proposals)
are chosen by the caller, so that the decider stays deterministic. Facts the
case cannot know (desk membership, the committee, findings in other cases) are
looked up by the service and passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar

from caseflow.domain.summaries import FindingSummary
from caseflow.domain.transitions import CommandKind
from caseflow.domain.vocabulary import Outcome, RetaliationRisk, Severity


@dataclass(frozen=True)
class Command:
    kind: ClassVar[CommandKind]

    case_id: str
    actor: str


@dataclass(frozen=True)
class Receive(Command):
    """The intake hands over a report; routing and recusal are decided here."""

    kind = CommandKind.RECEIVE
    category: str
    agency: str
    received_on: date
    senior_officials_involved: bool
    named_staff: tuple[str, ...] = ()
    also_concerns: tuple[str, ...] = ()  # further categories: a mixed report
    desk_members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    contact_provided: bool = False  # identity details arrive sealed with the report


@dataclass(frozen=True)
class AddReporterMessage(Command):
    kind = CommandKind.ADD_REPORTER_MESSAGE
    message_id: str


@dataclass(frozen=True)
class AddReporterFile(Command):
    kind = CommandKind.ADD_REPORTER_FILE
    file_id: str


@dataclass(frozen=True)
class Acknowledge(Command):
    kind = CommandKind.ACKNOWLEDGE
    message_id: str


@dataclass(frozen=True)
class Assign(Command):
    kind = CommandKind.ASSIGN
    assignee: str


@dataclass(frozen=True)
class Unassign(Command):
    """The assignee stops handling the case (they left the desk): the case waits
    for the desk lead to assign it again."""

    kind = CommandKind.UNASSIGN
    reason: str


@dataclass(frozen=True)
class DeclareConflict(Command):
    """``staff_id`` declares a conflict (``actor == staff_id``) or is recused by a lead.

    ``desk_members`` are the current members of the case's desk: when all of
    them are recused the case moves to a substitute desk (routing.toml's
    ``[substitutes]``, else oversight), chosen among ``other_desks`` (each
    desk's members) so that it is not all recused itself.
    """

    kind = CommandKind.DECLARE_CONFLICT
    staff_id: str
    reason: str
    desk_members: frozenset[str] = frozenset()
    other_desks: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Assess(Command):
    kind = CommandKind.ASSESS
    admissible: bool
    severity: Severity
    retaliation_risk: RetaliationRisk
    reason: str
    #: The sealed message that tells the reporter why the report is rejected:
    #: required when it is not admissible (the reporter is owed the reason).
    message_id: str = ""


@dataclass(frozen=True)
class RequestInformation(Command):
    kind = CommandKind.REQUEST_INFORMATION
    message_id: str


@dataclass(frozen=True)
class OpenInvestigation(Command):
    kind = CommandKind.OPEN_INVESTIGATION


@dataclass(frozen=True)
class RecordFinding(Command):
    kind = CommandKind.RECORD_FINDING
    finding_id: str
    substantiated: bool
    subject_id: str
    severity: Severity


@dataclass(frozen=True)
class Refer(Command):
    """To the other desk (``to_desk``) or to an external authority (``to_authority``)."""

    kind = CommandKind.REFER
    reason: str
    to_desk: str | None = None
    to_authority: str | None = None


@dataclass(frozen=True)
class GiveFeedback(Command):
    kind = CommandKind.GIVE_FEEDBACK
    message_id: str


@dataclass(frozen=True)
class ExtendFeedbackDeadline(Command):
    kind = CommandKind.EXTEND_FEEDBACK_DEADLINE
    reason: str
    months: int


@dataclass(frozen=True)
class BeginDeliberation(Command):
    kind = CommandKind.BEGIN_DELIBERATION


@dataclass(frozen=True)
class IssueRecommendation(Command):
    """``due_on`` None takes the default period of ``deadlines.toml``."""

    kind = CommandKind.ISSUE_RECOMMENDATION
    recommendation_id: str
    agency: str
    due_on: date | None = None


@dataclass(frozen=True)
class RecordImplementation(Command):
    kind = CommandKind.RECORD_IMPLEMENTATION
    recommendation_id: str
    implemented_on: date


@dataclass(frozen=True)
class ProposeSanction(Command):
    """Run the sanction ladder for ``subject_id``.

    ``committee`` is the ethics committee today; ``earlier_findings`` are the
    subject's findings in other cases (the subject-ladder projection);
    ``subject_is_known_reporter`` says whether the subject has reported to the
    system, which flags the proposal as possible retaliation.
    """

    kind = CommandKind.PROPOSE_SANCTION
    proposal_id: str
    subject_id: str
    committee: frozenset[str]
    earlier_findings: tuple[FindingSummary, ...] = ()
    subject_is_known_reporter: bool = False


@dataclass(frozen=True)
class Vote(Command):
    kind = CommandKind.VOTE
    proposal_id: str
    approve: bool


@dataclass(frozen=True)
class DecideSanction(Command):
    """Record the committee's decision; an approved sanction becomes ``recommendation_id``."""

    kind = CommandKind.DECIDE_SANCTION
    proposal_id: str
    recommendation_id: str


@dataclass(frozen=True)
class Conclude(Command):
    kind = CommandKind.CONCLUDE
    outcome: Outcome
    reason: str


@dataclass(frozen=True)
class Reopen(Command):
    kind = CommandKind.REOPEN
    reason: str


@dataclass(frozen=True)
class AddInternalNote(Command):
    """A note for the desk only; the service seals its text under ``note_id``."""

    kind = CommandKind.ADD_INTERNAL_NOTE
    note_id: str


@dataclass(frozen=True)
class Withdraw(Command):
    """The reporter withdraws the report: the case closes as withdrawn."""

    kind = CommandKind.WITHDRAW


@dataclass(frozen=True)
class Shred(Command):
    kind = CommandKind.SHRED
    reason: str


@dataclass(frozen=True)
class PlaceHold(Command):
    """Keep the case from crypto-shredding: a legal hold, or an archive decision.

    An archive decision (the Archives Act: the records are kept for good) has
    no end; a legal hold lasts until it is released.
    """

    kind = CommandKind.PLACE_HOLD
    archive: bool
    reason: str


@dataclass(frozen=True)
class ReleaseHold(Command):
    kind = CommandKind.RELEASE_HOLD
    reason: str
