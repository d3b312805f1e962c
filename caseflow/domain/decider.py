"""The case as a decider: a command is checked against the case, then becomes events.

``decide`` never changes anything: it returns the events that record what the
command did, or raises a :class:`~caseflow.domain.errors.CommandRefused`
naming the command, the case and the reason. The transition table is asked
first; the checks that follow are the ones a table cannot express (a quorum,
a recusal, a missing reason).
"""

from __future__ import annotations

from datetime import datetime

from caseflow.domain.commands import (
    Acknowledge,
    AddInternalNote,
    AddReporterFile,
    AddReporterMessage,
    Assess,
    Assign,
    BeginDeliberation,
    Command,
    Conclude,
    DecideSanction,
    DeclareConflict,
    ExtendFeedbackDeadline,
    GiveFeedback,
    IssueRecommendation,
    OpenInvestigation,
    PlaceHold,
    ProposeSanction,
    Receive,
    RecordFinding,
    RecordImplementation,
    Refer,
    ReleaseHold,
    Reopen,
    RequestInformation,
    Shred,
    Unassign,
    Vote,
    Withdraw,
)
from caseflow.domain.dates import add_days, local_date, require_aware
from caseflow.domain.errors import (
    ActorRecused,
    InvalidCommand,
    QuorumNotReached,
    TransitionNotAllowed,
)
from caseflow.domain.events import (
    AccessGranted,
    AccessRevoked,
    CaseAcknowledged,
    CaseAssessed,
    CaseAssigned,
    CaseConcluded,
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
    SanctionDecided,
    SanctionProposed,
    SanctionVoteCast,
)
from caseflow.domain.policies.deadlines import (
    extended_feedback_due,
    extension_refusal,
    feedback_due,
)
from caseflow.domain.policies.routing import route_report, substitute_for, whole_desk_recused
from caseflow.domain.policies.sanctions import (
    counted_votes,
    eligible_voters,
    ladder_step,
    quorum_decision,
    vote_refusal,
)
from caseflow.domain.rules import Rules
from caseflow.domain.state import CaseState, findings_of
from caseflow.domain.transitions import TABLE, Status
from caseflow.domain.vocabulary import Outcome


