"""Operator lines that a request caused, held and written once a day.

Whoever collects the server's stderr (journald, a container runtime) stamps
every line with the time it arrived, to the microsecond. A line written while
a request is being answered — "database unavailable: answered 503", "unhandled
KeyError in reporter.report", "rate-limit store unavailable" — would carry the
time at which a reporter pressed "Send", which is exactly the trace that the
rest of Visselpipa keeps finer than the day nowhere.

So request-time code never logs. It *notes* what happened here: one count per
distinct line (the line names only a dependency, an exception's type or an
endpoint, never request data). A timer thread of each process writes the
counts of the day just ended shortly after 00:00 UTC, one line each, such as
``2026-12-02: database unavailable (OperationalError): answered 503 — 4 times``;
the process writes what it holds when it exits, too. The times at which these
lines arrive are set by the clock and by the server's own life, never by a
request.

What the operator loses is the moment: to learn at once that a dependency is
down, watch ``/healthz`` (it answers 503 while the database does not) and the
host's disk and Redis like any other service; docs/operations.md says so.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

LOGGER = "visselpipa"


class HeldLog:
    """Counts of operator lines, written per day at fixed times."""

    def __init__(self, logger: str = LOGGER) -> None:
        self._logger = logging.getLogger(logger)
        self._lock = threading.Lock()
        self._counts: dict[date, Counter[tuple[int, str]]] = {}
        self._timer: threading.Timer | None = None

    def note(self, level: int, line: str) -> None:
        """Count ``line`` for today; nothing is written now."""
        today = datetime.now(UTC).date()
        with self._lock:
            self._counts.setdefault(today, Counter())[(level, line)] += 1
            if self._timer is None:
                self._schedule()

    def held(self) -> dict[str, int]:
        """What is held, line by line, summed over the days (for tests)."""
        with self._lock:
            total: Counter[str] = Counter()
            for counts in self._counts.values():
                for (_, line), count in counts.items():
                    total[line] += count
            return dict(total)

    def flush(self, before: date | None = None) -> None:
        """Write the counts of every day before ``before`` (all days when None)."""
        with self._lock:
            days = sorted(d for d in self._counts if before is None or d < before)
            taken = [(day, self._counts.pop(day)) for day in days]
        for day, counts in taken:
            for (level, line), count in sorted(counts.items(), key=lambda i: i[0][1]):
                times = "once" if count == 1 else f"{count} times"
                self._logger.log(level, "%s: %s — %s", day.isoformat(), line, times)

    def _schedule(self) -> None:
        # Under the lock. Shortly after the next midnight UTC: the day is over.
        now = datetime.now(UTC)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        delay = (midnight - now).total_seconds() + 5
        timer = threading.Timer(delay, self._on_timer)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _on_timer(self) -> None:
        self.flush(before=datetime.now(UTC).date())
        with self._lock:
            self._timer = None
            if self._counts:
                self._schedule()

    def _forget_timer(self) -> None:
        # A forked child (a gunicorn worker) has no timer thread, whatever the
        # parent had, and must not write what the parent holds as well.
        self._lock = threading.Lock()
        self._counts = {}
        self._timer = None


#: The process's held log: request-time code calls ``note``.
held = HeldLog()
atexit.register(held.flush)
os.register_at_fork(after_in_child=held._forget_timer)


def note_error(line: str) -> None:
    held.note(logging.ERROR, line)


def note_warning(line: str) -> None:
    held.note(logging.WARNING, line)
