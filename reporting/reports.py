"""Published reports: the quarterly transparency report and the annual supervisor report.

Everything here leaves the building, so every figure passes the disclosure
rule below before it is rendered. The figures come from
:class:`reporting.statistics.Statistics` (the case index and event
metadata: never content, never a grant), judged as of the last day of the
period, so a report of a past quarter gives the same figures whenever it is
made. Three renderers write the same :class:`PublishedReport`: HTML (a
self-contained page with inline CSS and SVG charts), PDF (fpdf2, core fonts)
and CSV (one row per figure).

**The disclosure rule** (docs/reports.md explains it for readers):

1. A count of 1 to 4 is published as ``<5``; 0 stays 0.
2. No small count may be narrowed by arithmetic over this report *and the
   other reports of the same year*: one suppression step
   (:mod:`reporting.suppression`) models the year's five reports as cells
   and the relations a reader knows between them, and hides further cells
   (``x``) until, for every ``<5``, each value from 1 to 4 stays possible.
   Figures published before are fixed inputs: kept in
   :mod:`caseflow.store.publications`, they are never changed, and making a
   report again prints the same figures.
3. A share is published only over 5 or more cases and when both its
   numerator and the rest are published (otherwise share × cases gives the
   hidden count); a median only over 5 or more cases. A withheld share or
   median reads ``–``.

.. warning::
   The protection holds against the reports of one calendar year, their
   relations, and a reader who knows how many cases were not yet judged.
   It does not cover the internal statistics export, nor side knowledge of
   individual cases (docs/reports.md, "Limits").
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import sqlalchemy as sa

from caseflow.clock import system_clock
from caseflow.domain.dates import STOCKHOLM, add_months
from caseflow.pdf import pdf_text
from caseflow.store.checkpoints import Checkpoint, newest_checkpoint
from caseflow.store.engine import read_only
from caseflow.store.publications import (
    Publications,
    PublishedFigure,
    hold_publication_lock,
    published_in_year,
    record_figures,
)
from config.settings import Settings
from reporting.statistics import (
    OUTCOMES,
    SMALL_CELL,
    WITHHELD,
    Figures,
    Statistics,
    Timeliness,
)
from reporting.suppression import COMPLEMENT, WITHHELD_COUNT, Problem, SuppressionError, protect

__all__ = [
    "COMPLEMENT",
    "WITHHELD_COUNT",
    "SuppressionError",
    "PublishedReport",
    "annual_supervisor_report",
    "parse_quarter",
    "quarterly_report",
    "render_csv",
    "render_html",
    "render_pdf",
]

Locale = Literal["sv", "en"]
_QUARTER = re.compile(r"(\d{4})Q([1-4])")
#: Years a report may cover: a typo such as 20226 is refused, not reported as empty.
FIRST_YEAR, LAST_YEAR = 2000, 2999


@dataclass(frozen=True)
class Text:
    """A text in Swedish and English."""

    sv: str
    en: str

    def get(self, locale: str) -> str:
        return self.en if locale == "en" else self.sv


@dataclass(frozen=True)
class Line:
    """One published figure: its key, label, period and value as published."""

    key: str
    label: Text
    period: str
    value: str
    #: True for the line that sums the others (drawn without a bar).
    total: bool = False


@dataclass(frozen=True)
class Section:
    key: str
    heading: Text
    lines: tuple[Line, ...]
    note: Text | None = None
    #: Draw the non-total lines as a bar chart.
    chart: bool = False


@dataclass(frozen=True)
class PublishedReport:
    """A report with the disclosure rule applied: nothing in it needs hiding any more."""

    kind: Literal["quarterly", "supervisor"]
    period: str  # "2026Q3" or "2026"
    first_day: date
    last_day: date
    title: Text
    sections: tuple[Section, ...]
    checkpoint: Checkpoint | None

    @property
    def file_stem(self) -> str:
        """``visselpipa-2026Q3`` or ``visselpipa-2026-supervisor``."""
        suffix = "-supervisor" if self.kind == "supervisor" else ""
        return f"visselpipa-{self.period}{suffix}"

    def value(self, section: str, key: str) -> str:
        """The published value of one figure (KeyError if there is none)."""
        for s in self.sections:
            if s.key == section:
                for line in s.lines:
                    if line.key == key:
                        return line.value
        raise KeyError((section, key))


# -- periods --------------------------------------------------------------------------


def parse_quarter(text: str) -> tuple[date, date]:
    """``"2026Q3"`` → (1 July 2026, 30 September 2026); ValueError otherwise."""
    match = _QUARTER.fullmatch(text.strip().upper())
    if match is None:
        raise ValueError(f"{text!r} is not a quarter such as 2026Q3 (Q1 to Q4)")
    year, quarter = int(match.group(1)), int(match.group(2))
    _check_year(year)
    first = date(year, 3 * quarter - 2, 1)
    return first, add_months(first, 3) - timedelta(days=1)


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"{year} is not a year from {FIRST_YEAR} to {LAST_YEAR}")


# -- the disclosure rule ----------------------------------------------------------------


@dataclass
class _Cells:
    """The counts of one report and the relations a reader knows between them."""

    values: dict[str, int] = field(default_factory=dict)
    totals: set[str] = field(default_factory=set)
    #: (terms, sense): sum(a * cell) == (or <=) what the counts make it.
    relations: list[tuple[dict[str, int], str]] = field(default_factory=list)

    def add(self, cell: str, value: int, total: bool = False) -> str:
        if cell in self.values and self.values[cell] != value:
            raise ValueError(f"cell {cell} given two values")  # one figure, one value
        self.values[cell] = value
        if total:
            self.totals.add(cell)
        return cell

    def sums(self, parts: Iterable[str], whole: str) -> None:
        """A reader knows that ``parts`` add up to ``whole``."""
        equation = {cell: 1 for cell in parts}
        equation[whole] = equation.get(whole, 0) - 1
        self.relations.append(({c: a for c, a in equation.items() if a}, "=="))

    def differ(self, terms: Mapping[str, int]) -> None:
        """A reader is assumed to know ``sum(a * cell)``, whatever the counts make it."""
        self.relations.append((dict(terms), "=="))

    def pending(self, terms: Mapping[str, int]) -> None:
        """``sum(a * cell)`` counts cases not judged yet (:meth:`Problem.pending`)."""
        self.relations.append((dict(terms), "pending"))

    def at_most(self, part: str, whole: str) -> None:
        """A reader knows that ``part`` counts some of the cases of ``whole``."""
        self.relations.append(({part: 1, whole: -1}, "<="))


# -- labels ---------------------------------------------------------------------------

_OUTCOME_LABELS = {
    "substantiated": Text("Befogad (missförhållande konstaterat)", "Substantiated"),
    "not_substantiated": Text("Inte befogad", "Not substantiated"),
    "referred": Text("Överlämnad till annan myndighet", "Referred to another authority"),
    "no_further_action": Text("Ingen vidare åtgärd", "No further action"),
    "rejected": Text("Avvisad vid bedömning", "Rejected at assessment"),
    "withdrawn": Text("Återkallad av rapportören", "Withdrawn by the reporter"),
}
_TOTAL = Text("Totalt", "Total")
_RECEIVED = Text("Mottagna rapporter", "Reports received")


def _label(names: Mapping[str, Text], key: str) -> Text:
    # An id no longer in the reference lists still gets a line, under its id.
    return names.get(key, Text(key, key))


def _names(settings: Settings) -> tuple[dict[str, Text], dict[str, Text]]:
    categories = {c.id: Text(c.sv, c.en) for c in settings.categories}
    desks = {d.id: Text(d.sv, d.en) for d in settings.desks}
    return categories, desks


def _ordered(preferred: Sequence[str], found: Iterable[str]) -> list[str]:
    return [*preferred, *sorted(set(found) - set(preferred))]


# -- building --------------------------------------------------------------------------


@dataclass
class _Builder:
    """Collects cells and the sections that show them, then applies the rule."""

    period: str
    cells: _Cells = field(default_factory=_Cells)
    #: (key, heading, [(line key, label, cell or fixed value, period, total)], note, chart)
    plans: list[tuple[str, Text, list[tuple[str, Text, str, str, bool]], Text | None, bool]] = (
        field(default_factory=list)
    )
    fixed: dict[str, str] = field(default_factory=dict)
    #: (share, within, late, measured): shares depend on what ends up hidden.
    shares: list[tuple[str, str, str, str]] = field(default_factory=list)

    def section(
        self,
        key: str,
        heading: Text,
        lines: list[tuple[str, Text, str, str, bool]],
        note: Text | None = None,
        chart: bool = False,
    ) -> None:
        self.plans.append((key, heading, lines, note, chart))

    def fixed_figures(self, shown: Mapping[str, str]) -> dict[str, str]:
        """Shares and medians, given how the counts are shown (rule 3)."""
        figures = dict(self.fixed)
        for share, within, late, measured in self.shares:
            cases = self.cells.values[measured]
            if cases < SMALL_CELL or not (shown[within].isdigit() and shown[late].isdigit()):
                figures[share] = WITHHELD  # share x cases would give a hidden count back
            else:
                figures[share] = f"{round(self.cells.values[within] / cases * 100)} %"
        return figures

    def finish(self, shown: Mapping[str, str]) -> tuple[Section, ...]:
        """The sections as published: every ref (count, share, median) as ``shown`` has it."""
        sections = []
        for key, heading, lines, note, chart in self.plans:
            published = tuple(
                Line(line_key, label, period, shown[ref], total)
                for line_key, label, ref, period, total in lines
            )
            sections.append(Section(key, heading, published, note, chart))
        return tuple(sections)

    def refs(self) -> list[str]:
        """Every figure the report prints, counts and others."""
        return sorted({ref for _k, _h, lines, _n, _c in self.plans for *_x, ref, _p, _t in lines})

    def breakdown(
        self,
        key: str,
        heading: Text,
        counts: Mapping[str, int],
        order: Sequence[str],
        names: Mapping[str, Text],
        total_cell: str,
        total_label: Text = _TOTAL,
        period: str | None = None,
    ) -> dict[str, str]:
        """A section of counts by key with its total; returns key → cell."""
        period = period or self.period
        ids = {k: self.cells.add(f"{key}/{k}", counts.get(k, 0)) for k in order}
        self.cells.add(total_cell, sum(counts.get(k, 0) for k in order), total=True)
        self.cells.sums(ids.values(), total_cell)
        lines = [(k, _label(names, k), ids[k], period, False) for k in order]
        lines.append(("total", total_label, total_cell, period, True))
        self.section(key, heading, lines, chart=True)
        return ids

    def timeliness(self, key: str, heading: Text, figure: Timeliness, note: Text) -> None:
        measured = self.cells.add(f"{key}/cases", figure.measured, total=True)
        within = self.cells.add(f"{key}/within", figure.within)
        late = self.cells.add(f"{key}/late", figure.measured - figure.within)
        self.cells.sums([within, late], measured)
        if "received/total" in self.cells.values:
            # The cases received less those judged are the ones still inside
            # the deadline: when there are none, a reader is taken to know.
            self.cells.pending({"received/total": 1, measured: -1})
        share, median = f"{key}/share", f"{key}/median"
        self.fixed[median] = figure.public_median()
        lines = [
            ("cases", Text("Ärenden som bedömts", "Cases judged"), measured, self.period, True),
            ("within", Text("Inom tidsfristen", "Within the deadline"), within, self.period, False),
            ("late", Text("Efter tidsfristen", "After the deadline"), late, self.period, False),
            ("share", Text("Andel inom tidsfristen", "Share within the deadline"), share,
             self.period, False),
            ("median_days", Text("Median, dagar", "Median, days"), median, self.period, False),
        ]  # fmt: skip
        self.section(key, heading, lines, note)
        self.shares.append((share, within, late, measured))


def _received(
    builder: _Builder, settings: Settings, received: Mapping[tuple[str, str], int], by_desk: bool
) -> None:
    categories, desks = _names(settings)
    by_category: dict[str, int] = {}
    by_desk_counts: dict[str, int] = {}
    for (category, desk), count in received.items():
        by_category[category] = by_category.get(category, 0) + count
        by_desk_counts[desk] = by_desk_counts.get(desk, 0) + count
    total = "received/total"
    category_cells = builder.breakdown(
        "received_by_category",
        Text("Mottagna rapporter per kategori", "Reports received by category"),
        by_category,
        _ordered([c.id for c in settings.categories], by_category),
        categories,
        total,
        _RECEIVED,
    )
    if not by_desk:
        return
    desk_cells = builder.breakdown(
        "received_by_desk",
        Text("Mottagna rapporter per mottagande funktion", "Reports received by desk"),
        by_desk_counts,
        _ordered([d.id for d in settings.desks], by_desk_counts),
        desks,
        total,
        _RECEIVED,
    )
    # The routing is public (config/rules/routing.toml), so a reader knows
    # which categories feed which desks: every connected group of categories
    # and desks adds up on both sides. Cases moved between desks join groups.
    edges = {(c, route.desk) for c, route in settings.rules.routing.categories.items()}
    edges |= {pair for pair, count in received.items() if count}
    for group_categories, group_desks in _groups(edges):
        parts = [category_cells[c] for c in group_categories if c in category_cells]
        wholes = [desk_cells[d] for d in group_desks if d in desk_cells]
        if parts and wholes:
            equation = {cell: 1 for cell in parts}
            equation.update({cell: -1 for cell in wholes})
            builder.cells.differ(equation)


def _groups(edges: set[tuple[str, str]]) -> list[tuple[set[str], set[str]]]:
    """The connected groups of a bipartite (category, desk) graph."""
    groups: list[tuple[set[str], set[str]]] = []
    for category, desk in sorted(edges):
        touching = [g for g in groups if category in g[0] or desk in g[1]]
        merged: tuple[set[str], set[str]] = ({category}, {desk})
        for g in touching:
            merged[0].update(g[0])
            merged[1].update(g[1])
            groups.remove(g)
        groups.append(merged)
    return groups


_ACK_NOTE = Text(
    "Bekräftelse ska lämnas inom 7 dagar (lag 2021:890; direktiv 2019/1937 art. 9.1 b). "
    "Ärenden vars frist inte löpt ut vid periodens slut bedöms inte ännu.",
    "Receipt must be acknowledged within 7 days (Act 2021:890; directive 2019/1937 art. 9.1.b). "
    "Cases whose deadline had not passed at the end of the period are not judged yet.",
)
_FEEDBACK_NOTE = Text(
    "Återkoppling ska lämnas inom 3 månader från bekräftelsen (art. 9.1 f). "
    "Förlängningar räknas inte som inom fristen.",
    "Feedback is due within 3 months of the acknowledgement (art. 9.1.f). "
    "Extensions do not count as within the deadline.",
)


def _statistics(engine: sa.Engine, settings: Settings) -> Statistics:
    return Statistics(
        engine,
        settings.rules,
        [c.id for c in settings.categories],
        [d.id for d in settings.desks],
    )


def _deadlines_kept(builder: _Builder, figures: Figures) -> None:
    """The two legal deadlines: acknowledged within 7 days, feedback within 3 months."""
    builder.timeliness(
        "acknowledgement",
        Text("Bekräftelse inom 7 dagar", "Acknowledged within 7 days"),
        figures.acknowledgement,
        _ACK_NOTE,
    )
    builder.timeliness(
        "feedback",
        Text("Återkoppling inom 3 månader", "Feedback within 3 months"),
        figures.feedback,
        _FEEDBACK_NOTE,
    )


def _period_over(last: date, today: date | None) -> None:
    """A report is made once its period is over: published figures never change."""
    today = today or system_clock().astimezone(STOCKHOLM).date()
    if today <= last:
        raise ValueError(
            f"the period ends on {last.isoformat()}: its report can be made from "
            f"{(last + timedelta(days=1)).isoformat()} (published figures are kept as they are)"
        )


def quarterly_report(
    engine: sa.Engine, settings: Settings, quarter: str = "2026Q3", today: date | None = None
) -> PublishedReport:
    """The quarterly transparency report for ``quarter`` (e.g. ``"2026Q3"``).

    Reports received by category and desk, acknowledgement within 7 days,
    feedback within 3 months (cases received in the quarter, judged on its
    last day), outcomes of cases concluded in the quarter, open cases on its
    last day by desk, recommendations issued in it, and the newest signed
    checkpoint of the log.

    Making the report publishes it: its figures are kept
    (:mod:`caseflow.store.publications`), making it again prints the same,
    and every later report of the year is protected against it. Raises
    ValueError for a malformed quarter or one not over by ``today``, and
    :class:`SuppressionError` when no suppression protects every small count.
    """
    first, last = parse_quarter(quarter)
    _period_over(last, today)
    return _publish(engine, settings, first.year, f"{first.year}Q{(first.month + 2) // 3}", today)


def annual_supervisor_report(
    engine: sa.Engine, settings: Settings, year: int = 2026, today: date | None = None
) -> PublishedReport:
    """The annual figures for the supervising authority (Act 2021:890, directive art. 27).

    Reports received, followed up (acknowledged, assessed), outcomes,
    referrals to external authorities, and the time figures, for the
    calendar ``year`` judged on 31 December. Published as
    :func:`quarterly_report` is, protected against the year's quarters.
    Raises ValueError for a year out of range or not over by ``today``.
    """
    _check_year(year)
    _period_over(date(year, 12, 31), today)
    return _publish(engine, settings, year, str(year), today)


def _quarter_builder(stats: Statistics, settings: Settings, period: str) -> _Builder:
    first, last = parse_quarter(period)
    figures = stats.figures(first, last, last)
    counts = stats.period_counts(first, last)
    builder = _Builder(period)
    _received(builder, settings, counts.received, by_desk=True)
    _deadlines_kept(builder, figures)
    outcomes = {k: figures.outcomes.count(k) for k in figures.outcomes.keys}
    builder.breakdown(
        "outcomes",
        Text("Utfall i ärenden avslutade under kvartalet", "Outcomes of cases concluded"),
        outcomes,
        _ordered(OUTCOMES, outcomes),
        _OUTCOME_LABELS,
        "outcomes/total",
        Text("Avslutade ärenden", "Cases concluded"),
    )
    _categories, desks = _names(settings)
    builder.breakdown(
        "open_at_end",
        Text("Öppna ärenden vid kvartalets slut", "Open cases at the end of the quarter"),
        counts.open_at_end,
        _ordered([d.id for d in settings.desks], counts.open_at_end),
        desks,
        "open_at_end/total",
        Text("Öppna ärenden", "Open cases"),
        period=last.isoformat(),
    )
    recommendations = figures.recommendations
    builder.breakdown(
        "recommendations",
        Text("Rekommendationer utfärdade under kvartalet", "Recommendations issued"),
        {k: recommendations.count(k) for k in recommendations.keys},
        list(recommendations.keys),
        {
            "implemented": Text("Genomförda", "Implemented"),
            "overdue": Text("Försenade", "Overdue"),
            "open": Text("Pågående", "In progress"),
        },
        "recommendations/total",
        Text("Utfärdade", "Issued"),
    )
    return builder


def _annual_builder(stats: Statistics, settings: Settings, year: int) -> _Builder:
    first, last = date(year, 1, 1), date(year, 12, 31)
    period = str(year)
    figures = stats.figures(first, last, last)
    counts = stats.period_counts(first, last)
    builder = _Builder(period)
    _received(builder, settings, counts.received, by_desk=False)
    cells = builder.cells
    received = "received/total"
    lines: list[tuple[str, Text, str, str, bool]] = [
        ("received", _RECEIVED, received, period, True)
    ]
    for step, done_label, open_label, done in (
        (
            "acknowledged",
            Text("Bekräftade", "Acknowledged"),
            Text("Inte bekräftade", "Not acknowledged"),
            counts.acknowledged,
        ),
        (
            "assessed",
            Text("Bedömda", "Assessed"),
            Text("Inte bedömda", "Not assessed"),
            counts.assessed,
        ),
    ):
        yes = cells.add(f"followed_up/{step}", done)
        no = cells.add(f"followed_up/not_{step}", cells.values[received] - done)
        cells.sums([yes, no], received)
        lines += [
            (step, done_label, yes, period, False),
            (f"not_{step}", open_label, no, period, False),
        ]
    builder.section(
        "followed_up",
        Text("Uppföljda rapporter", "Reports followed up"),
        lines,
        Text(
            "Rapporter mottagna under året som bekräftats respektive bedömts.",
            "Reports received in the year that were acknowledged or assessed.",
        ),
    )
    outcomes = {k: figures.outcomes.count(k) for k in figures.outcomes.keys}
    builder.breakdown(
        "outcomes",
        Text("Utfall i ärenden avslutade under året", "Outcomes of cases concluded"),
        outcomes,
        _ordered(OUTCOMES, outcomes),
        _OUTCOME_LABELS,
        "outcomes/total",
        Text("Avslutade ärenden", "Cases concluded"),
    )
    referred = cells.add("referrals/cases", counts.referred)
    builder.section(
        "referrals",
        Text("Överlämnanden till behöriga myndigheter", "Referrals to competent authorities"),
        [("cases", Text("Ärenden som överlämnats", "Cases referred"), referred, period, False)],
    )
    _deadlines_kept(builder, figures)
    # Acknowledged in time is a part of acknowledged at all.
    cells.at_most("acknowledgement/within", "followed_up/acknowledged")
    return builder


_QUARTERS = ("Q1", "Q2", "Q3", "Q4")


def _kind(period: str) -> str:
    return "quarterly" if "Q" in period else "supervisor"


def _year_problem(builders: Mapping[str, _Builder], current: str, kept: Publications) -> Problem:
    """The cells of the year's five reports, as published, to decide, or not yet known.

    Cells are named ``"<period>:<ref>"``. Besides each report's own
    relations: the year is the sum of its quarters (received by category,
    the total, outcomes); the year's cases judged, in time and late, are at
    least the quarters' (equal when none was judged late); the open cases at
    the end of a quarter are those at the end of the one before, plus those
    received, less those concluded (and for the first quarter, the cases open
    when the year began: assumed known).
    """
    problem = Problem()
    for period, builder in builders.items():
        record = kept.get((_kind(period), period), {})
        for ref, value in builder.cells.values.items():
            name = f"{period}:{ref}"
            if ref in record:
                figure = record[ref]
                problem.published(name, figure.shown, value, figure.protect)
            elif period == current:
                problem.decide(name, value, total=ref in builder.cells.totals)
            else:
                problem.unpublished(name, value)
    for period, builder in builders.items():
        for terms, sense in builder.cells.relations:
            named = {f"{period}:{c}": a for c, a in terms.items()}
            if sense == "==":
                problem.equal(named)
            elif sense == "pending":
                problem.pending(named)
            else:
                problem.at_most(named)
    year = next(p for p in builders if "Q" not in p)
    quarters = [f"{year}{q}" for q in _QUARTERS]
    annual = builders[year].cells.values
    for ref in annual:
        section = ref.split("/")[0]
        if section in ("received_by_category", "received", "outcomes"):
            terms = {f"{year}:{ref}": -1}
            terms.update({f"{q}:{ref}": 1 for q in quarters if ref in builders[q].cells.values})
            problem.equal(terms)
        elif section in ("acknowledgement", "feedback"):
            # Judged in the year = judged in its quarters + judged after
            # their quarter ended (received in its last days).
            terms = {f"{year}:{ref}": 1}
            terms.update({f"{q}:{ref}": -1 for q in quarters})
            problem.pending(terms)
    for n, quarter in enumerate(quarters):
        terms = {
            f"{quarter}:open_at_end/total": 1,
            f"{quarter}:received/total": -1,
            f"{quarter}:outcomes/total": 1,
        }
        if n:
            terms[f"{quarters[n - 1]}:open_at_end/total"] = -1
        problem.equal(terms)
    return problem


def _publish(
    engine: sa.Engine, settings: Settings, year: int, period: str, today: date | None
) -> PublishedReport:
    """Make (or make again) the report of ``period``, protected against the year's others."""
    stats = _statistics(engine, settings)
    periods = [*(f"{year}{q}" for q in _QUARTERS), str(year)]
    builders = {p: _quarter_builder(stats, settings, p) for p in periods[:4]}
    builders[str(year)] = _annual_builder(stats, settings, year)
    builder = builders[period]
    kind = _kind(period)
    day = today or system_clock().astimezone(STOCKHOLM).date()
    for _attempt in range(3):
        with engine.connect() as conn:
            kept = published_in_year(read_only(conn), year)
        record = kept.get((kind, period), {})
        decided: dict[str, str] = {}
        protected: frozenset[str] = frozenset()
        if any(ref not in record for ref in builder.cells.values):
            decision = protect(_year_problem(builders, period, kept))
            prefix = f"{period}:"
            decided = {c[len(prefix) :]: v for c, v in decision.shown.items()}
            protected = frozenset(c[len(prefix) :] for c in decision.protected)
        shown = {ref: f.shown for ref, f in record.items()}
        shown.update(decided)
        for ref, value in builder.fixed_figures(shown).items():
            shown.setdefault(ref, value)
        figures = {ref: PublishedFigure(shown[ref], ref in protected) for ref in builder.refs()}
        with engine.begin() as conn:
            hold_publication_lock(conn)
            if published_in_year(conn, year) != kept:
                continue  # another report of the year was published meanwhile: decide again
            record_figures(conn, kind, period, figures, day, already=record)
        break
    else:
        raise SuppressionError("other reports of the year kept being published; try again")
    if kind == "quarterly":
        title = Text(
            f"Visselpipa – insynsrapport {period}", f"Visselpipa – transparency report {period}"
        )
        first, last = parse_quarter(period)
    else:
        title = Text(
            f"Visselpipa – årsrapport till tillsynsmyndigheten {year}",
            f"Visselpipa – annual report to the supervising authority {year}",
        )
        first, last = date(year, 1, 1), date(year, 12, 31)
    return PublishedReport(
        kind="quarterly" if kind == "quarterly" else "supervisor",
        period=period,
        first_day=first,
        last_day=last,
        title=title,
        sections=builder.finish(shown),
        checkpoint=newest_checkpoint(engine),
    )


