"""Contract of the append-only event store, run on SQLite and on PostgreSQL.

Every test that takes ``engine`` runs once per backend (see tests/conftest.py):
the store must behave the same on the embedded default and in production.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nacl.encoding
import nacl.hash
import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from caseflow.store import (
    GENESIS,
    ChainBroken,
    ConcurrencyConflict,
    EventStore,
    NewEvent,
    RecordedEvent,
    StoreError,
    VerifyReport,
    alembic_config,
    create_engine,
    event_hash,
    migrate,
    verify_chain,
)
from tests.unit.store.tampering import drop_append_only_triggers


def submitted(**overrides: Any) -> NewEvent:
    fields: dict[str, Any] = {
        "type": "report.submitted",
        "actor": "reporter",
        "recorded_at": "2024-05-17",
        "meta": {"category": "bribery", "agency": "Trafikverket"},
        "body": b"\x00sealed\xff",
    }
    fields.update(overrides)
    return NewEvent(**fields)


def acknowledged(**overrides: Any) -> NewEvent:
    fields: dict[str, Any] = {
        "type": "case.acknowledged",
        "actor": "desk:anti-corruption",
        "recorded_at": "2024-05-18T09:12:00Z",
        "meta": {"deadline": "2024-08-18"},
        "body": None,
    }
    fields.update(overrides)
    return NewEvent(**fields)


def rows_as_stored(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT * FROM events ORDER BY seq"))]


def run_in_threads(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(i)`` for i in range(count) on threads; re-raise the first failure."""
    failures: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            work(i)
        except BaseException as e:  # surfaced in the test thread below
            failures.append(e)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    if failures:
        raise failures[0]


# --- appending and reading back -------------------------------------------------


def test_a_new_stream_reads_back_what_was_appended(engine: Engine) -> None:
    store = EventStore(engine)
    first = store.append_now("case-1", 0, [submitted(), acknowledged()])
    store.append_now("case-2", 0, [submitted(meta={"category": "bias"})])
    store.append_now("case-1", 2, [acknowledged(type="case.assessed", meta={})])

    case1 = store.read_stream("case-1")
    assert [e.version for e in case1] == [1, 2, 3]
    assert [e.seq for e in case1] == [1, 2, 4]
    assert [e.type for e in case1] == ["report.submitted", "case.acknowledged", "case.assessed"]
    assert case1[:2] == first
    assert case1[0].meta == {"category": "bribery", "agency": "Trafikverket"}
    assert case1[0].meta_json == '{"agency":"Trafikverket","category":"bribery"}'
    assert case1[0].body == b"\x00sealed\xff"
    assert case1[0].recorded_at == "2024-05-17"
    assert case1[1].actor == "desk:anti-corruption"

    everything = list(store.read_all())
    assert [(e.seq, e.stream_id, e.version) for e in everything] == [
        (1, "case-1", 1),
        (2, "case-1", 2),
        (3, "case-2", 1),
        (4, "case-1", 3),
    ]
    assert everything[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(everything, everything[1:], strict=False))
    assert store.head() == (4, everything[-1].hash)
    with engine.connect() as conn:
        assert store.stream_version(conn, "case-1") == 3
        assert store.stream_version(conn, "case-2") == 1
        assert store.stream_version(conn, "case-3") == 0
    assert store.read_stream("case-3") == []


def test_meta_survives_unicode_and_nesting(engine: Engine) -> None:
    store = EventStore(engine)
    meta = {"ämne": "jäv", "tags": ["a", 1, 2.5, None, True], "nested": {"z": 1, "a": [{}]}}
    store.append_now("case-1", 0, [submitted(meta=meta)])
    (event,) = store.read_stream("case-1")
    assert event.meta == meta
    assert event.meta_json.startswith('{"nested":{"a":[{}],"z":1},"tags"')
    assert "jäv" in event.meta_json  # stored as UTF-8, not \u-escaped


def test_no_body_and_an_empty_body_are_different_events(engine: Engine) -> None:
    store = EventStore(engine)
    none, empty = store.append_now("case-1", 0, [submitted(body=None), submitted(body=b"")])
    assert none.body is None
    assert empty.body == b""
    assert [e.body for e in store.read_stream("case-1")] == [None, b""]
    args = ("case-1", 1, "t", "a", "2024-05-17", "{}")
    assert event_hash(1, *args, None, GENESIS) != event_hash(1, *args, b"", GENESIS)
    assert verify_chain(engine).ok


