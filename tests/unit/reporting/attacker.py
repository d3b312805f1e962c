"""The reader who tries to un-suppress a year of published reports.

Written apart from the product's suppression model on purpose: it reads
only what a report publishes (the sections and lines of each
:class:`PublishedReport`, exactly the values the HTML, PDF and CSV carry)
and writes down, from its own knowledge of what the figures mean, every
relation between them. Then, for each hidden cell, it solves two linear
programmes: the smallest and the largest value the cell can take subject
to every published number, every relation and what each sign says (``<5``
is 1 to 4, ``x`` is at least ``x_floor``, a count is never negative).

The linear relaxation gives the attacker *more* freedom than integers
would, so an interval found here can only be narrowed by an integer
attack: :func:`attack` takes ``integer=True`` for that one.

What the attacker is assumed to know besides the reports (the strong
side): the routing of categories to desks (it is public), and that no case
of a period is still waiting to be judged for a deadline when that is so
(``slack`` of 0: a reader would guess it first); otherwise only that the
cases judged are at most those received.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pulp

from config.settings import Settings
from reporting.reports import PublishedReport

Cell = tuple[str, str, str]  # (report period, section, line key)


@dataclass
class Knowledge:
    """Variables with their bounds, and the relations between them."""

    bounds: dict[Cell, tuple[float, float | None]] = field(default_factory=dict)
    shown: dict[Cell, str] = field(default_factory=dict)
    #: (coefficients, sense, constant): sum(a * cell) (== or <=) constant.
    relations: list[tuple[dict[Cell, int], str, float]] = field(default_factory=list)

    def equal(self, terms: Mapping[Cell, int], constant: float = 0) -> None:
        self.relations.append((dict(terms), "==", constant))

    def at_most(self, terms: Mapping[Cell, int], constant: float = 0) -> None:
        self.relations.append((dict(terms), "<=", constant))

    def pending(self, terms: Mapping[Cell, int], count: int) -> None:
        """``sum(terms)`` is ``count`` cases not judged yet: known when none is pending."""
        if count == 0:
            self.equal(terms)
        else:
            self.at_most({c: -a for c, a in terms.items()})


def _is_count(value: str) -> bool:
    return value.isdigit() or value in ("<5", "x", "..")


def read(
    reports: Sequence[PublishedReport],
    settings: Settings,
    slack: Mapping[Cell, int] | None = None,
    x_floor: int = 1,
    previous_open: int | None = 0,
) -> Knowledge:
    """What a reader knows from ``reports`` (any of one year's quarters and its annual report).

    ``slack[(period, section, "cases")]`` is the number of cases received in
    the period but not judged for that deadline by the report (the received
    total minus *cases judged*); for the annual report against the quarters,
    ``slack[("year", section, key)]`` is the annual figure minus the sum of
    the quarters' (cases judged after their quarter ended). ``previous_open``
    is the number of open cases before the year (published in the previous
    year's fourth quarter): None when the reader does not know it.
    """
    slack = dict(slack or {})
    k = Knowledge()
    by_period = {r.period: r for r in reports}

    def cell(period: str, section: str, key: str) -> Cell:
        # The received total is one figure printed in several sections.
        if (section, key) in (
            ("received_by_desk", "total"),
            ("followed_up", "received"),
        ):
            return (period, "received_by_category", "total")
        return (period, section, key)

    for report in reports:
        for section in report.sections:
            for line in section.lines:
                if not _is_count(line.value) or line.key in ("share", "median_days"):
                    continue
                c = cell(report.period, section.key, line.key)
                k.shown[c] = line.value
                if line.value.isdigit():
                    k.bounds[c] = (int(line.value), int(line.value))
                elif line.value == "<5":
                    k.bounds[c] = (1, 4)
                elif line.value == "..":
                    k.bounds[c] = (1, None)  # a count, withheld without saying its size
                else:
                    k.bounds[c] = (x_floor, None)

    def has(c: Cell) -> bool:
        return c in k.bounds

    def parts(period: str, section: str) -> list[Cell]:
        report = by_period[period]
        for s in report.sections:
            if s.key == section:
                return [cell(period, section, line.key) for line in s.lines if not line.total]
        return []

    def sums_to(period: str, section: str, total_key: str = "total") -> None:
        pieces = parts(period, section)
        total = cell(period, section, total_key)
        if pieces and has(total):
            k.equal({**{p: 1 for p in pieces}, total: -1})

    routing = settings.rules.routing
    groups: dict[str, set[str]] = {}
    for category, route in routing.categories.items():
        groups.setdefault(route.desk, set()).add(category)

    quarters = sorted(p for p in by_period if "Q" in p)
    for period in by_period:
        received = cell(period, "received_by_category", "total")
        sums_to(period, "received_by_category")
        sums_to(period, "received_by_desk")
        sums_to(period, "outcomes")
        sums_to(period, "open_at_end")
        sums_to(period, "recommendations", "total")
        if has(cell(period, "received_by_desk", "anticorruption")):
            for desk, categories in groups.items():
                terms = {cell(period, "received_by_category", c): 1 for c in categories}
                terms[cell(period, "received_by_desk", desk)] = -1
                k.equal(terms)
        for deadline in ("acknowledgement", "feedback"):
            judged = cell(period, deadline, "cases")
            if not has(judged):
                continue
            k.equal({cell(period, deadline, "within"): 1, cell(period, deadline, "late"): 1,
                     judged: -1})  # fmt: skip
            # received - judged = the cases still inside their deadline.
            k.pending({received: 1, judged: -1}, slack.get((period, deadline, "cases"), 0))
        for step in ("acknowledged", "assessed"):
            done = cell(period, "followed_up", step)
            if has(done):
                k.equal({done: 1, cell(period, "followed_up", f"not_{step}"): 1, received: -1})
        if has(cell(period, "followed_up", "acknowledged")):
            # Acknowledged in time is a part of acknowledged at all.
            k.at_most(
                {cell(period, "acknowledgement", "within"): 1,
                 cell(period, "followed_up", "acknowledged"): -1}
            )  # fmt: skip

    years = [p for p in by_period if "Q" not in p]
    for year in years:
        mine = [q for q in quarters if q.startswith(year)]
        if len(mine) != 4:
            # Missing quarters are unknown: each still adds a non-negative part,
            # so the year is at least the sum of the quarters published.
            pass
        for section in ("received_by_category", "outcomes"):
            for c in [*parts(year, section), cell(year, section, "total")]:
                terms = {c: -1}
                terms.update(
                    {cell(q, section, c[2]): 1 for q in mine if has(cell(q, section, c[2]))}
                )
                if len(mine) == 4:
                    k.equal(terms)
                else:
                    k.at_most(terms)
        for deadline in ("acknowledgement", "feedback"):
            for key in ("cases", "within", "late"):
                terms = {cell(year, deadline, key): -1}
                terms.update({cell(q, deadline, key): 1 for q in mine})
                if len(mine) == 4:
                    k.pending(
                        {c: -a for c, a in terms.items()}, slack.get(("year", deadline, key), 0)
                    )
                else:
                    k.at_most(terms)
    for n, period in enumerate(quarters):
        opened = cell(period, "open_at_end", "total")
        received = cell(period, "received_by_category", "total")
        concluded = cell(period, "outcomes", "total")
        if n == 0:
            if previous_open is not None and period.endswith("Q1"):
                k.equal({opened: 1, received: -1, concluded: 1}, previous_open)
            continue
        before = cell(quarters[n - 1], "open_at_end", "total")
        if int(period[-1]) == int(quarters[n - 1][-1]) + 1:
            k.equal({opened: 1, before: -1, received: -1, concluded: 1})
    return k


@dataclass(frozen=True)
class Interval:
    low: float
    high: float  # math.inf when unbounded


def attack(
    k: Knowledge, cells: Iterable[Cell] | None = None, integer: bool = False
) -> dict[Cell, Interval]:
    """The smallest and largest value each hidden cell can take (every hidden cell by default)."""
    targets = [c for c in (cells or k.bounds) if k.shown.get(c) in ("<5", "x", "..")]
    found: dict[Cell, Interval] = {}
    for target in targets:
        ends = []
        for sense in (pulp.LpMinimize, pulp.LpMaximize):
            problem = pulp.LpProblem("attack", sense)
            cat = "Integer" if integer else "Continuous"
            names = {c: f"v{n}" for n, c in enumerate(k.bounds)}
            cap = None if sense == pulp.LpMinimize else 1_000_000
            variables = {
                c: problem.add_variable(
                    names[c],
                    lowBound=lo,
                    upBound=(hi if c != target or hi is not None else cap),
                    cat=cat,
                )
                for c, (lo, hi) in k.bounds.items()
            }
            problem += variables[target]
            for terms, relation, constant in k.relations:
                if not all(c in variables for c in terms):
                    continue  # a figure this set of reports does not publish
                expression = pulp.lpSum(a * variables[c] for c, a in terms.items())
                problem += (
                    (expression == constant) if relation == "==" else (expression <= constant)
                )
            status = problem.solve(pulp.PULP_CBC_CMD(msg=False))
            if pulp.LpStatus[status] != "Optimal":
                raise AssertionError(f"the attacker's programme is {pulp.LpStatus[status]}")
            value = float(pulp.value(variables[target]))
            ends.append(math.inf if value >= 999_999 else value)
        found[target] = Interval(ends[0], ends[1])
    return found


def recovered(
    intervals: Mapping[Cell, Interval], k: Knowledge, protection: int = 2
) -> dict[Cell, Interval]:
    """The hidden cells the attacker narrows too far.

    A small count (``<5``, ``..``) is protected when its interval is at
    least ``protection`` wide (three neighbouring counts stay possible); an
    ``x`` when it is not pinned to one whole number.
    """
    leaks = {}
    for c, interval in intervals.items():
        if k.shown[c] in ("<5", ".."):
            if interval.high - interval.low < protection - 1e-6:
                leaks[c] = interval
        elif math.floor(interval.high + 1e-6) <= math.ceil(interval.low - 1e-6):
            leaks[c] = interval
    return leaks
