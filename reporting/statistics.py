"""Statistics for oversight, the desks and the annual report: counts, never content.

Every figure comes from the read models (``case_index``) and the plaintext
metadata of events (``ReportReceived``, ``CaseAcknowledged``,
``FeedbackGiven``, ``RecommendationIssued``/``Implemented``,
``CaseEscalated``). Nothing is decrypted and no grant is read, so a case
crypto-shredded at the end of its retention keeps counting: its index row
(category, desk, days) and its events' metadata outlive its key.

**The small-cell rule.** A count of 1 to 4 can point at a person (three
bribery reports from one small agency in March). Anything that can leave
the building — the public report, the CSV export — shows such a count as
``<5``; 0 stays 0, because "nothing" identifies nobody. A share or median
computed over 1 to 4 cases is withheld as well, since it would give the
count away (1 of 3 is 33 %). The internal oversight pages show exact counts:
they are behind sign-in for the roles that supervise the desks, and a
supervisor must be able to act on a single late case.

.. warning::
   Suppressing single cells does not stop subtraction: a row total shown
   exactly, with one suppressed cell, gives that cell away, and so do two
   month ranges that overlap. The exported form suppresses totals by the
   same rule, but it does not apply complementary suppression, across its
   rows or across ranges. Only the published reports (:mod:`reporting.reports`,
   ``visselpipa report``) are protected against differencing
   (:mod:`reporting.suppression`): they are the form meant to leave the building.
"""

from __future__ import annotations

import csv
import io
import json
import statistics as _stats
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from caseflow.domain.dates import STOCKHOLM, add_days, add_months
from caseflow.domain.rules import Rules
from caseflow.domain.transitions import OPEN_STATUSES
from caseflow.domain.vocabulary import EscalationLevel, Outcome
from caseflow.store import events_table
from caseflow.store.projections import agency_flags_table, case_index_table
from caseflow.store.records import grants_table

#: Counts below this (and above 0) are shown as "<5" outside the building.
SMALL_CELL = 5
SUPPRESSED = "<5"
#: What a withheld share or median reads as in the exported form.
WITHHELD = "–"
#: The longest month range one request may ask for (ten years of months).
MAX_MONTHS = 120

#: Open states in the order a case passes through them.
OPEN_STATES = (
    "received",
    "acknowledged",
    "assessed",
    "investigating",
    "deliberating",
    "reopened",
)
assert {s.value for s in OPEN_STATUSES} == set(OPEN_STATES)
REJECTED = "rejected"
OUTCOMES = (*(o.value for o in Outcome), REJECTED)
ESCALATION_LEVELS = tuple(level.value for level in EscalationLevel)
RECOMMENDATION_STATES = ("implemented", "overdue", "open")


def suppress(count: int) -> str:
    """A count as it may leave the building: ``0``, ``<5`` for 1–4, else the number."""
    if count < 0:
        raise ValueError("a count is never negative")
    if 0 < count < SMALL_CELL:
        return SUPPRESSED
    return str(count)


def month_start(day: date) -> date:
    return day.replace(day=1)


def months_between(first: date, last: date) -> tuple[date, ...]:
    """The first days of every month from ``first``'s to ``last``'s, inclusive."""
    months: list[date] = []
    current = month_start(first)
    while current <= last:
        months.append(current)
        current = add_months(current, 1)
    return tuple(months)


def month_label(month: date) -> str:
    return month.strftime("%Y-%m")