def test_an_empty_log_has_the_genesis_head(engine: Engine) -> None:
    store = EventStore(engine)
    assert store.head() == (0, GENESIS)
    assert list(store.read_all()) == []
    assert verify_chain(engine) == VerifyReport(
        ok=True, events_checked=0, first_broken_seq=None, reason=None, last_hash=GENESIS
    )


def test_read_all_pages_through_the_log_in_seq_order(engine: Engine) -> None:
    store = EventStore(engine)
    for i in range(7):
        store.append_now(f"case-{i % 3}", i // 3, [submitted(meta={"i": i})])
    assert [e.meta["i"] for e in store.read_all(batch=2)] == list(range(7))
    assert [e.seq for e in store.read_all(after_seq=4, batch=2)] == [5, 6, 7]
    assert [e.seq for e in store.read_all(after_seq=7)] == []
    assert verify_chain(engine, batch=3).events_checked == 7


def test_append_is_part_of_the_callers_transaction(engine: Engine) -> None:
    store = EventStore(engine)

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), engine.begin() as conn:
        store.append(conn, "case-1", 0, [submitted()])
        assert store.stream_version(conn, "case-1") == 1  # visible inside
        raise Abandoned
    assert store.read_stream("case-1") == []
    assert store.head() == (0, GENESIS)

    with engine.begin() as conn:
        store.append(conn, "case-1", 0, [submitted()])
        store.append(conn, "case-1", 1, [acknowledged()])
    assert [e.seq for e in store.read_all()] == [1, 2]
    assert verify_chain(engine).ok


def test_invalid_events_are_refused_before_the_database(engine: Engine) -> None:
    store = EventStore(engine)
    with pytest.raises(ValueError, match="type"):
        submitted(type="x" * 101)
    with pytest.raises(ValueError, match="NUL"):
        submitted(actor="desk\x00")
    with pytest.raises(ValueError, match="stream_id"):
        store.append_now("c" * 65, 0, [submitted()])
    with pytest.raises(ValueError):
        store.append_now("case-1", 0, [submitted(meta={"x": float("nan")})])
    assert store.append_now("case-1", 0, []) == []
    assert store.head() == (0, GENESIS)


# --- optimistic concurrency -----------------------------------------------------


def test_a_stale_expected_version_is_a_conflict(engine: Engine) -> None:
    store = EventStore(engine)
    store.append_now("case-1", 0, [submitted()])
    with pytest.raises(ConcurrencyConflict) as caught:
        store.append_now("case-1", 0, [acknowledged()])
    assert caught.value.stream_id == "case-1"
    assert caught.value.expected_version == 0
    assert caught.value.actual_version == 1
    assert "case-1" in str(caught.value) and "0" in str(caught.value)
    assert isinstance(caught.value, StoreError)
    with pytest.raises(ConcurrencyConflict):
        store.append_now("case-1", 5, [acknowledged()])  # ahead of the stream
    with pytest.raises(ConcurrencyConflict):
        store.append_now("case-2", 1, [acknowledged()])  # the stream does not exist
    assert [e.version for e in store.read_stream("case-1")] == [1]
    assert store.head()[0] == 1


def test_a_batch_appends_to_many_streams_on_one_chain_or_not_at_all(engine: Engine) -> None:
    store = EventStore(engine)
    store.append_now("case-1", 0, [submitted()])
    with engine.begin() as conn:
        recorded = store.append_batch(
            conn,
            [("case-1", 1, [acknowledged()]), ("case-2", 0, [submitted(), acknowledged()])],
        )
    assert [(e.seq, e.stream_id, e.version) for e in recorded] == [
        (2, "case-1", 2),
        (3, "case-2", 1),
        (4, "case-2", 2),
    ]
    assert verify_chain(engine).ok
    # One stale stream refuses the whole batch: case-3 is not written either.
    with pytest.raises(ConcurrencyConflict) as caught, engine.begin() as conn:
        store.append_batch(conn, [("case-3", 0, [submitted()]), ("case-1", 1, [acknowledged()])])
    assert caught.value.stream_id == "case-1" and caught.value.actual_version == 2
    assert store.read_stream("case-3") == [] and store.head()[0] == 4
    with pytest.raises(ValueError, match="once"), engine.begin() as conn:
        store.append_batch(conn, [("case-4", 0, [submitted()]), ("case-4", 0, [submitted()])])