def decide(state: CaseState, command: Command, now: datetime, rules: Rules) -> list[CaseEvent]:
    """The events ``command`` produces on the case at ``now``; raises when it is refused."""
    require_aware(now)
    if state.status is not Status.NEW and command.case_id != state.case_id:
        raise InvalidCommand(command.kind, command.case_id, f"this is case {state.case_id}")
    if not TABLE.targets(state.status, command.kind):
        raise TransitionNotAllowed(command.kind, command.case_id, state.status)
    if not command.actor.strip():
        raise InvalidCommand(command.kind, command.case_id, "no actor is named")
    if command.actor in state.recused:
        raise ActorRecused(
            command.kind, command.case_id, f"{command.actor} is recused from this case"
        )
    match command:
        case Receive():
            return _receive(command, now, rules)
        case AddReporterMessage():
            return [ReporterMessageAdded(command.case_id, command.message_id, local_date(now))]
        case AddReporterFile():
            return [ReporterFileAdded(command.case_id, command.file_id, local_date(now))]
        case Acknowledge():
            return [CaseAcknowledged(command.case_id, command.message_id, now, command.actor)]
        case Assign():
            return _assign(state, command, now)
        case Unassign():
            return _unassign(state, command, now)
        case DeclareConflict():
            return _declare_conflict(state, command, now, rules)
        case Assess():
            _require_reason(command, command.reason)
            if not command.admissible and not command.message_id.strip():
                raise InvalidCommand(
                    command.kind,
                    command.case_id,
                    "a rejection needs a reason written to the reporter",
                )
            return [
                CaseAssessed(
                    command.case_id,
                    command.admissible,
                    command.severity,
                    command.retaliation_risk,
                    command.reason,
                    now,
                    command.actor,
                    "" if command.admissible else command.message_id,
                )
            ]
        case RequestInformation():
            return [MessageToReporterSent(command.case_id, command.message_id, now, command.actor)]
        case OpenInvestigation():
            return [InvestigationOpened(command.case_id, now, command.actor)]
        case RecordFinding():
            return _record_finding(state, command, now)
        case Refer():
            return _refer(state, command, now, rules)
        case GiveFeedback():
            return [FeedbackGiven(command.case_id, command.message_id, now, command.actor)]
        case ExtendFeedbackDeadline():
            return _extend_feedback_deadline(state, command, now, rules)
        case BeginDeliberation():
            if not state.findings:
                raise InvalidCommand(command.kind, command.case_id, "no finding is recorded yet")
            return [DeliberationBegun(command.case_id, now, command.actor)]
        case IssueRecommendation():
            return _issue_recommendation(state, command, now, rules)
        case RecordImplementation():
            return _record_implementation(state, command, now)
        case ProposeSanction():
            return _propose_sanction(state, command, now, rules)
        case Vote():
            return _vote(state, command, now)
        case DecideSanction():
            return _decide_sanction(state, command, now, rules)
        case Conclude():
            return _conclude(state, command, now)
        case Reopen():
            _require_reason(command, command.reason)
            return [CaseReopened(command.case_id, command.reason, now, command.actor)]
        case AddInternalNote():
            if not command.note_id.strip():
                raise InvalidCommand(command.kind, command.case_id, "the note has no id")
            return [InternalNoteAdded(command.case_id, command.note_id, now, command.actor)]
        case Withdraw():
            # Whatever the desk has begun, the reporter may withdraw; nothing
            # of the case is undone (the records stay until retention ends).
            return [CaseWithdrawn(command.case_id, local_date(now))]
        case Shred():
            _require_reason(command, command.reason)
            if state.hold is not None:
                raise InvalidCommand(
                    command.kind, command.case_id, f"the case is kept: {state.hold}"
                )
            return [CaseShredded(command.case_id, command.reason, now, command.actor)]
        case PlaceHold():
            _require_reason(command, command.reason)
            if state.hold is not None:
                raise InvalidCommand(
                    command.kind, command.case_id, f"the case is already kept: {state.hold}"
                )
            return [
                HoldPlaced(command.case_id, command.archive, command.reason, now, command.actor)
            ]
        case ReleaseHold():
            _require_reason(command, command.reason)
            if state.hold is None:
                raise InvalidCommand(command.kind, command.case_id, "the case is not on hold")
            if state.archived:
                raise InvalidCommand(
                    command.kind, command.case_id, "an archive decision is not released"
                )
            return [HoldReleased(command.case_id, command.reason, now, command.actor)]
    raise InvalidCommand(command.kind, command.case_id, f"unknown command {type(command).__name__}")


def _require_reason(command: Command, reason: str) -> None:
    if not reason.strip():
        raise InvalidCommand(command.kind, command.case_id, "a reason must be recorded")


def _receive(command: Receive, now: datetime, rules: Rules) -> list[CaseEvent]:
    for category in (command.category, *command.also_concerns):
        if category not in rules.routing.categories:
            raise InvalidCommand(command.kind, command.case_id, f"unknown category {category!r}")
    if command.received_on > local_date(now):
        raise InvalidCommand(command.kind, command.case_id, "received_on lies in the future")
    named = tuple(sorted(set(command.named_staff)))
    route = route_report(
        command.category,
        rules.routing,
        also_concerns=command.also_concerns,
        named_staff=named,
        senior_officials_involved=command.senior_officials_involved,
        desk_members=command.desk_members,
    )
    events: list[CaseEvent] = [
        ReportReceived(
            case_id=command.case_id,
            category=command.category,
            agency=command.agency,
            desk=route.desk,
            consulted_desks=route.consulted_desks,
            received_on=command.received_on,
            senior_officials_involved=command.senior_officials_involved,
            named_staff=named,
        )
    ]
    if command.contact_provided:
        events.append(ReporterContactProvided(command.case_id, command.received_on))
    if route.inform_oversight:
        events.append(OversightInformed(command.case_id, "senior officials are involved", now))
    return events


