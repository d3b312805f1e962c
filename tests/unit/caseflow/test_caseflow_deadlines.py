"""Legal deadlines: 7 days, 3 months, month ends, leap years, Stockholm's clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from caseflow_helpers import RULES, received, run, stockholm

from caseflow.domain.commands import Acknowledge, GiveFeedback
from caseflow.domain.dates import add_months, add_years, end_of_day, is_past
from caseflow.domain.errors import NaiveTimestamp
from caseflow.domain.policies.deadlines import (
    Deadline,
    acknowledgement_due,
    feedback_due,
    inactivity_due,
    next_deadline,
)
from caseflow.domain.vocabulary import DeadlineKind


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 15), 3, date(2026, 4, 15)),
        (date(2027, 1, 31), 1, date(2027, 2, 28)),  # month end, common year
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # month end, leap year
        (date(2027, 11, 30), 3, date(2028, 2, 29)),  # three months into a leap February
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 8, 31), 3, date(2026, 11, 30)),
        (date(2026, 12, 15), 3, date(2027, 3, 15)),  # across the new year
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
    ],
)
def test_calendar_months_clamp_to_the_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_a_leap_day_plus_a_year_is_the_28th() -> None:
    assert add_years(date(2028, 2, 29), 2) == date(2030, 2, 28)


@pytest.mark.parametrize(
    ("day", "missed_from_utc"),
    [
        (date(2026, 1, 20), datetime(2026, 1, 20, 23, 0, tzinfo=UTC)),  # winter: UTC+1
        (date(2026, 7, 20), datetime(2026, 7, 20, 22, 0, tzinfo=UTC)),  # summer: UTC+2
        (date(2026, 3, 29), datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),  # clocks go forward
        (date(2026, 3, 28), datetime(2026, 3, 28, 23, 0, tzinfo=UTC)),
        (date(2026, 10, 25), datetime(2026, 10, 25, 23, 0, tzinfo=UTC)),  # clocks go back
        (date(2026, 10, 24), datetime(2026, 10, 24, 22, 0, tzinfo=UTC)),
    ],
)
def test_a_deadline_falls_at_the_end_of_its_stockholm_day(
    day: date, missed_from_utc: datetime
) -> None:
    assert end_of_day(day) == missed_from_utc
    assert is_past(day, missed_from_utc)
    assert not is_past(day, missed_from_utc - timedelta(microseconds=1))


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(NaiveTimestamp, match="time zone"):
        is_past(date(2026, 1, 1), datetime(2026, 1, 2))


@pytest.mark.parametrize(
    ("received_on", "ack_due"),
    [
        (date(2026, 3, 2), date(2026, 3, 9)),
        (date(2026, 2, 25), date(2026, 3, 4)),  # across a short February
        (date(2028, 2, 25), date(2028, 3, 3)),  # across a leap February
        (date(2026, 12, 28), date(2027, 1, 4)),
        (date(2026, 3, 22), date(2026, 3, 29)),  # due on the day the clocks go forward
    ],
)
def test_acknowledgement_is_due_seven_days_after_receipt(received_on: date, ack_due: date) -> None:
    case = received(received_on)
    assert acknowledgement_due(case, RULES.deadlines) == ack_due
    assert next_deadline(case, RULES.deadlines) == Deadline(ack_due, DeadlineKind.ACKNOWLEDGEMENT)


@pytest.mark.parametrize(
    ("received_on", "acknowledged_at", "feedback_on"),
    [
        # no acknowledgement sent: three months from day 7
        (date(2026, 1, 24), None, date(2026, 4, 30)),
        (date(2027, 11, 23), None, date(2028, 2, 29)),
        (date(2026, 11, 23), None, date(2027, 2, 28)),
        # acknowledged in time: three months from the acknowledgement
        (date(2026, 1, 29), "2026-01-31 10:00", date(2026, 4, 30)),
        (date(2027, 11, 28), "2027-11-30 09:00", date(2028, 2, 29)),
        (date(2028, 11, 28), "2028-11-30 09:00", date(2029, 2, 28)),
        # late acknowledgement: the period still runs from day 7
        (date(2026, 1, 1), "2026-01-20 09:00", date(2026, 4, 8)),
        # 23:30 in Stockholm is still the same day, though it is 22:30 UTC
        (date(2026, 5, 1), "2026-05-04 23:30", date(2026, 8, 4)),
    ],
)
def test_feedback_is_due_three_months_after_acknowledgement_or_day_seven(
    received_on: date, acknowledged_at: str | None, feedback_on: date
) -> None:
    case = received(received_on)
    if acknowledged_at is not None:
        case = run(case, [Acknowledge("case-1", "ana", "ack")], stockholm(acknowledged_at))
    assert feedback_due(case, RULES.deadlines) == feedback_on


def test_feedback_given_ends_the_feedback_deadline() -> None:
    case = received(date(2026, 1, 5))
    case = run(
        case,
        [Acknowledge("case-1", "ana", "ack"), GiveFeedback("case-1", "ana", "fb")],
        stockholm("2026-01-06 10:00"),
    )
    assert feedback_due(case, RULES.deadlines) is None
    # an open case keeps a deadline: the inactivity reminder
    assert next_deadline(case, RULES.deadlines) == Deadline(
        date(2026, 1, 20), DeadlineKind.INACTIVITY
    )


def test_inactivity_counts_from_the_last_activity_of_staff_or_reporter() -> None:
    case = received(date(2026, 6, 1))
    assert inactivity_due(case, RULES.deadlines) == date(2026, 6, 15)
    case = run(case, [Acknowledge("case-1", "ana", "ack")], stockholm("2026-06-03 08:00"))
    assert inactivity_due(case, RULES.deadlines) == date(2026, 6, 17)
