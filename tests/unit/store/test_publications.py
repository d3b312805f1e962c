"""Published figures are kept as published: the database refuses to change or remove them."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from caseflow.store.publications import (
    PublishedFigure,
    published_figures_table,
    published_in_year,
    record_figures,
)


def _keep(engine: Engine) -> None:
    with engine.begin() as conn:
        record_figures(
            conn,
            "quarterly",
            "2026Q1",
            {"received/total": PublishedFigure("21", False),
             "received_by_category/partisan_bias": PublishedFigure("<5", True)},
            date(2026, 4, 2),
        )  # fmt: skip


def test_figures_are_read_back_by_year(engine: Engine) -> None:
    _keep(engine)
    with engine.connect() as conn:
        kept = published_in_year(conn, 2026)
        assert published_in_year(conn, 2025) == {}
    assert kept == {
        ("quarterly", "2026Q1"): {
            "received/total": PublishedFigure("21", False),
            "received_by_category/partisan_bias": PublishedFigure("<5", True),
        }
    }


@pytest.mark.parametrize(
    "statement",
    [
        sa.update(published_figures_table).values(shown="3"),
        sa.delete(published_figures_table),
    ],
    ids=["update", "delete"],
)
def test_a_published_figure_cannot_be_changed_or_removed(engine: Engine, statement: object) -> None:
    _keep(engine)
    with pytest.raises(sa.exc.DatabaseError, match="kept as published"), engine.begin() as conn:
        conn.execute(statement)  # type: ignore[call-overload]
    with engine.connect() as conn:
        kept = published_in_year(conn, 2026)[("quarterly", "2026Q1")]
    assert kept["received_by_category/partisan_bias"].shown == "<5"


def test_a_figure_is_kept_once(engine: Engine) -> None:
    _keep(engine)
    with pytest.raises(sa.exc.IntegrityError):
        _keep(engine)