def _revoke_all(state: CaseState, reason: str, now: datetime) -> list[CaseEvent]:
    return [AccessRevoked(state.case_id, holder, reason, now) for holder in sorted(state.grants)]


def _assign(state: CaseState, command: Assign, now: datetime) -> list[CaseEvent]:
    assignee = command.assignee
    if assignee in state.recused:
        raise ActorRecused(
            command.kind, command.case_id, f"{assignee} is recused and never receives the key"
        )
    if assignee == state.assignee:
        raise InvalidCommand(command.kind, command.case_id, f"{assignee} is already assigned")
    events: list[CaseEvent] = []
    if state.assignee is not None and state.assignee in state.grants:
        events.append(
            AccessRevoked(command.case_id, state.assignee, f"reassigned to {assignee}", now)
        )
    events.append(CaseAssigned(command.case_id, assignee, now, command.actor))
    if assignee not in state.grants:
        events.append(AccessGranted(command.case_id, assignee, "assigned to the case", now))
    return events


def _unassign(state: CaseState, command: Unassign, now: datetime) -> list[CaseEvent]:
    _require_reason(command, command.reason)
    previous = state.assignee
    if previous is None:
        raise InvalidCommand(command.kind, command.case_id, "nobody is assigned")
    events: list[CaseEvent] = []
    if previous in state.grants:
        events.append(AccessRevoked(command.case_id, previous, command.reason, now))
    events.append(CaseUnassigned(command.case_id, previous, command.reason, now, command.actor))
    return events


def _declare_conflict(
    state: CaseState, command: DeclareConflict, now: datetime, rules: Rules
) -> list[CaseEvent]:
    _require_reason(command, command.reason)
    staff = command.staff_id
    if staff in state.recused:
        raise InvalidCommand(command.kind, command.case_id, f"{staff} is already recused")
    events: list[CaseEvent] = []
    if staff in state.grants:
        events.append(AccessRevoked(command.case_id, staff, "conflict of interest declared", now))
    events.append(ConflictDeclared(command.case_id, staff, command.reason, now, command.actor))
    recused = state.recused | {staff}
    desk = state.desk or ""
    if whole_desk_recused(command.desk_members, recused):
        # Nobody left at the desk may open the case: a substitute desk takes
        # it, and the workspace seals the case key to it in the same
        # transaction (caseflow.service.workspace), so it can act at once.
        members = {**command.other_desks, desk: command.desk_members}
        substitute = substitute_for(desk, rules.routing, members, recused)
        if substitute != desk:
            remaining = state.grants - {staff}
            events.extend(
                AccessRevoked(command.case_id, holder, f"case moves to {substitute}", now)
                for holder in sorted(remaining)
            )
            events.append(
                DeskChanged(
                    command.case_id,
                    state.desk,
                    substitute,
                    f"every member of {state.desk} is recused",
                    now,
                    command.actor,
                )
            )
    return events


def _record_finding(state: CaseState, command: RecordFinding, now: datetime) -> list[CaseEvent]:
    if not command.subject_id.strip():
        raise InvalidCommand(command.kind, command.case_id, "a pseudonymous subject id is needed")
    if any(f.finding_id == command.finding_id for f in state.findings):
        raise InvalidCommand(
            command.kind, command.case_id, f"finding {command.finding_id} is already recorded"
        )
    return [
        FindingRecorded(
            command.case_id,
            command.finding_id,
            command.substantiated,
            command.subject_id,
            command.severity,
            now,
            command.actor,
        )
    ]


