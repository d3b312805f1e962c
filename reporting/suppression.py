"""The one suppression step every published figure passes: primary and secondary.

A published report is a set of *cells* (counts) that a reader can combine
through *relations*: the parts of a table add up to its total, the year is
the sum of its quarters, the cases judged for a deadline are the cases
received less those still inside it, and so on. Hiding a small count is not
enough when the relations and the other published cells give it back.

The method is the one statistical agencies use (τ-ARGUS's "cell
suppression with protection levels"; Fischetti & Salazar, *Solving the cell
suppression problem on tabular statistical data with linear constraints*,
Management Science 47, 2001):

**Primary suppression.** A count of 1 to 4 (``SMALL_CELL``) is hidden and
shown ``<5``; 0 stays 0.

**The attacker.** A reader who holds every published report of the year
knows each published number exactly, what each sign says (``<5`` is 1 to 4,
``x`` is at least 5, ``..`` at least 1, a count not yet published at least
0), and every
relation of :class:`Problem`, including the constant of each (how many cases
were not yet judged, say: assumed known, which makes the attacker stronger).
The attacker's interval for a hidden cell is the minimum and maximum of that
cell over all real solutions of that system (a linear programme).
Integrality is left out: it can only narrow the interval, so this is a lower
bound on what an integer-minded attacker learns (the tests try both).

**Protection level.** A primary cell is protected when its interval is at
least ``PROTECTION`` (2) wide: at least three neighbouring counts remain
possible, whichever the true one is. That is the "sliding protection level"
of Fischetti and Salazar (τ-ARGUS's upper and lower protection levels, free
to slide). The width cannot be the threshold itself: ``<5`` already tells
the reader the count is 1 to 4, an interval 3 wide, and where parts must add
up (two quarters of ``<5`` are at least 2 together) not even all of that can
be kept; 2 can always be kept, since a small count may be withheld as
``..``.

**Secondary suppression** is the integer programme of Fischetti and
Salazar: choose the cells of the report being made to hide (binary ``h``)
shown ``x``, or ``..`` (binary ``w``: the sign says nothing of the size,
since a ``<5`` of a total, or the "5 or more" of an ``x``, can itself pin
other cells), of minimum weight, such that for every protected cell ``p`` there are
two tables ``y`` consistent with all the attacker knows whose values of
``p`` lie at least ``PROTECTION`` apart. Published cells of earlier reports
are fixed: what was published stays published and what was hidden stays
hidden, and their primary cells stay protected. Weights: one per hidden
cell, plus a fraction of its value (hide small cells before large), totals
count three (hidden last), a ``..`` for a ``<5`` a half, a ``..`` for an
``x`` a quarter more than the ``x``.

Afterwards the result is attacked (:func:`attack`) and refused
(:class:`SuppressionError`) if any protected cell is not protected; and a
hidden complement that the attacker can work out exactly anyway is
published, since printing it tells nothing new.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulp

from reporting.statistics import SMALL_CELL, SUPPRESSED

#: A count of 5 or more hidden so that no small count can be worked out.
COMPLEMENT = "x"
#: What a reader knows of an ``x``: it is at least this (1–4 would read ``<5``).
COMPLEMENT_FLOOR = SMALL_CELL
#: A count withheld without saying its size: for a small count whose ``<5``
#: would itself give another away (a year of four quarters of 1 each reads
#: ``<5`` for the year, and each quarter must then be 1), or a larger one
#: whose "5 or more" would.
WITHHELD_COUNT = ".."
#: What a reader knows of a ``..``: a count, not zero (zeros are never hidden).
WITHHELD_FLOOR = 1
#: The smallest and largest value a ``<5`` stands for.
SMALL_LOW, SMALL_HIGH = 1, SMALL_CELL - 1
#: How wide the attacker's interval for a small count must stay (see above).
PROTECTION = 2
#: Seconds CBC may spend on one report before the best solution found is taken.
TIME_LIMIT = 120

Sense = Literal["==", "<="]


class SuppressionError(Exception):
    """No set of cells can be hidden that protects every small count."""


@dataclass(frozen=True)
class Relation:
    """``sum(coefficient * cell) (== or <=) constant``, as the attacker knows it."""

    terms: Mapping[str, int]
    sense: Sense
    constant: int


@dataclass
class Problem:
    """The cells of one year's reports, the relations between them and what is decided.

    - :meth:`decide` a cell of the report being made: its value is known and
      the step chooses how it is shown.
    - :meth:`published` a cell of a report published before: as shown then.
    - :meth:`unpublished` a cell of a report not made yet: the reader does
      not know it (at least 0).

    The constant of every relation is worked out from the values (published
    numbers as published, everything else as counted now), so the relations
    always hold for what the attacker is assumed to know.
    """

    values: dict[str, int] = field(default_factory=dict)
    to_decide: set[str] = field(default_factory=set)
    shown: dict[str, str] = field(default_factory=dict)
    protected: set[str] = field(default_factory=set)
    totals: set[str] = field(default_factory=set)
    relations: list[Relation] = field(default_factory=list)

    def decide(self, cell: str, value: int, total: bool = False) -> None:
        if value < 0:
            raise ValueError(f"cell {cell} is negative")
        self.values[cell] = value
        self.to_decide.add(cell)
        if total:
            self.totals.add(cell)

    def published(self, cell: str, shown: str, value: int, protect: bool) -> None:
        """A cell as an earlier report showed it; ``value`` is today's count (for constants)."""
        self.values[cell] = int(shown) if shown.isdigit() else max(value, 0)
        self.shown[cell] = shown
        if protect:
            self.protected.add(cell)

    def unpublished(self, cell: str, value: int) -> None:
        self.values[cell] = max(value, 0)

    def equal(self, terms: Mapping[str, int]) -> None:
        """The attacker knows ``sum(a * cell)``: it is whatever the counts make it."""
        clean = {c: a for c, a in terms.items() if a}
        self.relations.append(Relation(clean, "==", self._sum(clean)))

    def sums(self, parts: Iterable[str], whole: str) -> None:
        terms = {c: 1 for c in parts}
        terms[whole] = terms.get(whole, 0) - 1
        self.equal(terms)

    def pending(self, terms: Mapping[str, int]) -> None:
        """``sum(a * cell)`` counts cases not judged yet, so it is at least 0.

        When it is 0 the attacker is taken to know it: "every case received
        was judged" is what a reader would guess first, and usually right.
        Otherwise the reader knows only that it is not negative.
        """
        clean = {c: a for c, a in terms.items() if a}
        if self._sum(clean) == 0:
            self.equal(clean)
        else:
            self.at_most({c: -a for c, a in clean.items()})

    def at_most(self, terms: Mapping[str, int]) -> None:
        """The attacker knows ``sum(a * cell) <= 0`` (kept true if the counts moved since)."""
        clean = {c: a for c, a in terms.items() if a}
        self.relations.append(Relation(clean, "<=", max(0, self._sum(clean))))

    def _sum(self, terms: Mapping[str, int]) -> int:
        return sum(a * self.values[c] for c, a in terms.items())