@pytest.mark.parametrize("round_", range(3))
def test_two_racing_appenders_exactly_one_wins(engine: Engine, round_: int) -> None:
    store = EventStore(engine)
    stream = f"case-{round_}"
    both_read = threading.Barrier(2, timeout=30)
    outcome: dict[int, str] = {}

    def writer(i: int) -> None:
        # Each writer decides on the state it read, as a request handler would,
        # then appends on a connection of its own.
        with engine.begin() as conn:
            version = store.stream_version(conn, stream)
        assert version == 0
        both_read.wait()
        try:
            with engine.begin() as conn:
                store.append(conn, stream, version, [submitted(actor=f"writer-{i}")])
            outcome[i] = "won"
        except ConcurrencyConflict:
            outcome[i] = "conflict"

    run_in_threads(2, writer)
    assert sorted(outcome.values()) == ["conflict", "won"]
    (event,) = store.read_stream(stream)
    winner = next(i for i, o in outcome.items() if o == "won")
    assert event.actor == f"writer-{winner}"
    assert verify_chain(engine).ok


def test_concurrent_writers_keep_one_linear_chain(engine: Engine) -> None:
    store = EventStore(engine)
    writers, appends = 4, 25

    def writer(i: int) -> None:
        for version in range(appends):
            store.append_now(f"case-{i}", version, [submitted(meta={"n": version})])

    run_in_threads(writers, writer)

    everything = list(store.read_all())
    assert [e.seq for e in everything] == list(range(1, writers * appends + 1))
    for i in range(writers):
        stream = store.read_stream(f"case-{i}")
        assert [e.version for e in stream] == list(range(1, appends + 1))
        assert [e.meta["n"] for e in stream] == list(range(appends))
    report = verify_chain(engine)
    assert report.ok, report
    assert report.events_checked == writers * appends
    assert report.last_hash == store.head()[1]