# -- rendering -------------------------------------------------------------------------

_RULE = Text(
    "Antal 1–4 visas som <5. x betyder att ett antal på 5 eller fler döljs så att inget <5 "
    "kan räknas fram ur andra uppgifter i den här rapporten eller i årets övriga rapporter; "
    ".. betyder att ett antal döljs utan att det sägs hur stort det är, eftersom även <5 "
    'eller "5 eller fler" skulle avslöja ett annat. – betyder att en andel eller median '
    "inte visas eftersom den bygger på färre än 5 ärenden eller skulle avslöja ett dolt antal.",
    "Counts of 1–4 are shown as <5. x means a count of 5 or more is hidden so that no <5 can "
    "be worked out from other figures of this report or of the year's other reports; .. "
    'means a count is hidden without saying how large it is, since even <5 or "5 or more" '
    "would give another away. – means a share or median is withheld because it rests on "
    "fewer than 5 cases or would give a hidden count away.",
)
_CHECKPOINT_HEADING = Text(
    "Signerad kontrollpunkt i händelseloggen", "Signed checkpoint of the log"
)
_CHECKPOINT_NOTE = Text(
    "Kontrollpunkten är ett signerat trädhuvud: loggens storlek (tree_size) och Merkle-rot "
    "(root_hash), signerade av kanalen. Den som sparar den här rapporten kan senare visa att "
    "loggen varken har ändrats, kortats eller förgrenats: skriv fälten nedan som JSON med "
    'format "visselpipa-tree-head" och version 1 (eller spara visselpipa head, eller '
    "/.well-known/visselpipa/tree-head, samma dag) och kör visselpipa verify --expect FIL "
    "--database-url URL --public-key NYCKEL med den publicerade nyckeln.",
    "The checkpoint is a signed tree head: the log's size (tree_size) and Merkle root "
    "(root_hash), signed by the channel. Whoever keeps this report can later show that the "
    "log was neither changed, cut short nor forked: write the fields below as JSON with "
    'format "visselpipa-tree-head" and version 1 (or keep visselpipa head, or '
    "/.well-known/visselpipa/tree-head, on the same day) and run visselpipa verify --expect "
    "FILE --database-url URL --public-key KEY with the published key.",
)
_NO_CHECKPOINT = Text(
    "Ingen signerad kontrollpunkt finns ännu (visselpipa checkpoint).",
    "No signed checkpoint exists yet (visselpipa checkpoint).",
)
_PERIOD = Text("Period", "Period")
_FIGURE = Text("Uppgift", "Figure")
_VALUE = Text("Värde", "Value")


