"""Random command sequences against one case, with the invariants of issue 3.

Hypothesis drives a case with every command (valid or not, by anyone, at any
time) and the clock's ``due_events``. After every step: no transition outside
the table; replaying the events from scratch gives the same state; a
concluded case has an outcome; an open case has a next deadline; a recused
person never holds a grant; a sanction is never decided without quorum.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from caseflow_helpers import COMMITTEE, DESK_MEMBERS, RULES
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from caseflow.domain.codec import from_record, to_record
from caseflow.domain.commands import (
    Acknowledge,
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
    Vote,
)
from caseflow.domain.dates import local_date
from caseflow.domain.decider import decide
from caseflow.domain.errors import CaseflowError, TransitionNotAllowed
from caseflow.domain.events import (
    CaseEvent,
    ConflictDeclared,
    ReportReceived,
    SanctionDecided,
    SanctionProposed,
    SanctionVoteCast,
)
from caseflow.domain.policies.deadlines import next_deadline
from caseflow.domain.state import CaseState, evolve, replay
from caseflow.domain.tick import due_events, wake_on
from caseflow.domain.transitions import TABLE, CommandKind, Status
from caseflow.domain.vocabulary import Outcome, RetaliationRisk, Severity

CASE = "case-7"
STAFF = ("ana", "bo", "cecilia", "dan", "eva", "olle")
staff = st.sampled_from(STAFF)
reasons = st.sampled_from(["the reason, recorded", "", "  "])
subjects = st.sampled_from(["subject-1", "subject-2"])


class CaseMachine(RuleBasedStateMachine):
    @initialize(
        start=st.datetimes(datetime(2026, 1, 1), datetime(2029, 12, 31), timezones=st.just(UTC))
    )
    def start(self, start: datetime) -> None:
        self.now = start
        self.state = CaseState()
        self.events: list[CaseEvent] = []
        self.serial = 0

    def fresh(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def run(self, command: Command) -> None:
        before = self.state
        allowed = TABLE.targets(before.status, command.kind)
        try:
            events = decide(before, command, self.now, RULES)
        except CaseflowError as refusal:
            if not allowed:
                assert isinstance(refusal, TransitionNotAllowed)
            assert command.kind in str(refusal)
            return
        assert allowed, f"{command.kind} ran while {before.status}"
        after = before
        for event in events:
            assert from_record(*to_record(event)) == event
            after = evolve(after, event)
        assert after.status in allowed, f"{before.status} -{command.kind}-> {after.status}"
        self.state = after
        self.events.extend(events)

    # --- the clock ---------------------------------------------------------------

    @rule(hours=st.integers(0, 24 * 45))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule()
    def tick(self) -> None:
        before = self.state
        events = due_events(before, self.now, RULES)
        after = replay(events, before)
        if after.status is not before.status:
            assert TABLE.allows(before.status, CommandKind.SHRED, after.status)
        assert due_events(after, self.now, RULES) == [], "a second tick at the same now"
        self.state = after
        self.events.extend(events)

    # --- commands ---------------------------------------------------------------------

    @rule(
        category=st.sampled_from(["bribery", "partisan_bias", "conflict_of_interest", "nope"]),
        named=st.frozensets(staff, max_size=3),
        senior=st.booleans(),
    )
    def receive(self, category: str, named: frozenset[str], senior: bool) -> None:
        self.run(
            Receive(
                CASE,
                "intake",
                category=category,
                agency="skatteverket",
                received_on=local_date(self.now),
                senior_officials_involved=senior,
                named_staff=tuple(sorted(named)),
                desk_members=DESK_MEMBERS,
            )
        )

    @rule(file=st.booleans())
    def reporter_follows_up(self, file: bool) -> None:
        if file:
            self.run(AddReporterFile(CASE, "reporter", self.fresh("file")))
        else:
            self.run(AddReporterMessage(CASE, "reporter", self.fresh("message")))

    @rule(actor=staff)
    def acknowledge(self, actor: str) -> None:
        self.run(Acknowledge(CASE, actor, self.fresh("message")))

    @rule(actor=staff, assignee=staff)
    def assign(self, actor: str, assignee: str) -> None:
        self.run(Assign(CASE, actor, assignee))

    @rule(actor=staff, who=staff, reason=reasons)
    def declare_conflict(self, actor: str, who: str, reason: str) -> None:
        members = DESK_MEMBERS.get(self.state.desk, frozenset())
        self.run(DeclareConflict(CASE, actor, who, reason, members))

    @rule(
        actor=staff,
        admissible=st.booleans(),
        severity=st.sampled_from(Severity),
        risk=st.sampled_from(RetaliationRisk),
        reason=reasons,
    )
    def assess(
        self, actor: str, admissible: bool, severity: Severity, risk: RetaliationRisk, reason: str
    ) -> None:
        self.run(Assess(CASE, actor, admissible, severity, risk, reason, self.fresh("message")))

    @rule(actor=staff)
    def request_information(self, actor: str) -> None:
        self.run(RequestInformation(CASE, actor, self.fresh("message")))

    @rule(actor=staff)
    def open_investigation(self, actor: str) -> None:
        self.run(OpenInvestigation(CASE, actor))

    @rule(
        actor=staff,
        subject=subjects,
        substantiated=st.booleans(),
        severity=st.sampled_from(Severity),
    )
    def record_finding(
        self, actor: str, subject: str, substantiated: bool, severity: Severity
    ) -> None:
        self.run(
            RecordFinding(CASE, actor, self.fresh("finding"), substantiated, subject, severity)
        )

    @rule(
        actor=staff,
        desk=st.sampled_from([None, "anticorruption", "ethics", "oversight", "nowhere"]),
        reason=reasons,
    )
    def refer(self, actor: str, desk: str | None, reason: str) -> None:
        if desk is None:
            self.run(Refer(CASE, actor, reason, to_authority="Ekobrottsmyndigheten"))
        else:
            self.run(Refer(CASE, actor, reason, to_desk=desk))

    @rule(actor=staff)
    def give_feedback(self, actor: str) -> None:
        self.run(GiveFeedback(CASE, actor, self.fresh("message")))

    @rule(actor=staff, months=st.integers(0, 4), reason=reasons)
    def extend_feedback_deadline(self, actor: str, months: int, reason: str) -> None:
        self.run(ExtendFeedbackDeadline(CASE, actor, reason, months))

    @rule(actor=staff)
    def begin_deliberation(self, actor: str) -> None:
        self.run(BeginDeliberation(CASE, actor))

    @rule(actor=staff, days=st.one_of(st.none(), st.integers(-3, 200)))
    def issue_recommendation(self, actor: str, days: int | None) -> None:
        due = None if days is None else local_date(self.now) + timedelta(days=days)
        self.run(IssueRecommendation(CASE, actor, self.fresh("rec"), "skatteverket", due))

    @rule(actor=staff, which=st.integers(0, 3), days_ago=st.integers(-1, 30))
    def record_implementation(self, actor: str, which: int, days_ago: int) -> None:
        ids = [r.recommendation_id for r in self.state.recommendations] + ["rec-unknown"]
        when = local_date(self.now) - timedelta(days=days_ago)
        self.run(RecordImplementation(CASE, actor, ids[which % len(ids)], when))

    @rule(actor=staff, subject=subjects, known_reporter=st.booleans())
    def propose_sanction(self, actor: str, subject: str, known_reporter: bool) -> None:
        self.run(
            ProposeSanction(
                CASE,
                actor,
                self.fresh("proposal"),
                subject,
                COMMITTEE,
                subject_is_known_reporter=known_reporter,
            )
        )

    def latest_proposal(self) -> str:
        return self.state.proposals[-1].proposal_id if self.state.proposals else "proposal-x"

    @rule(voter=staff, approve=st.booleans())
    def vote(self, voter: str, approve: bool) -> None:
        self.run(Vote(CASE, voter, self.latest_proposal(), approve))

    @rule(actor=staff)
    def decide_sanction(self, actor: str) -> None:
        self.run(DecideSanction(CASE, actor, self.latest_proposal(), self.fresh("rec")))

    @rule(actor=staff, outcome=st.sampled_from(Outcome), reason=reasons)
    def conclude(self, actor: str, outcome: Outcome, reason: str) -> None:
        self.run(Conclude(CASE, actor, outcome, reason))

    @rule(actor=staff, reason=reasons)
    def reopen(self, actor: str, reason: str) -> None:
        self.run(Reopen(CASE, actor, reason))

    @precondition(lambda self: self.state.is_closed)
    @rule(actor=staff, reason=reasons)
    def shred(self, actor: str, reason: str) -> None:
        self.run(Shred(CASE, actor, reason))

    @rule(actor=staff, archive=st.booleans(), reason=reasons)
    def place_hold(self, actor: str, archive: bool, reason: str) -> None:
        self.run(PlaceHold(CASE, actor, archive, reason))

    @rule(actor=staff, reason=reasons)
    def release_hold(self, actor: str, reason: str) -> None:
        self.run(ReleaseHold(CASE, actor, reason))

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def replay_gives_the_same_case(self) -> None:
        assert replay(self.events) == self.state

    @invariant()
    def a_concluded_case_has_an_outcome(self) -> None:
        if self.state.status is Status.CONCLUDED:
            assert self.state.outcome is not None

    @invariant()
    def an_open_case_has_a_next_deadline(self) -> None:
        if self.state.is_open:
            assert next_deadline(self.state, RULES.deadlines) is not None

    @invariant()
    def the_tick_is_never_woken_late(self) -> None:
        # The tick reads only cases whose wake day has come: a case with
        # something due before that day would be forgotten.
        wake = wake_on(self.state, RULES)
        for ahead in (timedelta(0), timedelta(days=1), timedelta(days=40), timedelta(days=800)):
            later = self.now + ahead
            if due_events(self.state, later, RULES):
                assert wake is not None and wake <= local_date(later), (wake, later)

    @invariant()
    def a_recused_person_never_holds_a_grant(self) -> None:
        assert not (self.state.recused & self.state.grants)

    @invariant()
    def no_sanction_is_decided_without_quorum(self) -> None:
        recused: set[str] = set()
        eligible: dict[str, set[str]] = {}
        votes: dict[str, dict[str, bool]] = {}
        for event in self.events:
            if isinstance(event, ReportReceived):
                recused |= set(event.named_staff)
            elif isinstance(event, ConflictDeclared):
                recused.add(event.staff_id)
            elif isinstance(event, SanctionProposed):
                eligible[event.proposal_id] = set(event.eligible_voters)
                assert len(event.eligible_voters) >= RULES.sanctions.quorum
                assert not eligible[event.proposal_id] & recused
            elif isinstance(event, SanctionVoteCast):
                assert event.voter in eligible[event.proposal_id] - recused
                votes.setdefault(event.proposal_id, {})[event.voter] = event.approve
            elif isinstance(event, SanctionDecided):
                cast = votes.get(event.proposal_id, {})
                side = {v for v, approve in cast.items() if approve is event.approved} - recused
                assert len(side) >= RULES.sanctions.quorum
                assert side <= eligible[event.proposal_id]
                assert set(event.votes_for if event.approved else event.votes_against) == side


class GuidedCaseMachine(CaseMachine):
    """The same machine with a rule that takes the next step of a typical case.

    Random commands alone rarely reach deliberation; this rule walks there so
    that sanctions, votes and recommendations are exercised as often as triage.
    """

    @rule(pick=st.integers(0, 2))
    def next_typical_step(self, pick: int) -> None:
        status, handler = self.state.status, ("ana", "cecilia", "eva")[pick]
        steps: dict[Status, Command] = {
            Status.RECEIVED: Acknowledge(CASE, handler, self.fresh("message")),
            Status.ACKNOWLEDGED: Assess(
                CASE, handler, True, Severity.HIGH, RetaliationRisk.MEDIUM, "within scope"
            ),
            Status.REOPENED: OpenInvestigation(CASE, handler),
            Status.ASSESSED: OpenInvestigation(CASE, handler),
            Status.INVESTIGATING: (
                BeginDeliberation(CASE, handler)
                if self.state.findings
                else RecordFinding(
                    CASE, handler, self.fresh("finding"), True, "subject-1", Severity.MEDIUM
                )
            ),
        }
        if status is Status.NEW:
            self.receive("partisan_bias", frozenset(), False)
        elif status is Status.DELIBERATING:
            undecided = [p for p in self.state.proposals if not p.decided]
            if not undecided:
                self.propose_sanction(handler, "subject-1", False)
            elif len(undecided[0].votes) < 2:
                voters = [
                    v for v in undecided[0].eligible_voters if v not in dict(undecided[0].votes)
                ]
                self.vote(voters[pick % len(voters)], pick != 1)
            else:
                self.decide_sanction(handler)
        elif status in steps:
            self.run(steps[status])


_MODERATE = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCaseMachine = CaseMachine.TestCase
TestCaseMachine.settings = _MODERATE
TestGuidedCaseMachine = GuidedCaseMachine.TestCase
TestGuidedCaseMachine.settings = _MODERATE
