"""What each published report revealed: one row per figure, written once, never changed.

The suppression step (``reporting/suppression.py``) protects a report's
small counts against every other report of the same year, and a report
published in April cannot be taken back in October. So each figure of a
report, once it has been made, is kept here exactly as it was shown
(``"12"``, ``"<5"``, ``"x"``, ``"76 %"``): later reports of the year treat
these as fixed, and making the same report again prints the same figures.

- ``kind``, ``period``: ``"quarterly"``/``"2026Q1"`` or ``"supervisor"``/``"2026"``.
- ``ref``: the figure, e.g. ``received_by_category/bribery``.
- ``shown``: the text published.
- ``protect``: the figure was a small count (1–4) when published, so later
  reports must keep it protected. Not published itself; it tells no more
  than ``<5`` did, and for an ``x`` it is what the suppression needs.
- ``published_on``: the day the report was first made (day precision).

The database refuses UPDATE and DELETE on the table (triggers, created by
migration 0007), as it does on the event log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Boolean, Column, Date, String, Table, func, insert, select
from sqlalchemy.engine import Connection

from caseflow.store.metadata import metadata

published_figures_table = Table(
    "published_figures",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("ref", String(120), primary_key=True),
    Column("shown", String(16), nullable=False),
    Column("protect", Boolean, nullable=False),
    Column("published_on", Date, nullable=False),
)

#: The PostgreSQL advisory lock that orders publications (any two reports of
#: a year must see each other). On SQLite every write transaction already
#: holds the one write lock from BEGIN IMMEDIATE.
PUBLICATION_LOCK_KEY = 0x5650_5055_424C_4953


@dataclass(frozen=True)
class PublishedFigure:
    shown: str
    protect: bool


#: (kind, period) -> ref -> figure
Publications = dict[tuple[str, str], dict[str, PublishedFigure]]


def hold_publication_lock(conn: Connection) -> None:
    """Serialise publications for the rest of ``conn``'s transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(PUBLICATION_LOCK_KEY)))


def published_in_year(conn: Connection, year: int) -> Publications:
    """Every figure published for the reports of ``year`` (its quarters and the year)."""
    t = published_figures_table
    rows = conn.execute(
        select(t.c.kind, t.c.period, t.c.ref, t.c.shown, t.c.protect).where(
            t.c.period.in_([str(year), *(f"{year}Q{q}" for q in range(1, 5))])
        )
    )
    found: Publications = {}
    for kind, period, ref, shown, protect in rows:
        found.setdefault((kind, period), {})[ref] = PublishedFigure(shown, bool(protect))
    return found


def record_figures(
    conn: Connection,
    kind: str,
    period: str,
    figures: Mapping[str, PublishedFigure],
    day: date,
    already: Iterable[str] = (),
) -> None:
    """Keep the figures of a report that are not kept yet (``already`` lists those that are)."""
    kept = set(already)
    rows = [
        {"kind": kind, "period": period, "ref": ref, "shown": f.shown, "protect": f.protect,
         "published_on": day}
        for ref, f in sorted(figures.items())
        if ref not in kept
    ]  # fmt: skip
    if rows:
        conn.execute(insert(published_figures_table), rows)
