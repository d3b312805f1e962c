"""Migration 0007 fills the recusal read model from a log written before it."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from caseflow.store import create_engine, event_hash, migrate


def _raw_events(conn: sa.Connection, events: list[tuple[str, str, dict[str, object]]]) -> None:
    """Write events as the code at revision 0006 did (the store of today also keeps a tree)."""
    prev, versions = bytes(32), {}
    for seq, (stream, type_name, meta) in enumerate(events, start=1):
        version = versions[stream] = versions.get(stream, 0) + 1
        text = json.dumps(meta)
        digest = event_hash(
            seq, stream, version, type_name, "system", "2026-11-02", text, None, prev
        )
        conn.execute(
            sa.text(
                "INSERT INTO events (seq, stream_id, version, type, actor, recorded_at, meta, "
                "body, prev_hash, hash) VALUES (:seq, :s, :v, :t, 'system', '2026-11-02', :m, "
                "NULL, :p, :h)"
            ),
            {
                "seq": seq,
                "s": stream,
                "v": version,
                "t": type_name,
                "m": text,
                "p": prev,
                "h": digest,
            },
        )
        prev = digest


def test_recusals_of_an_older_database_are_filled_from_its_log(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        migrate(engine, "0006")  # a database as the code before 0007 made it
        with engine.begin() as conn:
            _raw_events(
                conn,
                [
                    ("case-a", "ReportReceived", {"named_staff": ["s1", "s2"]}),
                    ("case-a", "ConflictDeclared", {"staff_id": "s3"}),
                    ("case-b", "ReportReceived", {}),
                ],
            )
        migrate(engine)
        with engine.connect() as conn:
            pairs = set(conn.execute(sa.text("SELECT case_id, staff_id FROM case_recusals")))
        assert pairs == {("case-a", "s1"), ("case-a", "s2"), ("case-a", "s3")}
    finally:
        engine.dispose()