def _refer(state: CaseState, command: Refer, now: datetime, rules: Rules) -> list[CaseEvent]:
    _require_reason(command, command.reason)
    if (command.to_desk is None) == (command.to_authority is None):
        raise InvalidCommand(
            command.kind, command.case_id, "name either a desk or an external authority"
        )
    if command.to_authority is not None:
        if not command.to_authority.strip():
            raise InvalidCommand(command.kind, command.case_id, "the authority is not named")
        return [
            ReferredToAuthority(
                command.case_id, command.to_authority, command.reason, now, command.actor
            )
        ]
    desk = command.to_desk or ""
    if desk not in rules.routing.desks:
        raise InvalidCommand(command.kind, command.case_id, f"unknown desk {desk!r}")
    if desk == state.desk:
        raise InvalidCommand(command.kind, command.case_id, f"the case is already at {desk}")
    # The new desk assigns its own people: nobody of the old desk keeps the key.
    return [
        *_revoke_all(state, f"case referred to {desk}", now),
        DeskChanged(command.case_id, state.desk, desk, command.reason, now, command.actor),
    ]


def _extend_feedback_deadline(
    state: CaseState, command: ExtendFeedbackDeadline, now: datetime, rules: Rules
) -> list[CaseEvent]:
    refusal = extension_refusal(state, command.months, command.reason, rules.deadlines)
    if refusal is not None:
        raise InvalidCommand(command.kind, command.case_id, refusal)
    current = feedback_due(state, rules.deadlines)
    if current is None:  # extension_refusal has said so already
        raise InvalidCommand(command.kind, command.case_id, "no feedback deadline is running")
    new_due = extended_feedback_due(current, command.months)
    return [FeedbackDeadlineExtended(command.case_id, new_due, command.reason, now, command.actor)]


def _issue_recommendation(
    state: CaseState, command: IssueRecommendation, now: datetime, rules: Rules
) -> list[CaseEvent]:
    if not command.agency.strip():
        raise InvalidCommand(command.kind, command.case_id, "the agency is not named")
    _require_new_recommendation(state, command, command.recommendation_id)
    today = local_date(now)
    due = command.due_on or add_days(today, rules.deadlines.recommendation_due_days)
    if due <= today:
        raise InvalidCommand(command.kind, command.case_id, "the due date must lie ahead")
    return [
        RecommendationIssued(
            command.case_id,
            command.recommendation_id,
            command.agency,
            due,
            None,
            now,
            command.actor,
        )
    ]


def _require_new_recommendation(state: CaseState, command: Command, recommendation_id: str) -> None:
    if state.recommendation(recommendation_id) is not None:
        raise InvalidCommand(
            command.kind, command.case_id, f"recommendation {recommendation_id} already exists"
        )


def _record_implementation(
    state: CaseState, command: RecordImplementation, now: datetime
) -> list[CaseEvent]:
    recommendation = state.recommendation(command.recommendation_id)
    if recommendation is None:
        raise InvalidCommand(
            command.kind, command.case_id, f"no recommendation {command.recommendation_id}"
        )
    if recommendation.implemented_on is not None:
        raise InvalidCommand(
            command.kind,
            command.case_id,
            f"recommendation {command.recommendation_id} is already implemented",
        )
    if command.implemented_on > local_date(now):
        raise InvalidCommand(command.kind, command.case_id, "implemented_on lies in the future")
    return [
        RecommendationImplemented(
            command.case_id, command.recommendation_id, command.implemented_on, now, command.actor
        )
    ]


def _propose_sanction(
    state: CaseState, command: ProposeSanction, now: datetime, rules: Rules
) -> list[CaseEvent]:
    subject = command.subject_id
    if state.proposal(command.proposal_id) is not None:
        raise InvalidCommand(
            command.kind, command.case_id, f"proposal {command.proposal_id} already exists"
        )
    if not any(f.subject_id == subject and f.substantiated for f in state.findings):
        raise InvalidCommand(
            command.kind, command.case_id, f"no substantiated finding against {subject} here"
        )
    if any(p.subject_id == subject and not p.decided for p in state.proposals):
        raise InvalidCommand(
            command.kind, command.case_id, f"a proposal against {subject} awaits a decision"
        )
    summaries = (*findings_of(state), *command.earlier_findings)
    step = ladder_step(subject, summaries, local_date(now), rules.sanctions)
    if step is None:
        raise InvalidCommand(
            command.kind, command.case_id, "no substantiated finding within the ladder's window"
        )
    recorders = {f.recorded_by for f in summaries if f.finding_id in step.finding_ids}
    voters = eligible_voters(command.committee, state.recused, recorders)
    quorum = rules.sanctions.quorum
    if len(voters) < quorum:
        raise QuorumNotReached(
            command.kind,
            command.case_id,
            f"only {len(voters)} committee members may vote (recused members and the "
            f"recorders of the findings are excluded); the quorum is {quorum}",
        )
    return [
        SanctionProposed(
            case_id=command.case_id,
            proposal_id=command.proposal_id,
            subject_id=subject,
            level=step.level,
            finding_ids=step.finding_ids,
            eligible_voters=voters,
            possible_retaliation=command.subject_is_known_reporter,
            proposed_at=now,
            actor=command.actor,
        )
    ]