def test_a_collision_on_insert_is_translated_to_a_conflict(engine: Engine) -> None:
    """At REPEATABLE READ the snapshot predates the lock: the unique keys catch it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no snapshot older than BEGIN IMMEDIATE's write lock")
    store = EventStore(engine)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as late:
        late.begin()
        late.execute(sa.select(1))  # takes the snapshot
        store.append_now("case-1", 0, [submitted()])
        with pytest.raises(ConcurrencyConflict) as caught:
            store.append(late, "case-1", 0, [acknowledged()])
        assert isinstance(caught.value.__cause__, sa.exc.IntegrityError)
        late.rollback()
    assert [e.type for e in store.read_stream("case-1")] == ["report.submitted"]


def test_append_refuses_a_read_only_connection(engine: Engine) -> None:
    from caseflow.store.engine import read_only

    store = EventStore(engine)
    with engine.connect() as conn, pytest.raises(StoreError, match="read-only"):
        store.append(read_only(conn), "case-1", 0, [submitted()])


# --- the database refuses to rewrite history --------------------------------------


REWRITES = [
    "UPDATE events SET type = 'case.closed' WHERE seq = 1",
    "UPDATE events SET body = NULL",
    "DELETE FROM events WHERE seq = 2",
    "DELETE FROM events",
]


@pytest.mark.parametrize("statement", [*REWRITES, "TRUNCATE events"])
def test_the_database_refuses_to_change_stored_events(engine: Engine, statement: str) -> None:
    if statement.startswith("TRUNCATE") and engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (DELETE FROM is covered)")
    store = EventStore(engine)
    store.append_now("case-1", 0, [submitted(), acknowledged()])
    before = rows_as_stored(engine)

    with pytest.raises(sa.exc.DBAPIError, match="events are append-only"), engine.begin() as conn:
        conn.exec_driver_sql(statement)

    assert rows_as_stored(engine) == before
    assert verify_chain(engine).ok


def test_the_application_role_may_not_rewrite_events(database_url: str) -> None:
    """Migration 0001 revokes UPDATE, DELETE and TRUNCATE from visselpipa_app."""
    if not database_url.startswith("postgresql"):
        pytest.skip("roles and privileges are PostgreSQL's")
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            # Roles are cluster-wide: create it if missing and leave it (NOLOGIN,
            # no privileges once this test's database is dropped).
            conn.exec_driver_sql(
                "DO $$ BEGIN CREATE ROLE visselpipa_app NOLOGIN; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
            # A careless deployment that grants everything by default.
            conn.exec_driver_sql("ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO visselpipa_app")
        migrate(engine)
        with engine.connect() as conn:

            def may(privilege: str, table: str = "events") -> bool:
                return bool(
                    conn.scalar(
                        sa.text("SELECT has_table_privilege('visselpipa_app', :t, :p)"),
                        {"t": table, "p": privilege},
                    )
                )

            assert may("SELECT") and may("INSERT")
            assert not may("UPDATE")
            assert not may("DELETE")
            assert not may("TRUNCATE")
            assert may("UPDATE", "alembic_version")  # only events is special
    finally:
        engine.dispose()


# --- tampering is detected by the chain -------------------------------------------


TAMPERS = [
    ("type", "case.closed"),
    ("actor", "desk:ethics"),
    ("recorded_at", "2024-05-19"),
    ("meta", '{"deadline":"2025-01-01"}'),
    ("meta", '{"deadline": "2024-08-18"}'),  # same meaning, different stored text
    ("meta", "{not json"),
    ("body", b"forged"),
    ("body", b""),
    ("body", None),
    ("prev_hash", bytes(32)),
    ("hash", bytes(32)),
    ("stream_id", "case-9"),
    ("version", 7),
]


@pytest.mark.parametrize(("column", "value"), TAMPERS, ids=[f"{c}={v!r}"[:40] for c, v in TAMPERS])
def test_an_edited_event_breaks_the_chain_at_that_event(
    engine: Engine, column: str, value: object
) -> None:
    store = EventStore(engine)
    store.append_now("case-1", 0, [submitted()])
    store.append_now("case-1", 1, [acknowledged(body=b"sealed note")])
    store.append_now("case-2", 0, [submitted()])
    assert verify_chain(engine).ok

    drop_append_only_triggers(engine)
    with engine.begin() as conn:
        changed = conn.execute(
            sa.text(f"UPDATE events SET {column} = :value WHERE seq = 2"), {"value": value}
        )
        assert changed.rowcount == 1

    report = verify_chain(engine)
    assert not report.ok
    assert report.first_broken_seq == 2
    assert report.events_checked == 1
    assert report.reason
    with pytest.raises(ChainBroken) as caught:
        report.raise_if_broken()
    assert caught.value.seq == 2


def test_a_removed_event_breaks_the_chain_at_the_gap(engine: Engine) -> None:
    store = EventStore(engine)
    for version in range(5):
        store.append_now("case-1", version, [submitted(meta={"n": version})])
    drop_append_only_triggers(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM events WHERE seq = 3")

    report = verify_chain(engine, batch=2)
    assert (report.ok, report.first_broken_seq, report.events_checked) == (False, 3, 2)
    assert "missing" in (report.reason or "")


def test_a_renumbered_event_breaks_the_chain(engine: Engine) -> None:
    store = EventStore(engine)
    store.append_now("case-1", 0, [submitted(), acknowledged(), acknowledged()])
    drop_append_only_triggers(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE events SET seq = 99 WHERE seq = 2")
    report = verify_chain(engine)
    assert (report.ok, report.first_broken_seq) == (False, 2)


# --- the hash is the documented one -------------------------------------------------


def documented_hash(
    seq: int,
    stream_id: str,
    version: int,
    type_: str,
    actor: str,
    recorded_at: str,
    meta: str,
    body: bytes | None,
    prev_hash: bytes,
) -> bytes:
    """The encoding of caseflow/store/chain.py's docstring, with PyNaCl's BLAKE2b."""

    def f(content: bytes) -> bytes:
        return len(content).to_bytes(8, "big") + content

    message = b"".join(
        [
            f(seq.to_bytes(8, "big")),
            f(stream_id.encode()),
            f(version.to_bytes(8, "big")),
            f(type_.encode()),
            f(actor.encode()),
            f(recorded_at.encode()),
            f(meta.encode()),
            f(b"\x00" if body is None else b"\x01" + body),
            f(prev_hash),
        ]
    )
    return nacl.hash.blake2b(
        message,
        digest_size=32,
        person=b"vp.events.v1".ljust(16, b"\x00"),
        encoder=nacl.encoding.RawEncoder,
    )


def test_event_hash_matches_the_documented_encoding_and_known_answers() -> None:
    first = (1, "case-1", 1, "report.submitted", "reporter", "2024-05-17",
             '{"category":"bribery"}', b"\x01\x02", bytes(32))  # fmt: skip
    second = (2, "case-1", 2, "case.acknowledged", "desk:anti-corruption",
              "2024-05-18T09:00:00Z", "{}", None, bytes(range(32)))  # fmt: skip
    assert event_hash(*first).hex() == (
        "14c9128d4fc11a4ff5c52ca5638e32f43b1a0a1043e48ecfaad7e9171c3ed2fd"
    )
    assert event_hash(*second).hex() == (
        "4777064dedbc6f38b0910c433f4ffd17ac777576e5eee23805f8edb9cdce51bd"
    )
    assert event_hash(*first) == documented_hash(*first)
    assert event_hash(*second) == documented_hash(*second)


def test_stored_events_hash_as_documented(engine: Engine) -> None:
    store = EventStore(engine)
    store.append_now("case-1", 0, [submitted(), acknowledged()])
    for row in rows_as_stored(engine):
        *columns, stored_hash = row
        columns = [bytes(c) if isinstance(c, memoryview) else c for c in columns]
        assert documented_hash(*columns) == bytes(stored_hash)


# --- migrations -----------------------------------------------------------------------


def test_migrations_and_models_do_not_drift(engine: Engine) -> None:
    command.check(alembic_config(engine))  # raises AutogenerateDiffsDetected on drift


def test_migrations_downgrade_and_upgrade_again(engine: Engine) -> None:
    EventStore(engine).append_now("case-1", 0, [submitted()])
    command.downgrade(alembic_config(engine), "base")
    assert "events" not in sa.inspect(engine).get_table_names()
    migrate(engine)
    command.check(alembic_config(engine))
    store = EventStore(engine)
    store.append_now("case-1", 0, [submitted()])
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM events")


# --- property: any history verifies and replays -----------------------------------------

_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    min_size=1,
    max_size=12,
)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_events = st.builds(
    NewEvent,
    type=_text,
    actor=_text,
    recorded_at=st.dates().map(lambda d: d.isoformat()),
    meta=st.dictionaries(st.text(max_size=6), _json, max_size=3),
    body=st.none() | st.binary(max_size=40),
)
_history = st.lists(
    st.tuples(
        st.sampled_from(["case-a", "case-b", "user-c"]), st.lists(_events, min_size=1, max_size=3)
    ),
    min_size=1,
    max_size=8,
)


def _content(e: NewEvent | RecordedEvent) -> tuple[Any, ...]:
    return (e.type, e.actor, e.recorded_at, dict(e.meta), e.body)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=_history)
def test_any_history_verifies_and_replays_per_stream(
    history: list[tuple[str, list[NewEvent]]],
) -> None:
    # A fresh SQLite file per example: the function-scoped fixtures would be
    # shared by every example Hypothesis runs.
    with tempfile.TemporaryDirectory() as directory:
        engine = create_engine(f"sqlite:///{Path(directory) / 'property.sqlite3'}")
        try:
            migrate(engine)
            store = EventStore(engine)
            appended: dict[str, list[NewEvent]] = {}
            for stream, events in history:
                version = len(appended.get(stream, []))
                store.append_now(stream, version, events)
                appended.setdefault(stream, []).extend(events)

            report = verify_chain(engine, batch=4)
            assert report.ok, report
            assert report.events_checked == sum(len(events) for _, events in history)
            for stream, events in appended.items():
                replayed = store.read_stream(stream)
                assert [_content(e) for e in replayed] == [_content(e) for e in events]
                assert [e.version for e in replayed] == list(range(1, len(events) + 1))
        finally:
            engine.dispose()
