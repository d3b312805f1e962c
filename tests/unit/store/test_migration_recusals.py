"""Migration 0007 fills the recusal read model from a log written before it."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from caseflow.store import EventStore, NewEvent, create_engine, migrate


def test_recusals_of_an_older_database_are_filled_from_its_log(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        migrate(engine, "0006")  # a database as the code before 0007 made it
        store = EventStore(engine)
        store.append_now(
            "case-a",
            0,
            [
                NewEvent("ReportReceived", "reporter", "2026-11-02", {"named_staff": ["s1", "s2"]}),
                NewEvent("ConflictDeclared", "s3", "2026-11-03T10:00:00+00:00", {"staff_id": "s3"}),
            ],
        )
        store.append_now("case-b", 0, [NewEvent("ReportReceived", "reporter", "2026-11-04", {})])
        migrate(engine)
        with engine.connect() as conn:
            pairs = set(conn.execute(sa.text("SELECT case_id, staff_id FROM case_recusals")))
        assert pairs == {("case-a", "s1"), ("case-a", "s2"), ("case-a", "s3")}
    finally:
        engine.dispose()
