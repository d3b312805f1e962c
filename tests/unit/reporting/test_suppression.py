"""The suppression step on random small tables: what it prints is true and protects.

Property tests (Hypothesis) over tables of two periods and their sum, made
in the order a year is published: the first period, then the second with the
first fixed, then the sum with both fixed. After each step an attacker
(``attacker.attack``, independent of the product's own check) solves, for
every hidden cell, its minimum and maximum over everything published.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reporting.statistics import SMALL_CELL
from reporting.suppression import (
    COMPLEMENT,
    PROTECTION,
    WITHHELD_COUNT,
    Problem,
    SuppressionError,
    protect,
)
from tests.unit.reporting.attacker import Knowledge, attack, recovered

ROWS, COLUMNS = 3, 3
PERIODS = ("p1", "p2", "year")


def _cells(period: str) -> list[str]:
    inner = [f"{period}:{r}{c}" for r in range(ROWS) for c in range(COLUMNS)]
    rows = [f"{period}:{r}T" for r in range(ROWS)]
    columns = [f"{period}:T{c}" for c in range(COLUMNS)]
    return [*inner, *rows, *columns, f"{period}:TT"]


def _values(tables: dict[str, list[list[int]]]) -> dict[str, int]:
    values: dict[str, int] = {}
    for period, table in tables.items():
        for r in range(ROWS):
            for c in range(COLUMNS):
                values[f"{period}:{r}{c}"] = table[r][c]
            values[f"{period}:{r}T"] = sum(table[r])
        for c in range(COLUMNS):
            values[f"{period}:T{c}"] = sum(table[r][c] for r in range(ROWS))
        values[f"{period}:TT"] = sum(map(sum, table))
    return values


def _relations() -> list[dict[str, int]]:
    relations = []
    for p in PERIODS:
        for r in range(ROWS):
            relations.append({**{f"{p}:{r}{c}": 1 for c in range(COLUMNS)}, f"{p}:{r}T": -1})
        for c in range(COLUMNS):
            relations.append({**{f"{p}:{r}{c}": 1 for r in range(ROWS)}, f"{p}:T{c}": -1})
        relations.append({**{f"{p}:{r}T": 1 for r in range(ROWS)}, f"{p}:TT": -1})
    for cell in _cells("year"):
        name = cell.split(":")[1]
        relations.append({f"p1:{name}": 1, f"p2:{name}": 1, cell: -1})
    return relations


def _publish_in_order(values: dict[str, int]) -> dict[str, str]:
    shown: dict[str, str] = {}
    protected: set[str] = set()
    for period in PERIODS:
        problem = Problem()
        for cell, value in values.items():
            if cell in shown:
                problem.published(cell, shown[cell], value, cell in protected)
            elif cell.startswith(f"{period}:"):
                problem.decide(cell, value, total="T" in cell)
            else:
                problem.unpublished(cell, value)
        for terms in _relations():
            problem.equal(terms)
        decision = protect(problem)
        shown.update(decision.shown)
        protected |= decision.protected
    return shown


def _knowledge(shown: dict[str, str]) -> Knowledge:
    k = Knowledge()
    for cell, text in shown.items():
        key = ("t", "t", cell)
        k.shown[key] = text
        if text.isdigit():
            k.bounds[key] = (int(text), int(text))
        elif text == "<5":
            k.bounds[key] = (1, 4)
        elif text == COMPLEMENT:
            k.bounds[key] = (SMALL_CELL, None)
        else:
            k.bounds[key] = (1, None)
    for terms in _relations():
        k.equal({("t", "t", c): a for c, a in terms.items()})
    return k


small_counts = st.integers(0, 7).map(lambda n: n if n < 5 else (0, 1, 2)[n - 5])
table = st.lists(st.lists(small_counts, min_size=COLUMNS, max_size=COLUMNS),
                 min_size=ROWS, max_size=ROWS)  # fmt: skip
large_or_small = st.one_of(small_counts, st.integers(5, 30))
mixed_table = st.lists(st.lists(large_or_small, min_size=COLUMNS, max_size=COLUMNS),
                       min_size=ROWS, max_size=ROWS)  # fmt: skip


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=st.one_of(table, mixed_table), second=st.one_of(table, mixed_table))
# Found by Hypothesis: the year's 5 (an x, "5 or more") pinned its 2 beside it
# until a count could be withheld as ".." whatever its size.
@example(first=[[0, 0, 0], [0, 0, 0], [2, 0, 1]], second=[[0, 0, 0], [0, 0, 0], [3, 0, 1]])
def test_published_in_order_nothing_small_can_be_narrowed(
    first: list[list[int]], second: list[list[int]]
) -> None:
    year = [[first[r][c] + second[r][c] for c in range(COLUMNS)] for r in range(ROWS)]
    values = _values({"p1": first, "p2": second, "year": year})
    try:
        shown = _publish_in_order(values)
    except SuppressionError:
        # Failing closed is allowed, printing a leak is not; it has not
        # happened on these tables, and the assertion below says so.
        raise AssertionError("a year of small tables could not be protected") from None

    # The signs are true.
    for cell, text in shown.items():
        value = values[cell]
        if text.isdigit():
            assert int(text) == value and not 0 < value < SMALL_CELL
        elif text == "<5":
            assert 0 < value < SMALL_CELL
        elif text == WITHHELD_COUNT:
            assert value > 0
        else:
            assert text == COMPLEMENT and value >= SMALL_CELL

    # The attacker narrows no small count below the protection level.
    k = _knowledge(shown)
    intervals = attack(k)
    assert recovered(intervals, k, PROTECTION) == {}
    for (_, _, cell), interval in intervals.items():
        assert interval.low - 1e-6 <= values[cell] <= interval.high + 1e-6  # truth stays possible
        assert interval.high == math.inf or interval.high >= interval.low
