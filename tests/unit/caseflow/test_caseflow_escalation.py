"""The clock's events: escalation ladder, reminders, oversight notice, systemic flags, shredding."""

from __future__ import annotations

from datetime import date

import pytest
from caseflow_helpers import RULES, received, run, stockholm

from caseflow.domain.commands import (
    Acknowledge,
    Assess,
    BeginDeliberation,
    Conclude,
    IssueRecommendation,
    OpenInvestigation,
    PlaceHold,
    RecordFinding,
    RecordImplementation,
    ReleaseHold,
    Shred,
)
from caseflow.domain.errors import CaseflowError
from caseflow.domain.events import (
    CaseEscalated,
    CaseShredded,
    InactivityReminderIssued,
    OversightInformed,
    ReportReceived,
    RetentionWarningIssued,
)
from caseflow.domain.policies.escalation import flagged_cases, systemic_flags
from caseflow.domain.state import CaseState, replay
from caseflow.domain.summaries import FindingSummary
from caseflow.domain.tick import due_events
from caseflow.domain.transitions import Status
from caseflow.domain.vocabulary import (
    DeadlineKind,
    EscalationLevel,
    Outcome,
    RetaliationRisk,
    Severity,
)


def tick(case: CaseState, when: str) -> tuple[CaseState, list[object]]:
    """One tick at ``when`` (Stockholm); checks that a second tick at the same time is empty."""
    now = stockholm(when)
    events = due_events(case, now, RULES)
    after = replay(events, case)
    assert due_events(after, now, RULES) == []
    return after, list(events)


def levels(events: list[object]) -> list[tuple[DeadlineKind, EscalationLevel]]:
    return [(e.deadline, e.level) for e in events if isinstance(e, CaseEscalated)]


ACK = DeadlineKind.ACKNOWLEDGEMENT


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-03-09 23:59", []),
        ("2026-03-10 00:00", [(ACK, EscalationLevel.ASSIGNEE)]),
        ("2026-03-12 23:59", [(ACK, EscalationLevel.ASSIGNEE)]),
        ("2026-03-13 00:00", [(ACK, EscalationLevel.ASSIGNEE), (ACK, EscalationLevel.DESK_LEAD)]),
        (
            "2026-03-20 00:00",
            [
                (ACK, EscalationLevel.ASSIGNEE),
                (ACK, EscalationLevel.DESK_LEAD),
                (ACK, EscalationLevel.OVERSIGHT),
            ],
        ),
    ],
)
def test_a_missed_acknowledgement_climbs_the_ladder(
    when: str, expected: list[tuple[DeadlineKind, EscalationLevel]]
) -> None:
    case = received(date(2026, 3, 2))  # acknowledgement due 2026-03-09
    _after, events = tick(case, when)
    assert levels(events) == expected


def test_each_step_is_taken_once_with_its_reason() -> None:
    case = received(date(2026, 3, 2))
    case, first = tick(case, "2026-03-10 08:00")
    case, second = tick(case, "2026-03-11 08:00")
    case, third = tick(case, "2026-03-13 08:00")
    assert levels(first) == [(ACK, EscalationLevel.ASSIGNEE)]
    assert levels(second) == []
    assert levels(third) == [(ACK, EscalationLevel.DESK_LEAD)]
    (step,) = [e for e in third if isinstance(e, CaseEscalated)]
    assert "acknowledgement deadline 2026-03-09 missed" in step.reason


def test_a_late_acknowledgement_stops_the_ladder() -> None:
    case = received(date(2026, 3, 2))
    case, _ = tick(case, "2026-03-10 08:00")
    case = run(case, [Acknowledge("case-1", "ana", "ack")], stockholm("2026-03-11 09:00"))
    _case, events = tick(case, "2026-03-25 08:00")
    assert levels(events) == []


def test_the_ladder_climbs_at_a_stockholm_midnight_across_the_clock_change() -> None:
    case = received(date(2026, 3, 22))  # acknowledgement due 2026-03-29, the spring change
    assert levels(tick(case, "2026-03-29 23:59")[1]) == []
    assert levels(tick(case, "2026-03-30 00:00")[1]) == [(ACK, EscalationLevel.ASSIGNEE)]


