"""The counts an operator's monitor reads (``/metrics``): whole days only.

A count that moves when a report arrives, scraped every few seconds, would
record the minute of each submission in the monitor's database: exactly the
trace the server never writes itself. So every count here covers reports
received before today: report counts change once, at midnight; the case
counts (open, overdue) move with staff work and with the date, never with
a reporter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from caseflow.store.projections import case_index_table
from reporting.statistics import OPEN_STATES


@dataclass(frozen=True)
class OperationalCounts:
    """Counts as of the start of ``today`` (cases) or up to its eve (reports)."""

    #: Reports received on every day before today (a counter: it only grows).
    reports_before_today: int
    #: Reports received yesterday: the last whole day.
    reports_last_day: int
    #: Cases received before today that are in an open state.
    open_cases: int
    #: Open cases whose next deadline is before today.
    overdue_cases: int


def operational_counts(engine: sa.Engine, today: date) -> OperationalCounts:
    """Read the counts from the case index (kept with the log, rebuilt from it)."""
    t = case_index_table
    yesterday = today - timedelta(days=1)
    # Received before today: a report sent today must not move the count the
    # minute it arrives.
    is_open = sa.and_(t.c.status.in_(OPEN_STATES), t.c.received_on < today)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(
                sa.func.count().filter(t.c.received_on < today),
                sa.func.count().filter(t.c.received_on == yesterday),
                sa.func.count().filter(is_open),
                sa.func.count().filter(is_open, t.c.next_deadline_on < today),
            )
        ).one()
    return OperationalCounts(*(int(v) for v in row))