# -- what a reader knows ----------------------------------------------------------------


def bounds(shown: str | None) -> tuple[float, float | None]:
    """What a sign tells: a number exactly, ``<5`` 1–4, ``x`` at least 5, ``..`` at least 1."""
    if shown is None:
        return (0.0, None)  # not published yet
    if shown.isdigit():
        return (float(shown), float(shown))
    if shown == SUPPRESSED:
        return (float(SMALL_LOW), float(SMALL_HIGH))
    if shown == COMPLEMENT:
        return (float(COMPLEMENT_FLOOR), None)
    if shown == WITHHELD_COUNT:
        return (float(WITHHELD_FLOOR), None)
    raise ValueError(f"{shown!r} is not a published count")


def _solver(time_limit: int | None = None) -> pulp.LpSolver:
    with warnings.catch_warnings():
        # PuLP 3.3 announces that 4.0 moves the bundled CBC to an extra; it is
        # the solver this version ships, so the notice is not for us.
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, threads=1)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float  # math.inf when the cell is unbounded above


def attack(
    shown: Mapping[str, str | None], relations: Iterable[Relation], targets: Iterable[str]
) -> dict[str, Interval]:
    """The attacker's interval for each target, from what ``shown`` publishes.

    ``shown`` maps every cell to its published text (None: not published).
    One linear programme holds an independent copy of the system per target
    and direction, so all intervals come from one solver call.
    """
    relations = list(relations)
    targets = sorted(set(targets))
    if not targets:
        return {}
    cap = 1.0 + 10.0 * (1 + sum(float(v) for v in shown.values() if v and v.isdigit()))
    fixed = {c for c, text in shown.items() if text is not None and text.isdigit()}
    groups = _groups(shown, fixed, relations)
    problem = pulp.LpProblem("attack", pulp.LpMinimize)
    ends: dict[tuple[str, int], pulp.LpAffineExpression] = {}
    objective = []
    for n, target in enumerate(targets):
        members, kept = groups[target]
        part = {c: shown[c] for c in members}
        for direction in (1, -1):
            copy = _copy(problem, f"a{n}{'lo' if direction == 1 else 'hi'}", part, kept)
            end = copy[target]
            if direction == -1:
                problem += end <= cap  # an unbounded maximum reads as the cap
            ends[(target, direction)] = end
            objective.append(direction * end)
    problem += pulp.lpSum(objective)
    status = problem.solve(_solver())
    if pulp.LpStatus[status] != "Optimal":
        raise SuppressionError(f"the published figures contradict each other ({status})")
    found = {}
    for target in targets:
        low = float(pulp.value(ends[(target, 1)]))
        high = float(pulp.value(ends[(target, -1)]))
        found[target] = Interval(low, math.inf if high >= cap - 1e-6 else high)
    return found