def _deliberating(received_on: date, when: str) -> CaseState:
    case = received(received_on, category="partisan_bias")
    return run(
        case,
        [
            Acknowledge("case-1", "cecilia", "ack"),
            Assess("case-1", "cecilia", True, Severity.MEDIUM, RetaliationRisk.LOW, "in scope"),
            OpenInvestigation("case-1", "cecilia"),
            RecordFinding("case-1", "cecilia", "f1", True, "subject-1", Severity.MEDIUM),
            BeginDeliberation("case-1", "cecilia"),
        ],
        stockholm(when),
    )


def test_an_overdue_recommendation_escalates_even_after_the_case_is_concluded() -> None:
    case = _deliberating(date(2026, 1, 5), "2026-01-06 09:00")
    case = run(
        case,
        [
            IssueRecommendation("case-1", "eva", "rec-1", "skatteverket", date(2026, 2, 27)),
            Conclude("case-1", "eva", Outcome.SUBSTANTIATED, "finding upheld"),
        ],
        stockholm("2026-01-07 09:00"),
    )
    assert case.status is Status.CONCLUDED
    case, events = tick(case, "2026-02-28 00:30")
    assert [(e.deadline, e.reference, e.level) for e in events if isinstance(e, CaseEscalated)] == [
        (DeadlineKind.RECOMMENDATION, "rec-1", EscalationLevel.ASSIGNEE)
    ]
    case = run(
        case,
        [RecordImplementation("case-1", "eva", "rec-1", date(2026, 3, 1))],
        stockholm("2026-03-02 09:00"),
    )
    assert levels(tick(case, "2026-04-01 09:00")[1]) == []


def test_oversight_is_informed_once_when_senior_officials_are_involved() -> None:
    case = received(date(2026, 3, 2), senior=True)
    assert case.oversight_informed  # the receive command told oversight at once
    assert tick(case, "2026-03-02 12:00")[1] == []
    # a receipt the intake wrote directly (no OversightInformed) is caught by the next tick
    intake = ReportReceived(
        "case-2", "bribery", "csn", "anticorruption", (), date(2026, 3, 2), True, ()
    )
    _after, events = tick(replay([intake]), "2026-03-02 12:00")
    assert [type(e) for e in events] == [OversightInformed]


def test_an_inactivity_reminder_is_issued_once_per_quiet_spell() -> None:
    case = received(date(2026, 6, 1))
    case = run(case, [Acknowledge("case-1", "ana", "ack")], stockholm("2026-06-01 10:00"))
    assert tick(case, "2026-06-15 23:00")[1] == []
    case, events = tick(case, "2026-06-16 00:00")
    assert events == [
        InactivityReminderIssued("case-1", date(2026, 6, 1), stockholm("2026-06-16 00:00"))
    ]
    assert tick(case, "2026-06-20 00:00")[1] == []


def test_a_closed_case_is_shredded_when_retention_ends() -> None:
    case = _deliberating(date(2026, 2, 20), "2026-02-22 09:00")
    case = run(
        case,
        [Conclude("case-1", "eva", Outcome.SUBSTANTIATED, "finding upheld")],
        stockholm("2028-02-29 15:00"),
    )
    # Kept two years from 29 February 2028: through 28 February 2030. The
    # desk hears 30 days before the shredding day, once.
    assert tick(case, "2030-01-29 23:59")[1] == []
    case, events = tick(case, "2030-01-30 00:00")
    assert events == [
        RetentionWarningIssued("case-1", date(2030, 3, 1), stockholm("2030-01-30 00:00"))
    ]
    assert tick(case, "2030-02-28 23:59")[1] == []
    case, events = tick(case, "2030-03-01 00:00")
    assert [type(e) for e in events] == [CaseShredded]
    assert case.status is Status.SHREDDED and not case.grants


def _concluded_in_2024() -> CaseState:
    case = _deliberating(date(2024, 2, 20), "2024-02-22 09:00")
    return run(
        case,
        [Conclude("case-1", "eva", Outcome.SUBSTANTIATED, "finding upheld")],
        stockholm("2024-03-01 10:00"),
    )