@dataclass(frozen=True)
class Breakdown:
    """Counts by (row, column), with rows and columns in display order."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    counts: Mapping[tuple[str, str], int]

    def count(self, row: str, column: str) -> int:
        return self.counts.get((row, column), 0)

    def row_total(self, row: str) -> int:
        return sum(self.count(row, c) for c in self.columns)

    def column_total(self, column: str) -> int:
        return sum(self.count(r, column) for r in self.rows)

    @property
    def total(self) -> int:
        return sum(self.row_total(r) for r in self.rows)


@dataclass(frozen=True)
class Tally:
    """Counts by one key, in display order."""

    keys: tuple[str, ...]
    counts: Mapping[str, int]

    def count(self, key: str) -> int:
        return self.counts.get(key, 0)

    @property
    def total(self) -> int:
        return sum(self.count(k) for k in self.keys)

    def items(self) -> list[tuple[str, int]]:
        return [(k, self.count(k)) for k in self.keys]


@dataclass(frozen=True)
class Timeliness:
    """How quickly a legal deadline was met, over the cases it applies to.

    ``measured`` counts the cases whose step was taken or whose deadline has
    passed without it; cases still inside their deadline are not yet judged.
    ``days`` are the days from receipt to the step, for the cases that took it.
    """

    measured: int
    within: int
    days: tuple[int, ...] = ()

    @property
    def share(self) -> float | None:
        """The share met within the deadline (0–1), None when nothing is measured."""
        return self.within / self.measured if self.measured else None

    @property
    def median_days(self) -> float | None:
        return float(_stats.median(self.days)) if self.days else None

    def public_share(self) -> str:
        """The share in percent for the exported form; withheld over fewer than 5 cases."""
        share = self.share
        if share is None or self.measured < SMALL_CELL:
            return WITHHELD
        return f"{round(share * 100)} %"

    def public_median(self) -> str:
        median = self.median_days
        if median is None or len(self.days) < SMALL_CELL:
            return WITHHELD
        return f"{median:g}"


@dataclass(frozen=True)
class Figures:
    """Everything the statistics page and the export show for one month range."""

    first_month: date
    last_month: date
    today: date
    months: tuple[str, ...]  # "YYYY-MM", the rows of the monthly breakdowns
    received_by_category: Breakdown  # rows: months "YYYY-MM"
    received_by_desk: Breakdown  # rows: months "YYYY-MM"
    acknowledgement: Timeliness
    feedback: Timeliness
    open_cases: Breakdown  # rows: desks, columns: open states (today)
    overdue_cases: Breakdown  # rows: desks, columns: open states (today)
    outcomes: Tally  # cases closed in the range
    recommendations: Tally  # issued in the range: implemented / overdue / open
    escalations: Tally  # escalation steps taken in the range, by level


def _local_day(text: str) -> date:
    """The Stockholm day of an ISO timestamp from event metadata."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        # Staff times are stored aware; a naive one is read as local time
        # rather than refused, so one odd row cannot break the page.
        return moment.date()
    return moment.astimezone(STOCKHOLM).date()


def _ordered(preferred: Sequence[str], found: Iterable[str]) -> tuple[str, ...]:
    """``preferred`` first, then anything else found (sorted), without repeats."""
    extra = sorted(set(found) - set(preferred))
    return (*preferred, *extra)