def checkpoint_fields(checkpoint: Checkpoint) -> list[tuple[str, str]]:
    """The checkpoint as (name, value) pairs, in the order a reader checks them."""
    fields = [
        ("seq", str(checkpoint.seq)),
        ("head_seq", str(checkpoint.head_seq)),
        ("head_hash", checkpoint.head_hash.hex()),
        ("signed_at", checkpoint.signed_at),
        ("key_id", checkpoint.key_id),
        ("signature", checkpoint.signature.hex()),
    ]
    if checkpoint.root_hash is not None:
        # A signed tree head (version 2): its size is head_seq, and the root
        # is what verify --expect checks.
        fields[2:2] = [
            ("tree_size", str(checkpoint.head_seq)),
            ("root_hash", checkpoint.root_hash.hex()),
        ]
    return fields


def _period_text(report: PublishedReport) -> str:
    return f"{report.first_day.isoformat()} – {report.last_day.isoformat()}"


def render_csv(report: PublishedReport, locale: str = "sv") -> str:
    """One row per figure: section, label, period, value as published; then the checkpoint."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "label", "period", "value"])
    for section in report.sections:
        for line in section.lines:
            writer.writerow([section.key, line.label.get(locale), line.period, line.value])
    if report.checkpoint is not None:
        for name, value in checkpoint_fields(report.checkpoint):
            writer.writerow(["checkpoint", name, report.period, value])
    return out.getvalue()


_CSS = """
body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;
color:#1b1b1b;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25rem .5rem;
border-bottom:1px solid #eee;vertical-align:top}td.value{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}tr.total td{font-weight:bold}
.note,.rule{color:#444;font-size:.9rem}code{word-break:break-all;font-size:.85rem}
svg{display:block;margin:.5rem 0}
"""


def _bar_chart(section: Section, locale: str) -> str:
    """Bars for the published numbers only: a hidden cell gets its sign, never a bar."""
    lines = [line for line in section.lines if not line.total]
    numbers = [int(line.value) for line in lines if line.value.isdigit()]
    largest = max(numbers, default=0)
    if largest == 0:
        return ""
    row, label_width, bar_width = 22, 260, 300
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + bar_width + 60}" '
        f'height="{row * len(lines)}" role="img" '
        f'aria-label="{html.escape(section.heading.get(locale))}">'
    ]
    for n, line in enumerate(lines):
        y = n * row
        label = line.label.get(locale)
        if len(label) > 40:
            label = label[:39] + "…"
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{html.escape(label)}</text>')
        width = int(line.value) * bar_width // largest if line.value.isdigit() else 0
        if width:
            parts.append(
                f'<rect x="{label_width}" y="{y + 4}" width="{width}" height="{row - 8}" '
                'fill="#2f5d8a"/>'
            )
        parts.append(
            f'<text x="{label_width + width + 4}" y="{y + 15}" font-size="12">'
            f"{html.escape(line.value)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: PublishedReport, locale: str = "sv") -> str:
    """A self-contained page (inline CSS and SVG, nothing loaded from elsewhere)."""
    e = html.escape
    title = report.title.get(locale)
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{e(locale)}">',
        '<head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}</style></head>",
        "<body>",
        f"<h1>{e(title)}</h1>",
        f"<p>{e(_PERIOD.get(locale))}: {e(_period_text(report))}</p>",
        f'<p class="rule">{e(_RULE.get(locale))}</p>',
    ]
    for section in report.sections:
        out.append(f'<section id="{e(section.key)}">')
        out.append(f"<h2>{e(section.heading.get(locale))}</h2>")
        if section.chart:
            out.append(_bar_chart(section, locale))
        out.append(
            f"<table><thead><tr><th>{e(_FIGURE.get(locale))}</th>"
            f"<th>{e(_PERIOD.get(locale))}</th><th>{e(_VALUE.get(locale))}</th></tr></thead>"
            "<tbody>"
        )
        for line in section.lines:
            css = ' class="total"' if line.total else ""
            out.append(
                f"<tr{css}><td>{e(line.label.get(locale))}</td><td>{e(line.period)}</td>"
                f'<td class="value">{e(line.value)}</td></tr>'
            )
        out.append("</tbody></table>")
        if section.note is not None:
            out.append(f'<p class="note">{e(section.note.get(locale))}</p>')
        out.append("</section>")
    out.append(f'<section id="checkpoint"><h2>{e(_CHECKPOINT_HEADING.get(locale))}</h2>')
    if report.checkpoint is None:
        out.append(f"<p>{e(_NO_CHECKPOINT.get(locale))}</p>")
    else:
        out.append("<table><tbody>")
        for name, value in checkpoint_fields(report.checkpoint):
            out.append(f"<tr><th>{e(name)}</th><td><code>{e(value)}</code></td></tr>")
        out.append("</tbody></table>")
        out.append(f'<p class="note">{e(_CHECKPOINT_NOTE.get(locale))}</p>')
    out.append("</section></body></html>")
    return "\n".join(out) + "\n"


#: Characters the PDF core fonts (Latin-1) lack, and what stands in for them.


def render_pdf(report: PublishedReport, locale: str = "sv") -> bytes:
    """The report as PDF (fpdf2, core Helvetica: å ä ö are in its Latin-1)."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_title(pdf_text(report.title.get(locale)))
    pdf.set_creator("Visselpipa")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw

    def para(text: str, size: float = 9, style: str = "", family: str = "Helvetica") -> None:
        pdf.set_font(family, style=style, size=size)
        pdf.multi_cell(width, size * 0.5, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    para(report.title.get(locale), 15, "B")
    pdf.ln(2)
    para(f"{_PERIOD.get(locale)}: {_period_text(report)}", 10)
    para(_RULE.get(locale), 8)
    for section in report.sections:
        pdf.ln(4)
        para(section.heading.get(locale), 12, "B")
        for line in section.lines:
            pdf.set_font("Helvetica", style="B" if line.total else "", size=9)
            pdf.cell(width * 0.6, 5, pdf_text(line.label.get(locale)))
            pdf.cell(width * 0.25, 5, pdf_text(line.period))
            pdf.cell(
                width * 0.15, 5, pdf_text(line.value), align="R",
                new_x=XPos.LMARGIN, new_y=YPos.NEXT,
            )  # fmt: skip
        if section.note is not None:
            para(section.note.get(locale), 8)
    pdf.ln(4)
    para(_CHECKPOINT_HEADING.get(locale), 12, "B")
    if report.checkpoint is None:
        para(_NO_CHECKPOINT.get(locale))
    else:
        for name, value in checkpoint_fields(report.checkpoint):
            # Hex is split so that every digit stays on the page and can be typed.
            para(f"{name}: {value[:64]}", 8, family="Courier")
            if len(value) > 64:
                para(f"{' ' * (len(name) + 2)}{value[64:]}", 8, family="Courier")
        para(_CHECKPOINT_NOTE.get(locale), 8)
    return bytes(pdf.output())
