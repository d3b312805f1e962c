"""The legal deadlines a reporter is told about (EU 2019/1937 art. 9).

.. note:: the workflow engine (caseflow.domain.policies.deadlines) owns the
   full rules; this module states the two dates the reporter sees.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

ACKNOWLEDGE_DAYS = 7
FEEDBACK_MONTHS = 3


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def acknowledge_by(received_on: date) -> date:
    return received_on + timedelta(days=ACKNOWLEDGE_DAYS)


def feedback_by(received_on: date, acknowledged_on: date | None) -> date:
    """Three months from the acknowledgement, or from day 7 if none was sent."""
    start = acknowledged_on or acknowledge_by(received_on)
    return add_months(start, FEEDBACK_MONTHS)