class Statistics:
    """Computes :class:`Figures` from the projections and event metadata."""

    def __init__(
        self,
        engine: sa.Engine,
        rules: Rules,
        categories: Sequence[str] = (),
        desks: Sequence[str] = (),
    ) -> None:
        """``categories`` and ``desks`` give the display order (config order);
        ids found in the data but not listed come after them."""
        self.engine = engine
        self.rules = rules
        self.categories = tuple(categories) or tuple(rules.routing.categories)
        self.desks = tuple(desks) or tuple(sorted(rules.routing.desks))

    def figures(self, first_month: date, last_month: date, today: date) -> Figures:
        """The figures for the months from ``first_month`` to ``last_month`` (inclusive).

        Monthly counts, timeliness, outcomes, recommendations and escalations
        cover the range; open and overdue cases are as of ``today``.
        """
        first = month_start(first_month)
        last = month_start(last_month)
        if last < first:
            raise ValueError("the last month is before the first")
        months = months_between(first, last)
        if len(months) > MAX_MONTHS:
            raise ValueError(f"at most {MAX_MONTHS} months at once")
        start, end = first, add_months(last, 1) - timedelta(days=1)
        with self.engine.connect() as conn:
            received = self._received(conn, start, end)
            firsts = self._first_steps(conn, start, end)
            snapshot = self._open_cases(conn, today)
            outcomes = self._outcomes(conn, start, end)
            recommendations = self._recommendations(conn, start, end, today)
            escalations = self._escalations(conn, start, end)
        labels = tuple(month_label(m) for m in months)
        by_category: Counter[tuple[str, str]] = Counter()
        by_desk: Counter[tuple[str, str]] = Counter()
        for _case_id, category, desk, received_on in received:
            by_category[(month_label(received_on), category)] += 1
            by_desk[(month_label(received_on), desk)] += 1
        open_counts, overdue_counts = snapshot
        return Figures(
            first_month=first,
            last_month=last,
            today=today,
            months=labels,
            received_by_category=Breakdown(
                labels, _ordered(self.categories, (c for _, c in by_category)), by_category
            ),
            received_by_desk=Breakdown(
                labels, _ordered(self.desks, (d for _, d in by_desk)), by_desk
            ),
            acknowledgement=self._acknowledgement(received, firsts, today),
            feedback=self._feedback(received, firsts, today),
            open_cases=Breakdown(
                _ordered(self.desks, (d for d, _ in open_counts)), OPEN_STATES, open_counts
            ),
            overdue_cases=Breakdown(
                _ordered(self.desks, (d for d, _ in open_counts)), OPEN_STATES, overdue_counts
            ),
            outcomes=Tally(_ordered(OUTCOMES, outcomes), outcomes),
            recommendations=Tally(RECOMMENDATION_STATES, recommendations),
            escalations=Tally(_ordered(ESCALATION_LEVELS, escalations), escalations),
        )

    # -- reading -------------------------------------------------------------------

    @staticmethod
    def _received(conn: sa.Connection, start: date, end: date) -> list[tuple[str, str, str, date]]:
        t = case_index_table
        rows = conn.execute(
            sa.select(t.c.case_id, t.c.category, t.c.desk, t.c.received_on).where(
                t.c.received_on >= start, t.c.received_on <= end
            )
        )
        return [(r.case_id, r.category, r.desk, r.received_on) for r in rows]

    @staticmethod
    def _first_steps(conn: sa.Connection, start: date, end: date) -> dict[tuple[str, str], date]:
        """The day of the first acknowledgement and first feedback of each case
        received in the range: ``(case_id, type) -> day``."""
        e, t = events_table, case_index_table
        stamp = {"CaseAcknowledged": "acknowledged_at", "FeedbackGiven": "given_at"}
        rows = conn.execute(
            sa.select(e.c.stream_id, e.c.type, e.c.meta)
            .join(t, t.c.case_id == e.c.stream_id)
            .where(
                e.c.type.in_(list(stamp)),
                t.c.received_on >= start,
                t.c.received_on <= end,
            )
            .order_by(e.c.seq)
        )
        firsts: dict[tuple[str, str], date] = {}
        for stream_id, type_name, meta in rows:
            firsts.setdefault((stream_id, type_name), _local_day(_meta(meta)[stamp[type_name]]))
        return firsts

    def _acknowledgement(
        self,
        received: Sequence[tuple[str, str, str, date]],
        firsts: Mapping[tuple[str, str], date],
        today: date,
    ) -> Timeliness:
        measured = within = 0
        days: list[int] = []
        for case_id, _category, _desk, received_on in received:
            due = add_days(received_on, self.rules.deadlines.acknowledge_within_days)
            acknowledged = _by(firsts.get((case_id, "CaseAcknowledged")), today)
            if acknowledged is not None:
                measured += 1
                within += acknowledged <= due
                days.append((acknowledged - received_on).days)
            elif today > due:
                measured += 1
        return Timeliness(measured, within, tuple(days))

    def _feedback(
        self,
        received: Sequence[tuple[str, str, str, date]],
        firsts: Mapping[tuple[str, str], date],
        today: date,
    ) -> Timeliness:
        """Feedback within 3 months of the acknowledgement, or of day 7 when
        that came first (art. 9.1.f; as :func:`feedback_due` counts it).

        Extensions are not counted as meeting the deadline: the figure is the
        share that met the legal period itself.
        """
        rules = self.rules.deadlines
        closed = self._closed_on([case_id for case_id, *_ in received])
        measured = within = 0
        days: list[int] = []
        for case_id, _category, _desk, received_on in received:
            anchor = add_days(received_on, rules.acknowledge_within_days)
            acknowledged = _by(firsts.get((case_id, "CaseAcknowledged")), today)
            if acknowledged is not None:
                anchor = min(anchor, acknowledged)
            due = add_months(anchor, rules.feedback_within_months)
            given = _by(firsts.get((case_id, "FeedbackGiven")), today)
            if given is not None:
                measured += 1
                within += given <= due
                days.append((given - received_on).days)
            elif today > due:
                closed_on = _by(closed.get(case_id), today)
                # A case closed (rejected, concluded) before its feedback fell
                # due no longer owes it: the deadline policy drops it too.
                if closed_on is None or closed_on > due:
                    measured += 1
        return Timeliness(measured, within, tuple(days))

    def _closed_on(self, case_ids: Sequence[str]) -> dict[str, date]:
        t = case_index_table
        found: dict[str, date] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(case_ids), 500):
                part = case_ids[start : start + 500]
                rows = conn.execute(
                    sa.select(t.c.case_id, t.c.closed_on).where(
                        t.c.case_id.in_(part), t.c.closed_on.is_not(None)
                    )
                )
                found.update({r.case_id: r.closed_on for r in rows})
        return found

    @staticmethod
    def _open_cases(
        conn: sa.Connection, today: date
    ) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
        t = case_index_table
        overdue = sa.case((t.c.next_deadline_on < today, 1), else_=0)
        rows = conn.execute(
            sa.select(t.c.desk, t.c.status, sa.func.count(), sa.func.sum(overdue))
            .where(t.c.status.in_(OPEN_STATES))
            .group_by(t.c.desk, t.c.status)
        )
        opened: Counter[tuple[str, str]] = Counter()
        late: Counter[tuple[str, str]] = Counter()
        for desk, status, count, overdue_count in rows:
            opened[(desk, status)] = int(count)
            if overdue_count:
                late[(desk, status)] = int(overdue_count)
        return opened, late

    @staticmethod
    def _outcomes(conn: sa.Connection, start: date, end: date) -> Counter[str]:
        t = case_index_table
        rows = conn.execute(
            sa.select(t.c.outcome, sa.func.count())
            .where(t.c.closed_on >= start, t.c.closed_on <= end)
            .group_by(t.c.outcome)
        )
        # A rejected case (inadmissible at assessment) is closed without an
        # outcome; shredding keeps both the day and the outcome.
        return Counter({(outcome or REJECTED): int(count) for outcome, count in rows})

    @staticmethod
    def _recommendations(conn: sa.Connection, start: date, end: date, today: date) -> Counter[str]:
        e = events_table
        rows = conn.execute(
            sa.select(e.c.stream_id, e.c.type, e.c.meta)
            .where(e.c.type.in_(["RecommendationIssued", "RecommendationImplemented"]))
            .order_by(e.c.seq)
        )
        issued: dict[tuple[str, str], date] = {}
        implemented: set[tuple[str, str]] = set()
        for stream_id, type_name, raw in rows:
            meta = _meta(raw)
            key = (stream_id, str(meta["recommendation_id"]))
            if type_name == "RecommendationIssued":
                if start <= _local_day(meta["issued_at"]) <= end:
                    issued[key] = date.fromisoformat(meta["due_on"])
            elif date.fromisoformat(meta["implemented_on"]) <= today:
                implemented.add(key)
        counts: Counter[str] = Counter()
        for key, due_on in issued.items():
            if key in implemented:
                counts["implemented"] += 1
            elif due_on < today:
                counts["overdue"] += 1
            else:
                counts["open"] += 1
        return counts

    def period_counts(self, start: date, end: date) -> PeriodCounts:
        """The :class:`PeriodCounts` for the days ``start`` to ``end`` inclusive."""
        if end < start:
            raise ValueError("the last day is before the first")
        t, e = case_index_table, events_table
        in_range = (t.c.received_on >= start, t.c.received_on <= end)
        with self.engine.connect() as conn:
            received: Counter[tuple[str, str]] = Counter()
            for category, desk, count in conn.execute(
                sa.select(t.c.category, t.c.desk, sa.func.count())
                .where(*in_range)
                .group_by(t.c.category, t.c.desk)
            ):
                received[(category, desk)] = int(count)
            stepped: dict[str, int] = {}
            for type_name, count in conn.execute(
                sa.select(e.c.type, sa.func.count(sa.distinct(e.c.stream_id)))
                .join(t, t.c.case_id == e.c.stream_id)
                .where(e.c.type.in_(["CaseAcknowledged", "CaseAssessed"]), *in_range)
                .group_by(e.c.type)
            ):
                stepped[type_name] = int(count)
            # Open on the last day: received by then and not closed by then.
            # A reopened case counts from its latest closure (the index keeps one).
            open_at_end: Counter[str] = Counter()
            for desk, count in conn.execute(
                sa.select(t.c.desk, sa.func.count())
                .where(
                    t.c.received_on <= end,
                    sa.or_(t.c.closed_on.is_(None), t.c.closed_on > end),
                )
                .group_by(t.c.desk)
            ):
                open_at_end[desk] = int(count)
            referred: set[str] = set()
            for stream_id, raw in conn.execute(
                sa.select(e.c.stream_id, e.c.meta).where(e.c.type == "ReferredToAuthority")
            ):
                if start <= _local_day(_meta(raw)["referred_at"]) <= end:
                    referred.add(stream_id)
        return PeriodCounts(
            received=received,
            acknowledged=int(stepped.get("CaseAcknowledged", 0)),
            assessed=int(stepped.get("CaseAssessed", 0)),
            open_at_end=open_at_end,
            referred=len(referred),
        )

    @staticmethod
    def _escalations(conn: sa.Connection, start: date, end: date) -> Counter[str]:
        e = events_table
        rows = conn.execute(sa.select(e.c.meta).where(e.c.type == "CaseEscalated"))
        counts: Counter[str] = Counter()
        for (raw,) in rows:
            meta = _meta(raw)
            if start <= _local_day(meta["escalated_at"]) <= end:
                counts[str(meta["level"])] += 1
        return counts