def _vote(state: CaseState, command: Vote, now: datetime) -> list[CaseEvent]:
    proposal = state.proposal(command.proposal_id)
    if proposal is None:
        raise InvalidCommand(command.kind, command.case_id, f"no proposal {command.proposal_id}")
    refusal = vote_refusal(proposal, command.actor)
    if refusal is not None:
        raise InvalidCommand(command.kind, command.case_id, refusal)
    return [
        SanctionVoteCast(command.case_id, command.proposal_id, command.actor, command.approve, now)
    ]


def _decide_sanction(
    state: CaseState, command: DecideSanction, now: datetime, rules: Rules
) -> list[CaseEvent]:
    proposal = state.proposal(command.proposal_id)
    if proposal is None:
        raise InvalidCommand(command.kind, command.case_id, f"no proposal {command.proposal_id}")
    if proposal.decided:
        raise InvalidCommand(
            command.kind, command.case_id, f"proposal {command.proposal_id} is already decided"
        )
    quorum = rules.sanctions.quorum
    approved = quorum_decision(proposal, quorum, state.recused)
    votes_for, votes_against = counted_votes(proposal, state.recused)
    if approved is None:
        raise QuorumNotReached(
            command.kind,
            command.case_id,
            f"{len(votes_for)} for and {len(votes_against)} against; "
            f"{quorum} counted votes on one side are needed",
        )
    events: list[CaseEvent] = [
        SanctionDecided(
            command.case_id,
            command.proposal_id,
            approved,
            proposal.level,
            votes_for,
            votes_against,
            now,
            command.actor,
        )
    ]
    if approved:
        # The committee recommends; the employer's disciplinary board decides.
        _require_new_recommendation(state, command, command.recommendation_id)
        due = add_days(local_date(now), rules.sanctions.recommendation_due_days)
        events.append(
            RecommendationIssued(
                command.case_id,
                command.recommendation_id,
                state.agency,
                due,
                command.proposal_id,
                now,
                command.actor,
            )
        )
    return events


def _conclude(state: CaseState, command: Conclude, now: datetime) -> list[CaseEvent]:
    _require_reason(command, command.reason)
    pending = [p.proposal_id for p in state.proposals if not p.decided]
    if pending:
        raise InvalidCommand(
            command.kind, command.case_id, f"sanction proposals await a decision: {pending}"
        )
    substantiated = any(f.substantiated for f in state.findings)
    refusal = _outcome_refusal(command.outcome, substantiated, bool(state.referrals))
    if refusal is not None:
        raise InvalidCommand(command.kind, command.case_id, refusal)
    return [CaseConcluded(command.case_id, command.outcome, command.reason, now, command.actor)]


def _outcome_refusal(outcome: Outcome, substantiated: bool, referred: bool) -> str | None:
    if outcome is Outcome.SUBSTANTIATED and not substantiated:
        return "outcome substantiated needs a substantiated finding"
    if outcome is Outcome.NOT_SUBSTANTIATED and substantiated:
        return "a substantiated finding is recorded: the outcome cannot be not_substantiated"
    if outcome is Outcome.WITHDRAWN:
        return "only the reporter withdraws a report"
    if outcome is Outcome.REFERRED and not referred:
        return "outcome referred needs a referral to an external authority"
    return None
