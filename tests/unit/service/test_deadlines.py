"""The dates a reporter is promised (EU 2019/1937 art. 9)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseflow.service.deadlines import acknowledge_by, add_months, feedback_by


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 15), 3, date(2027, 3, 15)),
        (date(2027, 8, 31), 3, date(2027, 11, 30)),
    ],
)
def test_calendar_months_clamp_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_feedback_runs_from_acknowledgement_or_from_day_seven():
    received = date(2026, 11, 24)
    assert acknowledge_by(received) == date(2026, 12, 1)
    assert feedback_by(received, None) == date(2027, 3, 1)
    assert feedback_by(received, date(2026, 11, 26)) == date(2027, 2, 26)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_feedback_is_never_before_acknowledgement_and_within_three_months(received):
    ack = acknowledge_by(received)
    fb = feedback_by(received, None)
    assert ack < fb
    assert 89 <= (fb - ack).days <= 92