@dataclass(frozen=True)
class PeriodCounts:
    """Counts for one period of days that the monthly :class:`Figures` do not hold.

    Used by the published reports (:mod:`reporting.reports`):
    ``received`` by (category, desk) so both breakdowns and the links between
    them are known; how many of the cases received were acknowledged and
    assessed (at any time up to now); the open cases by desk on the period's
    last day, from the received and closed days (not today's status, so a
    report of a past quarter does not move); and the cases referred to an
    external authority during the period.
    """

    received: Mapping[tuple[str, str], int]
    acknowledged: int
    assessed: int
    open_at_end: Mapping[str, int]
    referred: int


def _by(day: date | None, today: date) -> date | None:
    """``day`` if it is not after ``today``, else None.

    Figures are judged as of ``today``: a step taken later did not happen yet
    then, so a report of a past quarter gives the same figures whenever it is
    made (the oversight page's ``today`` is the real day, and nothing is later).
    """
    return day if day is not None and day <= today else None


def _meta(raw: str | Mapping[str, Any]) -> dict[str, Any]:
    return dict(raw) if isinstance(raw, Mapping) else dict(json.loads(raw))


# -- the exported form ---------------------------------------------------------------


def export_rows(figures: Figures) -> list[tuple[str, str, str, str]]:
    """Every figure as ``(section, row, column, value)``, with the small-cell rule applied.

    Counts of 1–4 read ``<5``, and shares and medians over fewer than 5
    cases are withheld. Per cell only: see the module's warning; the figures
    for the supervising authority are the annual supervisor report.
    """
    rows: list[tuple[str, str, str, str]] = []

    def breakdown(section: str, table: Breakdown) -> None:
        for row in table.rows:
            for column in table.columns:
                rows.append((section, row, column, suppress(table.count(row, column))))
            rows.append((section, row, "total", suppress(table.row_total(row))))
        rows.append((section, "total", "total", suppress(table.total)))

    def tally(section: str, table: Tally) -> None:
        for key, count in table.items():
            rows.append((section, key, "", suppress(count)))
        rows.append((section, "total", "", suppress(table.total)))

    breakdown("received_by_category", figures.received_by_category)
    breakdown("received_by_desk", figures.received_by_desk)
    for name, timeliness in (
        ("acknowledgement", figures.acknowledgement),
        ("feedback", figures.feedback),
    ):
        rows.append((name, "cases", "", suppress(timeliness.measured)))
        rows.append((name, "within_deadline", "", suppress(timeliness.within)))
        rows.append((name, "share_within_deadline", "", timeliness.public_share()))
        rows.append((name, "median_days", "", timeliness.public_median()))
    breakdown("open_cases", figures.open_cases)
    breakdown("overdue_cases", figures.overdue_cases)
    tally("outcomes", figures.outcomes)
    tally("recommendations", figures.recommendations)
    tally("escalations", figures.escalations)
    return rows