def _copy(
    problem: pulp.LpProblem,
    prefix: str,
    shown: Mapping[str, str | None],
    relations: list[Relation],
) -> dict[str, pulp.LpAffineExpression]:
    """One copy of the attacker's system: a variable per hidden cell, numbers as constants."""
    cells: dict[str, pulp.LpAffineExpression] = {}
    for n, (cell, text) in enumerate(sorted(shown.items())):
        low, high = bounds(text)
        if high is not None and low == high:
            cells[cell] = pulp.LpAffineExpression(constant=low)
        else:
            cells[cell] = problem.add_variable(f"{prefix}_{n}", lowBound=low, upBound=high)
    for relation in relations:
        expression = pulp.lpSum(a * cells[c] for c, a in relation.terms.items())
        if relation.sense == "==":
            problem += expression == relation.constant
        else:
            problem += expression <= relation.constant
    return cells


def protection_failures(
    shown: Mapping[str, str | None], relations: Iterable[Relation], protected: Iterable[str]
) -> dict[str, Interval]:
    """The protected cells whose interval is narrower than ``PROTECTION``."""
    intervals = attack(shown, relations, protected)
    return {cell: i for cell, i in intervals.items() if i.high - i.low < PROTECTION - 1e-6}


# -- the secondary suppression --------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """How each decided cell is shown, and the protected cells of the result."""

    shown: dict[str, str]
    protected: frozenset[str]


def protect(problem: Problem, time_limit: int = TIME_LIMIT) -> Decision:
    """Primary and secondary suppression of the cells to decide (see the module docstring)."""
    values = problem.values
    primaries = {c for c in problem.to_decide if SMALL_LOW <= values[c] <= SMALL_HIGH}
    protected = sorted(primaries | problem.protected)
    known: dict[str, str | None] = {c: None for c in values}
    known.update(problem.shown)
    for cell in problem.to_decide:
        known[cell] = "0" if values[cell] == 0 else None

    decision = _solve(problem, primaries, protected, time_limit)
    shown = dict(known)
    shown.update(decision)
    failures = protection_failures(shown, problem.relations, protected)
    if failures:
        raise SuppressionError(
            "these small counts could still be worked out: "
            + ", ".join(f"{c} in [{i.low:g}, {i.high:g}]" for c, i in sorted(failures.items()))
        )
    # A complement the attacker can work out exactly anyway is printed: the
    # figure adds nothing to what the reader knows, and the report reads better.
    complements = [
        c
        for c in problem.to_decide
        if decision[c] in (COMPLEMENT, WITHHELD_COUNT) and c not in primaries
    ]
    for cell, interval in attack(shown, problem.relations, complements).items():
        if math.floor(interval.high + 1e-6) <= math.ceil(interval.low - 1e-6):
            decision[cell] = shown[cell] = str(values[cell])
    return Decision(decision, frozenset(primaries))


