"""A case's journey through the decider, and the refusals it meets on the way."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest
from caseflow_helpers import RULES, received, run, stockholm

from caseflow.domain.commands import (
    Acknowledge,
    AddReporterMessage,
    Assess,
    Assign,
    BeginDeliberation,
    Conclude,
    GiveFeedback,
    IssueRecommendation,
    OpenInvestigation,
    RecordFinding,
    RecordImplementation,
    Refer,
    Reopen,
    RequestInformation,
    Shred,
    Withdraw,
)
from caseflow.domain.decider import decide
from caseflow.domain.errors import (
    CaseflowError,
    InvalidCommand,
    NaiveTimestamp,
    TransitionNotAllowed,
)
from caseflow.domain.events import CaseAssessed, CaseEvent, ReporterMessageAdded
from caseflow.domain.policies.deadlines import feedback_due
from caseflow.domain.state import replay
from caseflow.domain.transitions import TABLE, CommandKind, Status
from caseflow.domain.vocabulary import Outcome, RetaliationRisk, Severity

NOW = stockholm("2026-04-02 10:00")
C = "case-1"


def test_receive_assess_address_conclude() -> None:
    case = received(date(2026, 4, 1), category="procurement")
    assert (case.status, case.desk) == (Status.RECEIVED, "anticorruption")
    case = run(
        case,
        [
            Acknowledge(C, "ana", "msg-ack"),
            Assign(C, "ana", "bo"),
            Assess(C, "bo", True, Severity.HIGH, RetaliationRisk.HIGH, "a tender was steered"),
            RequestInformation(C, "bo", "msg-q1"),
            AddReporterMessage(C, "reporter", "msg-a1"),
            OpenInvestigation(C, "bo"),
            RecordFinding(C, "bo", "f1", True, "subject-4", Severity.HIGH),
            GiveFeedback(C, "bo", "msg-fb"),
            Refer(C, "bo", "possible crime", to_authority="Ekobrottsmyndigheten"),
            Conclude(C, "bo", Outcome.SUBSTANTIATED, "the tender was steered"),
        ],
        NOW,
    )
    assert case.status is Status.CONCLUDED and case.outcome is Outcome.SUBSTANTIATED
    assert case.grants == {"bo"} and case.referrals == ("Ekobrottsmyndigheten",)
    case = run(case, [Reopen(C, "ana", "new evidence from the reporter")], NOW)
    assert case.status is Status.REOPENED and case.outcome is None
    assert feedback_due(case, RULES.deadlines) == date(2026, 7, 2)


def test_a_reporter_follow_up_is_dated_by_the_day_only() -> None:
    (event,) = decide(
        received(date(2026, 4, 1)),
        AddReporterMessage(C, "reporter", "m-9"),
        stockholm("2026-04-02 00:30"),  # 22:30 UTC the day before
        RULES,
    )
    assert event == ReporterMessageAdded(C, "m-9", date(2026, 4, 2))


def test_a_command_outside_the_table_is_refused_naming_the_state() -> None:
    case = received(date(2026, 4, 1))
    with pytest.raises(
        TransitionNotAllowed,
        match="open_investigation refused for case case-1: not allowed while the case is received",
    ):
        decide(case, OpenInvestigation(C, "ana"), NOW, RULES)


def test_a_shredded_case_accepts_no_command() -> None:
    case = run(
        received(date(2026, 4, 1)),
        [
            Acknowledge(C, "ana", "m"),
            Assess(C, "ana", False, Severity.LOW, RetaliationRisk.LOW, "not a state agency", "m2"),
            Shred(C, "ana", "out of scope, nothing to keep"),
        ],
        NOW,
    )
    assert case.status is Status.SHREDDED
    assert TABLE.commands_in(Status.SHREDDED) == frozenset()
    for kind in CommandKind:
        assert not TABLE.targets(Status.SHREDDED, kind)
    with pytest.raises(TransitionNotAllowed, match="shredded"):
        decide(case, Reopen(C, "ana", "oops"), NOW, RULES)


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        (Outcome.SUBSTANTIATED, "needs a substantiated finding"),
        (Outcome.REFERRED, "needs a referral"),
    ],
)
def test_an_outcome_must_fit_the_findings(outcome: Outcome, reason: str) -> None:
    case = run(
        received(date(2026, 4, 1)),
        [
            Acknowledge(C, "ana", "m"),
            Assess(C, "ana", True, Severity.LOW, RetaliationRisk.LOW, "in scope"),
        ],
        NOW,
    )
    with pytest.raises(InvalidCommand, match=reason):
        decide(case, Conclude(C, "ana", outcome, "done"), NOW, RULES)
    concluded = run(case, [Conclude(C, "ana", Outcome.NO_FURTHER_ACTION, "resolved")], NOW)
    assert concluded.outcome is Outcome.NO_FURTHER_ACTION


def test_recommendations_are_tracked_to_implementation() -> None:
    case = run(
        received(date(2026, 4, 1), category="ethics"),
        [
            Acknowledge(C, "dan", "m"),
            Assess(C, "dan", True, Severity.MEDIUM, RetaliationRisk.LOW, "in scope"),
            OpenInvestigation(C, "dan"),
            RecordFinding(C, "dan", "f1", False, "subject-2", Severity.LOW),
            BeginDeliberation(C, "dan"),
            IssueRecommendation(C, "eva", "rec-1", "csn"),
        ],
        NOW,
    )
    (recommendation,) = case.recommendations
    assert recommendation.due_on == date(2026, 7, 1)  # 90 days by default
    with pytest.raises(InvalidCommand, match="implemented_on lies in the future"):
        decide(case, RecordImplementation(C, "eva", "rec-1", date(2026, 4, 3)), NOW, RULES)
    case = run(case, [RecordImplementation(C, "eva", "rec-1", date(2026, 4, 2))], NOW)
    assert case.open_recommendations() == ()


def test_refusals_are_caseflow_errors_that_say_why() -> None:
    case = received(date(2026, 4, 1))
    with pytest.raises(CaseflowError, match="this is case case-1"):
        decide(case, Acknowledge("case-2", "ana", "m"), NOW, RULES)
    with pytest.raises(InvalidCommand, match="no actor is named"):
        decide(case, Acknowledge(C, " ", "m"), NOW, RULES)
    with pytest.raises(NaiveTimestamp):
        decide(case, Acknowledge(C, "ana", "m"), datetime(2026, 4, 2, 10, 0), RULES)


def test_replaying_the_events_rebuilds_the_case() -> None:
    start = received(date(2026, 4, 1))
    events: list[CaseEvent] = []
    case = start
    for command in (Acknowledge(C, "ana", "m"), Assign(C, "ana", "ana"), Assign(C, "ana", "bo")):
        new = decide(case, command, NOW, RULES)
        events.extend(new)
        case = replay(new, case)
    assert replay(events, start) == case
    assert case.version == start.version + len(events)
    assert (case.assignee, case.grants) == ("bo", frozenset({"bo"}))


def test_a_rejection_carries_a_reason_written_to_the_reporter() -> None:
    case = run(received(date(2026, 4, 1)), [Acknowledge(C, "ana", "m")], NOW)
    without = Assess(C, "ana", False, Severity.LOW, RetaliationRisk.LOW, "not a state agency")
    with pytest.raises(InvalidCommand, match="a reason written to the reporter"):
        decide(case, without, NOW, RULES)
    [event] = decide(case, replace(without, message_id="m2"), NOW, RULES)
    assert isinstance(event, CaseAssessed) and event.message_id == "m2"
    # An admissible report needs no such message, and carries none.
    [admitted] = decide(case, replace(without, admissible=True, message_id="m3"), NOW, RULES)
    assert isinstance(admitted, CaseAssessed) and admitted.message_id == ""


@pytest.mark.parametrize(
    "steps",
    [
        [],
        [Acknowledge(C, "ana", "m")],
        [
            Acknowledge(C, "ana", "m"),
            Assess(C, "ana", True, Severity.LOW, RetaliationRisk.LOW, "in scope"),
            OpenInvestigation(C, "ana"),
        ],
    ],
)
def test_the_reporter_withdraws_from_any_open_state_and_the_case_closes(steps) -> None:
    case = run(received(date(2026, 4, 1)), steps, NOW)
    withdrawn = run(case, [Withdraw(C, "reporter")], NOW)
    assert withdrawn.status is Status.WITHDRAWN and withdrawn.is_closed
    assert withdrawn.outcome is Outcome.WITHDRAWN
    assert withdrawn.closed_on == date(2026, 4, 2)
    # Closed: not withdrawn twice, not reopened, but shredded when retention ends.
    with pytest.raises(TransitionNotAllowed):
        decide(withdrawn, Withdraw(C, "reporter"), NOW, RULES)
    with pytest.raises(TransitionNotAllowed):
        decide(withdrawn, Reopen(C, "ana", "the reporter changed their mind"), NOW, RULES)
    assert TABLE.targets(Status.WITHDRAWN, CommandKind.SHRED) == {Status.SHREDDED}


def test_staff_never_conclude_with_the_outcome_withdrawn() -> None:
    case = run(
        received(date(2026, 4, 1)),
        [
            Acknowledge(C, "ana", "m"),
            Assess(C, "ana", True, Severity.LOW, RetaliationRisk.LOW, "in scope"),
        ],
        NOW,
    )
    with pytest.raises(InvalidCommand, match="only the reporter withdraws"):
        decide(case, Conclude(C, "ana", Outcome.WITHDRAWN, "quiet"), NOW, RULES)
