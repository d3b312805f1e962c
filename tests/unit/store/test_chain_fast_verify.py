"""The fast chain verification finds every break the reference walk finds, at the same seq.

``verify_chain`` reads rows through the raw driver cursor, hashes them in an
inlined loop and, on a large log, in worker processes over seq ranges. These
tests tamper with a stored log (triggers dropped, as an attacker with DDL
rights would) and check that the report — ok, first broken seq, reason,
events checked, last good hash — is exactly the one the reference walk
(``verify_rows`` over rows read through SQLAlchemy, the implementation before
the fast path) gives, on SQLite and PostgreSQL, in one process and with two
workers. ``batch=4`` makes ranges and fetches end inside the log, so breaks
fall at, before and after their edges.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from caseflow.store import EventStore, NewEvent, VerifyReport, verify_chain
from caseflow.store.chain import _begin_snapshot, _verify_ranges, verify_rows
from caseflow.store.events import scan_rows
from tests.unit.store.tampering import drop_append_only_triggers

EVENTS = 23
BATCH = 4


def seed(engine: Engine, events: int = EVENTS) -> None:
    """``events`` events over streams of 1–3 events, with and without a body."""
    store = EventStore(engine)
    seq, stream = 0, 0
    while seq < events:
        stream += 1
        batch = [
            NewEvent(
                type="report.submitted" if v == 0 else "case.noted",
                actor="reporter" if v == 0 else "desk:anti-corruption",
                recorded_at="2024-05-17" if v == 0 else "2024-05-18T09:12:00Z",
                meta={"n": seq + v, "desk": "anti-corruption", "å": "ä"},
                body=None if (seq + v) % 3 == 0 else bytes([seq + v]) * (seq + v),
            )
            for v in range(min(1 + stream % 3, events - seq))
        ]
        store.append_now(f"case-{stream}", 0, batch)
        seq += len(batch)


def reference(engine: Engine) -> VerifyReport:
    """The walk as it was before the fast path: SQLAlchemy rows, one event_hash each."""
    return verify_rows(scan_rows(engine, after_seq=0, batch=BATCH))


def tamper(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as conn:
        assert conn.execute(sa.text(statement), params).rowcount >= 1


@pytest.fixture
def log(engine: Engine) -> Engine:
    seed(engine)
    assert verify_chain(engine, batch=BATCH) == VerifyReport(
        True, EVENTS, None, None, reference(engine).last_hash
    )
    drop_append_only_triggers(engine)
    return engine


def assert_same_break(engine: Engine, seq: int, workers: int = 1) -> VerifyReport:
    before = reference(engine)
    report = verify_chain(engine, batch=BATCH, workers=workers)
    assert report == before
    assert not report.ok
    assert report.first_broken_seq == seq
    assert report.events_checked == seq - 1
    assert report.reason
    return report


EDITS = [
    ("stream_id", "case-99"),
    ("version", 7),
    ("type", "case.closed"),
    ("actor", "desk:ethics"),
    ("recorded_at", "2024-05-19"),
    ("meta", '{"n": 1}'),
    ("body", b"forged"),
    ("body", None),
    ("body", b""),
    ("prev_hash", bytes(32)),
    ("hash", bytes(32)),
]


@pytest.mark.parametrize("seq", [1, 4, 5, 13, EVENTS])
@pytest.mark.parametrize(("column", "value"), EDITS, ids=[f"{c}={v!r}"[:30] for c, v in EDITS])
def test_a_change_in_any_column_is_found_at_its_seq(
    log: Engine, column: str, value: object, seq: int
) -> None:
    with log.connect() as conn:
        stored = conn.execute(sa.text(f"SELECT {column} FROM events WHERE seq = :s"), {"s": seq})
        if stored.scalar_one() == value:  # make it an actual change
            value = b"\x01" * 32 if column.endswith("hash") else b"\x00"
    tamper(log, f"UPDATE events SET {column} = :v WHERE seq = :s", v=value, s=seq)
    assert_same_break(log, seq)


@pytest.mark.parametrize("seq", [1, 5, 12, EVENTS])
def test_a_missing_seq_is_found_at_the_gap(log: Engine, seq: int) -> None:
    tamper(log, "DELETE FROM events WHERE seq = :s", s=seq)
    if seq == EVENTS:
        # Truncating the tail leaves a valid, shorter chain (see chain.py): the
        # signed checkpoint catches that, not the walk.
        assert verify_chain(log, batch=BATCH) == reference(log)
        assert verify_chain(log, batch=BATCH).events_checked == EVENTS - 1
        return
    report = assert_same_break(log, seq)
    assert report.reason == f"seq {seq} is missing (next is {seq + 1})"


@pytest.mark.parametrize("seq", [1, 4, 8, 15])
def test_a_swapped_pair_of_rows_is_found_at_the_first_of_them(log: Engine, seq: int) -> None:
    tamper(log, "UPDATE events SET seq = -1 WHERE seq = :s", s=seq)
    tamper(log, "UPDATE events SET seq = :s WHERE seq = :n", s=seq, n=seq + 1)
    tamper(log, "UPDATE events SET seq = :n WHERE seq = -1", n=seq + 1)
    report = assert_same_break(log, seq)
    assert report.reason == "prev_hash does not match the previous event's hash"


def test_a_row_renumbered_below_one_leaves_the_same_gap_as_before(log: Engine) -> None:
    tamper(log, "UPDATE events SET seq = 0 WHERE seq = 6")
    assert assert_same_break(log, 6).reason == "seq 6 is missing (next is 7)"


def test_rows_renumbered_out_of_order_are_reported_as_before(log: Engine) -> None:
    # Seq 9 moved behind the head and seq 3 removed: the first hole is the break.
    tamper(log, "UPDATE events SET seq = 1000 WHERE seq = 9")
    tamper(log, "DELETE FROM events WHERE seq = 3")
    assert assert_same_break(log, 3).reason == "seq 3 is missing (next is 4)"


# --- with worker processes: the same reports ------------------------------------------


PARALLEL_CASES = [
    # (statement, params, first broken seq): at a range start, inside, at its end.
    ("UPDATE events SET meta = '{}' WHERE seq = :s", {"s": 9}, 9),
    ("UPDATE events SET actor = 'x' WHERE seq = :s", {"s": 14}, 14),
    ("UPDATE events SET hash = :h WHERE seq = :s", {"s": 20, "h": bytes(32)}, 20),
    ("DELETE FROM events WHERE seq = :s", {"s": 5}, 5),
]


@pytest.mark.parametrize(("statement", "params", "seq"), PARALLEL_CASES)
def test_worker_processes_report_the_same_first_break(
    log: Engine, statement: str, params: dict[str, Any], seq: int
) -> None:
    tamper(log, statement, **params)
    assert_same_break(log, seq, workers=2)


def test_worker_processes_verify_an_intact_log(engine: Engine) -> None:
    seed(engine)
    calls: list[int] = []
    report = verify_chain(engine, batch=BATCH, progress=calls.append, workers=2)
    assert report == reference(engine)
    assert report.ok and report.events_checked == EVENTS
    # Once per range, in order, ending at the total.
    assert calls == [*range(BATCH, EVENTS, BATCH), EVENTS]


def test_the_workers_themselves_verify_the_ranges(engine: Engine) -> None:
    # A worker that cannot connect or fails hands its range back unverified
    # and this process walks it instead: correct, but slow. Check that on
    # an intact log the workers really verified every range.
    seed(engine)
    with engine.connect() as conn:
        snapshot = _begin_snapshot(conn)
        conn.exec_driver_sql("SELECT count(*) FROM events").scalar_one()
        resume, last_hash = _verify_ranges(engine, snapshot, EVENTS, BATCH, None, 2)
    assert (resume, last_hash) == (EVENTS + 1, reference(engine).last_hash)


# --- progress ---------------------------------------------------------------------------


def test_progress_counts_up_once_per_batch_to_the_events_checked(engine: Engine) -> None:
    seed(engine)
    calls: list[int] = []
    report = verify_chain(engine, batch=BATCH, progress=calls.append)
    assert report.ok
    assert calls == [*range(BATCH, EVENTS, BATCH), EVENTS]


def test_progress_stops_at_the_break(log: Engine) -> None:
    tamper(log, "UPDATE events SET type = 'case.closed' WHERE seq = 10")
    calls: list[int] = []
    report = verify_chain(log, batch=BATCH, progress=calls.append)
    assert report.first_broken_seq == 10
    assert calls == [4, 8]


# --- types no honest writer stores (SQLite keeps whatever it is given) ------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [("prev_hash", "text, not bytes"), ("hash", "text"), ("body", "text"), ("stream_id", b"x")],
)
def test_a_value_of_the_wrong_type_is_a_break_not_a_crash(
    log: Engine, column: str, value: object
) -> None:
    if log.dialect.name != "sqlite":
        pytest.skip("PostgreSQL refuses a value of the wrong type itself")
    tamper(log, f"UPDATE events SET {column} = :v WHERE seq = 7", v=value)
    report = verify_chain(log, batch=BATCH)
    assert (report.ok, report.first_broken_seq, report.events_checked) == (False, 7, 6)
    assert report == reference(log)
