"""Legal calendar arithmetic in Swedish local time.

Deadlines in the Whistleblower Act are counted in calendar days and months and
fall at the end of a local day in Europe/Stockholm, whatever the season: a
deadline on 29 March is missed at 00:00 on 30 March local time, which is 23:00
UTC in winter and 22:00 UTC in summer.
"""

from __future__ import annotations

import calendar as _gregorian
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from caseflow.domain.errors import NaiveTimestamp

#: The zone every deadline is counted in (Swedish law, Swedish desks).
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def require_aware(moment: datetime, what: str = "now") -> datetime:
    """Return ``moment`` unchanged, or refuse it when it carries no time zone."""
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise NaiveTimestamp(what)
    return moment


def local_date(moment: datetime) -> date:
    """The calendar day in Stockholm on which ``moment`` falls."""
    return require_aware(moment, "timestamp").astimezone(STOCKHOLM).date()


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in Stockholm: a deadline on ``day`` is missed from here."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=STOCKHOLM)


def is_past(day: date, now: datetime) -> bool:
    """Whether a deadline falling on ``day`` has been missed at ``now``."""
    return require_aware(now) >= end_of_day(day)


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's end: 31 January + 1 month is 28 or 29 February."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = _gregorian.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """Calendar years; 29 February lands on 28 February in a common year."""
    return add_months(day, 12 * years)