def _solve(
    problem: Problem, primaries: set[str], protected: list[str], time_limit: int
) -> dict[str, str]:
    values = problem.values
    decide = sorted(problem.to_decide)
    if not protected:
        return {c: str(values[c]) for c in decide}
    big = 10 * (1 + sum(values.values()))
    model = pulp.LpProblem("secondary_suppression", pulp.LpMinimize)
    hide: dict[str, pulp.LpVariable] = {}
    withhold: dict[str, pulp.LpVariable] = {}
    scale = 1 + sum(values[c] for c in decide)
    weights = []
    for n, cell in enumerate(decide):
        value = values[cell]
        if value == 0:
            continue
        if cell in primaries:
            withhold[cell] = model.add_variable(f"s{n}", cat="Binary")
            weights.append(0.5 * withhold[cell])
        else:
            hide[cell] = model.add_variable(f"h{n}", cat="Binary")
            withhold[cell] = model.add_variable(f"w{n}", cat="Binary")
            model += hide[cell] + withhold[cell] <= 1
            weight = 1 + value / scale + (2 if cell in problem.totals else 0)
            # ".." tells the reader less than "x" (not even that it is 5 or more).
            weights.append(weight * hide[cell] + (weight + 0.25) * withhold[cell])
    model += pulp.lpSum(weights)
    fixed = {c for c, text in problem.shown.items() if text.isdigit()}
    fixed |= {c for c in decide if values[c] == 0}
    groups = _groups(values, fixed, problem.relations)
    for n, target in enumerate(protected):
        members, relations = groups[target]
        ends = []
        for direction in ("lo", "hi"):
            y = _table(model, f"y{n}{direction}", problem, members, hide, withhold, big)
            for relation in relations:
                expression = pulp.lpSum(a * y[c] for c, a in relation.terms.items())
                if relation.sense == "==":
                    model += expression == relation.constant
                else:
                    model += expression <= relation.constant
            ends.append(y[target])
        model += ends[1] - ends[0] >= PROTECTION
    model.solve(_solver(time_limit))
    # Optimal, or the best integer solution found when the time ran out.
    if model.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        raise SuppressionError(
            "no choice of hidden cells protects every small count against the figures "
            f"already published this year ({pulp.LpSolution[model.sol_status]})"
        )
    shown: dict[str, str] = {}
    for cell in decide:
        value = values[cell]
        if value == 0:
            shown[cell] = "0"
        elif cell in primaries:
            shown[cell] = WITHHELD_COUNT if (withhold[cell].value() or 0) > 0.5 else SUPPRESSED
        elif (withhold[cell].value() or 0) > 0.5:
            shown[cell] = WITHHELD_COUNT
        else:
            shown[cell] = COMPLEMENT if (hide[cell].value() or 0) > 0.5 else str(value)
    return shown


def _table(
    model: pulp.LpProblem,
    prefix: str,
    problem: Problem,
    members: set[str],
    hide: Mapping[str, pulp.LpVariable],
    withhold: Mapping[str, pulp.LpVariable],
    big: int,
) -> dict[str, pulp.LpAffineExpression]:
    """A table the attacker cannot rule out, given what the choice publishes."""
    y: dict[str, pulp.LpAffineExpression] = {}
    for n, cell in enumerate(sorted(members)):
        value = problem.values[cell]
        if cell in problem.to_decide:
            if value == 0:
                y[cell] = pulp.LpAffineExpression(constant=0)
                continue
            var = model.add_variable(f"{prefix}_{n}", lowBound=0)
            if cell not in hide:  # a small count, always hidden: <5 (1–4) or .. (at least 1)
                model += var >= SMALL_LOW
                model += var <= SMALL_HIGH + (big - SMALL_HIGH) * withhold[cell]
            else:  # published exactly, x (at least 5) or .. (at least 1)
                h, w = hide[cell], withhold[cell]
                model += (
                    var >= value - (value - COMPLEMENT_FLOOR) * h - (value - WITHHELD_FLOOR) * w
                )
                model += var <= value + (big - value) * (h + w)
            y[cell] = var
        else:
            low, high = bounds(problem.shown.get(cell))
            if high is not None and low == high:
                y[cell] = pulp.LpAffineExpression(constant=low)
            else:
                y[cell] = model.add_variable(
                    f"{prefix}_{n}", lowBound=low, upBound=big if high is None else high
                )
    return y


def _groups(
    cells: Iterable[str], fixed: set[str], relations: Iterable[Relation]
) -> dict[str, tuple[set[str], list[Relation]]]:
    """For each cell, the cells and relations a reader can chain it to.

    Cells are linked by a relation through the cells it leaves unknown; a
    published number is a constant and links nothing. A relation whose
    cells are all constants tells nothing and is left out.
    """
    parent = {c: c for c in cells}

    def root(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    live_relations = []
    for relation in relations:
        live = [c for c in relation.terms if c not in fixed]
        if not live:
            continue
        live_relations.append((live[0], relation))
        for other in live[1:]:
            parent[root(other)] = root(live[0])
    by_root: dict[str, tuple[set[str], list[Relation]]] = {}
    for c in parent:
        by_root.setdefault(root(c), (set(), []))[0].add(c)
    for first, relation in live_relations:
        members, kept = by_root[root(first)]
        members.update(relation.terms)
        kept.append(relation)
    return {c: by_root[root(c)] for c in parent}
