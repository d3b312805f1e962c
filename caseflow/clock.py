"""The one place the service reads the clock, in Swedish local time.

Reporter-side events are stamped with the date only: a minute-precise time
can identify who was at their desk (DESIGN.md §4).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(STOCKHOLM)


def reporter_day(now: datetime) -> date:
    """The local calendar day: the only precision a reporter event gets."""
    return now.astimezone(STOCKHOLM).date()
