"""The sanction ladder proposes; the committee decides by quorum."""

from __future__ import annotations

from datetime import date

import pytest
from caseflow_helpers import COMMITTEE, RULES, received, run, stockholm

from caseflow.domain.commands import (
    Acknowledge,
    Assess,
    BeginDeliberation,
    Conclude,
    DecideSanction,
    DeclareConflict,
    OpenInvestigation,
    ProposeSanction,
    RecordFinding,
    Vote,
)
from caseflow.domain.decider import decide
from caseflow.domain.errors import ActorRecused, InvalidCommand, QuorumNotReached
from caseflow.domain.events import RecommendationIssued, SanctionDecided
from caseflow.domain.policies.sanctions import ladder_step
from caseflow.domain.state import CaseState
from caseflow.domain.summaries import FindingSummary
from caseflow.domain.vocabulary import Outcome, RetaliationRisk, SanctionLevel, Severity

TODAY = date(2026, 6, 1)
NOW = stockholm("2026-06-01 10:00")


def found(
    case_id: str,
    on: date = date(2026, 5, 1),
    severity: Severity = Severity.MEDIUM,
    substantiated: bool = True,
    subject: str = "subject-1",
    finding_id: str | None = None,
) -> FindingSummary:
    return FindingSummary(
        case_id=case_id,
        finding_id=finding_id or f"{case_id}-f",
        agency="csn",
        subject_id=subject,
        substantiated=substantiated,
        severity=severity,
        found_on=on,
        recorded_by="ana",
    )


W, D, X = SanctionLevel.WARNING, SanctionLevel.DEMOTION, SanctionLevel.DISMISSAL


@pytest.mark.parametrize(
    ("findings", "level"),
    [
        ([], None),
        ([found("c1")], W),
        ([found("c1"), found("c2")], D),
        ([found("c1"), found("c2"), found("c3")], X),
        ([found("c1"), found("c2"), found("c3"), found("c4")], X),
        # two findings in one case count once
        ([found("c1"), found("c1", finding_id="c1-g")], W),
        # severity skips steps
        ([found("c1", severity=Severity.HIGH)], D),
        ([found("c1", severity=Severity.CRITICAL)], X),
        ([found("c1"), found("c2", severity=Severity.HIGH)], D),
        # the 1095-day window ending today begins on 2023-06-03 (2024 was a leap year)
        ([found("c0", on=date(2023, 6, 2)), found("c1")], W),
        ([found("c0", on=date(2023, 6, 3)), found("c1")], D),
        # not substantiated, or another subject: no count
        ([found("c0", substantiated=False), found("c1")], W),
        ([found("c0", subject="subject-2"), found("c1")], W),
    ],
)
def test_the_ladder_climbs_with_repeated_cases(
    findings: list[FindingSummary], level: SanctionLevel | None
) -> None:
    step = ladder_step("subject-1", findings, TODAY, RULES.sanctions)
    assert (step.level if step else None) == level


def deliberating(recorder: str = "cecilia") -> CaseState:
    case = received(date(2026, 5, 20), category="partisan_bias")
    return run(
        case,
        [
            Acknowledge("case-1", recorder, "ack"),
            Assess("case-1", recorder, True, Severity.MEDIUM, RetaliationRisk.LOW, "in scope"),
            OpenInvestigation("case-1", recorder),
            RecordFinding("case-1", recorder, "f1", True, "subject-1", Severity.MEDIUM),
            BeginDeliberation("case-1", recorder),
        ],
        stockholm("2026-05-21 10:00"),
    )


def propose(
    known_reporter: bool = False, earlier: tuple[FindingSummary, ...] = ()
) -> ProposeSanction:
    return ProposeSanction("case-1", "olle", "p1", "subject-1", COMMITTEE, earlier, known_reporter)


def test_the_recorder_of_a_finding_does_not_vote_and_two_of_the_rest_decide() -> None:
    case = run(deliberating(recorder="cecilia"), [propose()], NOW)
    (proposal,) = case.proposals
    assert proposal.level is W and proposal.eligible_voters == ("dan", "eva")
    with pytest.raises(InvalidCommand, match="cecilia is not an eligible voter"):
        decide(case, Vote("case-1", "cecilia", "p1", True), NOW, RULES)
    case = run(case, [Vote("case-1", "dan", "p1", True)], NOW)
    with pytest.raises(InvalidCommand, match="dan has already voted"):
        decide(case, Vote("case-1", "dan", "p1", True), NOW, RULES)
    with pytest.raises(QuorumNotReached, match="1 for and 0 against; 2 counted votes"):
        decide(case, DecideSanction("case-1", "olle", "p1", "rec-1"), NOW, RULES)
    case = run(case, [Vote("case-1", "eva", "p1", True)], NOW)
    events = decide(case, DecideSanction("case-1", "olle", "p1", "rec-1"), NOW, RULES)
    decided, recommendation = events
    assert isinstance(decided, SanctionDecided) and decided.approved
    assert decided.votes_for == ("dan", "eva")
    # the decision goes to the employer as a recommendation tracked to implementation
    assert isinstance(recommendation, RecommendationIssued)
    assert (recommendation.agency, recommendation.due_on) == ("skatteverket", date(2026, 7, 31))
    assert recommendation.sanction_proposal_id == "p1"


def test_a_split_vote_waits_for_the_third_member() -> None:
    case = run(
        deliberating(recorder="ana"),
        [propose(), Vote("case-1", "cecilia", "p1", True), Vote("case-1", "dan", "p1", False)],
        NOW,
    )
    with pytest.raises(QuorumNotReached):
        decide(case, DecideSanction("case-1", "olle", "p1", "rec-1"), NOW, RULES)
    case = run(case, [Vote("case-1", "eva", "p1", False)], NOW)
    (decided,) = decide(case, DecideSanction("case-1", "olle", "p1", "rec-1"), NOW, RULES)
    assert isinstance(decided, SanctionDecided) and not decided.approved


def test_recused_members_are_excluded_and_a_quorum_may_become_impossible() -> None:
    case = run(
        deliberating(recorder="cecilia"),
        [DeclareConflict("case-1", "dan", "dan", "knows the subject")],
        NOW,
    )
    with pytest.raises(QuorumNotReached, match="only 1 committee members may vote"):
        decide(case, propose(), NOW, RULES)
    with pytest.raises(ActorRecused):
        decide(case, Vote("case-1", "dan", "p1", True), NOW, RULES)


def test_earlier_cases_climb_the_ladder_and_a_known_reporter_is_flagged() -> None:
    earlier = (found("c-old-1", on=date(2025, 1, 1)), found("c-old-2", on=date(2025, 9, 1)))
    case = run(deliberating(recorder="ana"), [propose(known_reporter=True, earlier=earlier)], NOW)
    (proposal,) = case.proposals
    assert proposal.level is X
    assert proposal.possible_retaliation
    assert proposal.finding_ids == ("c-old-1-f", "c-old-2-f", "f1")


def test_no_proposal_without_a_substantiated_finding_here_and_no_conclusion_while_one_waits() -> (
    None
):
    case = deliberating(recorder="ana")
    other = ProposeSanction("case-1", "olle", "p2", "subject-2", COMMITTEE)
    with pytest.raises(InvalidCommand, match="no substantiated finding against subject-2"):
        decide(case, other, NOW, RULES)
    case = run(case, [propose()], NOW)
    with pytest.raises(InvalidCommand, match="sanction proposals await a decision"):
        decide(case, Conclude("case-1", "olle", Outcome.SUBSTANTIATED, "upheld"), NOW, RULES)