def export_csv(figures: Figures) -> str:
    """:func:`export_rows` as CSV, with a header naming the range and the rule."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "row", "column", "value"])
    writer.writerow(
        [
            "range",
            month_label(figures.first_month),
            month_label(figures.last_month),
            f"counts of 1-{SMALL_CELL - 1} shown as {SUPPRESSED}",
        ]
    )
    writer.writerows(export_rows(figures))
    return out.getvalue()


# -- the oversight overview ----------------------------------------------------------


@dataclass(frozen=True)
class LateCase:
    """A case on the oversight page: its reference, desk and deadline, nothing else."""

    case_id: str
    desk: str
    status: str
    deadline_kind: str
    due_on: date
    days_overdue: int
    escalation_level: str | None = None


@dataclass(frozen=True)
class AgencyFlag:
    agency: str
    cases: int
    window_from: date
    window_to: date
    notify: tuple[str, ...]


@dataclass(frozen=True)
class Overview:
    """What oversight watches, as of ``today``: every row is routing metadata."""

    today: date
    escalated: tuple[LateCase, ...]  # the page asked for
    overdue: tuple[LateCase, ...]  # the page asked for
    overdue_total: int
    flags: tuple[AgencyFlag, ...]
    open_cases: Breakdown
    overdue_cases: Breakdown
    escalated_total: int = 0
    escalated_page: int = 1
    overdue_page: int = 1
    page_size: int = 50


#: Rows per page of the escalated and of the overdue list (the counts stay complete).
OVERSIGHT_PAGE_SIZE = 50


def overview(
    engine: sa.Engine,
    rules: Rules,
    today: date,
    desks: Sequence[str] = (),
    escalated_page: int = 1,
    overdue_page: int = 1,
    page_size: int = OVERSIGHT_PAGE_SIZE,
) -> Overview:
    """Escalated and overdue cases, a page of each, systemic flags and counts per desk and state.

    The escalated list holds the open cases whose current deadline climbed
    the ladder, highest level first, then by next deadline; each row has
    the step reached and the deadline missed (from the ``CaseEscalated``
    metadata, read for the rows of the page only). The overdue list holds
    every open case whose next deadline has passed, oldest first. A page
    past the end of a list gives its last page; the totals and the counts
    per desk and state are over every case, whatever the page.
    """
    t, e = case_index_table, events_table
    open_now = t.c.status.in_(OPEN_STATES)
    escalated_filter = (open_now, t.c.escalation_level.is_not(None))
    overdue_filter = (open_now, t.c.next_deadline_on < today)
    rank = sa.case(
        {level: n for n, level in enumerate(ESCALATION_LEVELS)},
        value=t.c.escalation_level,
        else_=-1,
    )
    with engine.connect() as conn:
        escalated_total = int(
            conn.execute(sa.select(sa.func.count()).where(*escalated_filter)).scalar_one()
        )
        escalated_page = _clamp(escalated_page, escalated_total, page_size)
        escalated_rows = conn.execute(
            sa.select(
                t.c.case_id,
                t.c.desk,
                t.c.status,
                t.c.escalation_level,
                t.c.next_deadline_on,
                t.c.next_deadline_kind,
            )
            .where(*escalated_filter)
            .order_by(rank.desc(), t.c.next_deadline_on, t.c.case_id)
            .limit(page_size)
            .offset((escalated_page - 1) * page_size)
        ).all()
        steps: dict[str, dict[str, Any]] = {}
        ids = [r.case_id for r in escalated_rows]
        if ids:
            rows = conn.execute(
                sa.select(e.c.stream_id, e.c.meta)
                .where(e.c.type == "CaseEscalated", e.c.stream_id.in_(ids))
                .order_by(e.c.seq)
            )
            for stream_id, raw in rows:
                meta = _meta(raw)
                steps.setdefault(stream_id, {})[str(meta["level"])] = meta
        overdue_total = int(
            conn.execute(sa.select(sa.func.count()).where(*overdue_filter)).scalar_one()
        )
        overdue_page = _clamp(overdue_page, overdue_total, page_size)
        overdue_rows = conn.execute(
            sa.select(
                t.c.case_id, t.c.desk, t.c.status, t.c.next_deadline_on, t.c.next_deadline_kind
            )
            .where(*overdue_filter)
            .order_by(t.c.next_deadline_on, t.c.case_id)
            .limit(page_size)
            .offset((overdue_page - 1) * page_size)
        ).all()
        f = agency_flags_table
        flags = tuple(
            AgencyFlag(
                r.agency,
                len(r.case_ids.split()),
                r.window_from,
                r.window_to,
                tuple(r.notify.split()),
            )
            for r in conn.execute(sa.select(f).order_by(f.c.seq.desc()))
        )
        opened, late = Statistics._open_cases(conn, today)
    escalated: list[LateCase] = []
    for row in escalated_rows:
        # The newest step at the level the projection reports for this case;
        # without one (not expected), the case's next deadline stands in.
        step = steps.get(row.case_id, {}).get(row.escalation_level)
        if step is not None:
            kind, due_on = str(step["deadline"]), date.fromisoformat(step["due_on"])
        else:
            kind, due_on = row.next_deadline_kind or "", row.next_deadline_on or today
        escalated.append(
            LateCase(
                row.case_id,
                row.desk,
                row.status,
                kind,
                due_on,
                (today - due_on).days,
                row.escalation_level,
            )
        )
    overdue = tuple(
        LateCase(
            r.case_id,
            r.desk,
            r.status,
            r.next_deadline_kind or "",
            r.next_deadline_on,
            (today - r.next_deadline_on).days,
        )
        for r in overdue_rows
    )
    desk_order = _ordered(
        tuple(desks) or tuple(sorted(rules.routing.desks)), (d for d, _ in opened)
    )
    return Overview(
        today=today,
        escalated=tuple(escalated),
        overdue=overdue,
        overdue_total=overdue_total,
        flags=flags,
        open_cases=Breakdown(desk_order, OPEN_STATES, opened),
        overdue_cases=Breakdown(desk_order, OPEN_STATES, late),
        escalated_total=escalated_total,
        escalated_page=escalated_page,
        overdue_page=overdue_page,
        page_size=page_size,
    )


def _clamp(page: int, total: int, size: int) -> int:
    """``page`` within 1 .. the last page of ``total`` rows."""
    return min(max(1, page), max(1, -(-total // size)))


def cases_granted_to(engine: sa.Engine, desk_id: str, case_ids: Iterable[str]) -> set[str]:
    """Which of ``case_ids`` hold a grant for ``desk_id`` (a shredded case holds none).

    Oversight pages link to a case only when the oversight desk itself may
    open it; every other case is a reference and nothing more.
    """
    g = grants_table
    wanted = sorted(set(case_ids))
    found: set[str] = set()
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            found.update(
                conn.execute(
                    sa.select(g.c.case_id).where(
                        g.c.recipient == f"desk:{desk_id}",
                        g.c.case_id.in_(wanted[start : start + 500]),
                    )
                ).scalars()
            )
    return found