def test_a_legal_hold_keeps_the_case_until_it_is_released() -> None:
    case = run(
        _concluded_in_2024(),
        [PlaceHold("case-1", "eva", False, "court case T 1234-26 pending")],
        stockholm("2026-01-15 10:00"),
    )
    assert case.hold == "legal hold: court case T 1234-26 pending"
    assert tick(case, "2027-06-01 08:00")[1] == []  # long past two years: nothing
    with pytest.raises(CaseflowError, match="kept"):
        run(case, [Shred("case-1", "eva", "tidying up")], stockholm("2027-06-01 09:00"))
    case = run(
        case, [ReleaseHold("case-1", "eva", "judgment final")], stockholm("2027-06-02 10:00")
    )
    case, events = tick(case, "2027-06-03 08:00")
    # Retention ended long ago: the warning and the shredding come together.
    assert [type(e) for e in events] == [CaseShredded]


def test_an_archive_decision_is_never_released_and_never_shredded() -> None:
    case = run(
        _concluded_in_2024(),
        [PlaceHold("case-1", "eva", True, "archive decision 2026-14")],
        stockholm("2026-01-15 10:00"),
    )
    assert case.archived and tick(case, "2040-01-01 08:00")[1] == []
    with pytest.raises(CaseflowError, match="archive"):
        run(case, [ReleaseHold("case-1", "eva", "changed my mind")], stockholm("2026-02-01 10:00"))
    with pytest.raises(CaseflowError, match="reason"):
        run(_concluded_in_2024(), [PlaceHold("case-1", "eva", True, " ")], stockholm("2026-01-15"))


def _finding(
    case_id: str, agency: str, found_on: date, substantiated: bool = True
) -> FindingSummary:
    return FindingSummary(
        case_id=case_id,
        finding_id=f"{case_id}-f",
        agency=agency,
        subject_id="subject-9",
        substantiated=substantiated,
        severity=Severity.MEDIUM,
        found_on=found_on,
        recorded_by="ana",
    )


@pytest.mark.parametrize(
    ("findings", "flagged"),
    [
        ([], []),
        ([_finding("c1", "csn", date(2026, 1, 10)), _finding("c2", "csn", date(2026, 5, 1))], []),
        (
            [
                _finding("c1", "csn", date(2026, 1, 10)),
                _finding("c2", "csn", date(2026, 5, 1)),
                _finding("c3", "csn", date(2026, 12, 1)),
            ],
            [("csn", ("c1", "c2", "c3"))],
        ),
        (  # one of them left the 365-day window
            [
                _finding("c1", "csn", date(2025, 12, 1)),
                _finding("c2", "csn", date(2026, 5, 1)),
                _finding("c3", "csn", date(2026, 12, 1)),
            ],
            [],
        ),
        (  # not substantiated, or another agency: no pattern
            [
                _finding("c1", "csn", date(2026, 1, 10), substantiated=False),
                _finding("c2", "csn", date(2026, 5, 1)),
                _finding("c3", "tullverket", date(2026, 12, 1)),
            ],
            [],
        ),
    ],
)
def test_repeated_substantiated_cases_against_one_agency_are_flagged(
    findings: list[FindingSummary], flagged: list[tuple[str, tuple[str, ...]]]
) -> None:
    now = stockholm("2026-12-02 03:00")
    flags = systemic_flags(findings, {}, now, RULES.escalation)
    assert [(f.agency, f.case_ids) for f in flags] == flagged
    for flag in flags:
        assert flag.notify == ("oversight", "JO")
    # flagging is idempotent, and a new case in the window flags again
    assert systemic_flags(findings, flagged_cases(flags), now, RULES.escalation) == []
    if flagged:
        more = [*findings, _finding("c4", "csn", date(2026, 12, 2))]
        again = systemic_flags(more, flagged_cases(flags), now, RULES.escalation)
        assert [f.case_ids for f in again] == [("c1", "c2", "c3", "c4")]
