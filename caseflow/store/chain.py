"""The hash chain over the event log, and its verification.

Every event carries ``prev_hash`` (the ``hash`` of the event with the previous
``seq``; 32 zero bytes for seq 1) and its own ``hash``, which covers every
column of the row. Rewriting, removing or reordering any stored event therefore
changes a hash that every later event depends on; a signed checkpoint of the
head (seq, hash) then lets an auditor prove that nothing before it changed.

The encoding of each hash is in :mod:`caseflow.store.hashing`.

.. warning::
   The chain detects edits to stored events; it cannot by itself detect
   removal of the newest events (truncating the tail leaves a valid, shorter
   chain). Compare the head with a signed checkpoint for that.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import os
import re
import sqlite3
import struct
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Engine

from caseflow.store.engine import read_only
from caseflow.store.errors import ChainBroken
from caseflow.store.events import scan_rows
from caseflow.store.hashing import GENESIS, HASH_SIZE, PERSON, event_hash


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of walking the chain.

    ``events_checked`` counts the events that verified before the walk
    stopped; ``last_hash`` is the hash of the last of them (``GENESIS`` when
    none did), to compare with a signed checkpoint.
    """

    ok: bool
    events_checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    last_hash: bytes = GENESIS

    def raise_if_broken(self) -> None:
        """Raise :class:`ChainBroken` unless the chain verified."""
        if not self.ok:
            assert self.first_broken_seq is not None  # set whenever ok is False
            raise ChainBroken(self.first_broken_seq, self.reason or "")


def verify_rows(rows: Iterable[Any]) -> VerifyReport:
    """Verify rows given in ``seq`` order, each a sequence in table column order.

    The column order is: seq, stream_id, version, type, actor, recorded_at,
    meta (the stored JSON text), body, prev_hash, hash. Stops at the first
    broken link.
    """
    return _walk(rows, expected_seq=1, prev=GENESIS, checked=0)


def _walk(
    rows: Iterable[Any],
    expected_seq: int,
    prev: bytes,
    checked: int,
    progress: Callable[[int], None] | None = None,
    every: int = 1000,
) -> VerifyReport:
    """The reference walk: one row at a time through :func:`event_hash`.

    Starts in the state the walk has after ``checked`` good events (the next
    seq expected and the hash of the last good event). Every report of a
    broken chain comes from here, so the fast paths below only ever decide
    that rows are good and cannot change what a break is called.
    """

    def broken(seq: int, reason: str) -> VerifyReport:
        return VerifyReport(False, checked, seq, reason, prev)

    for row in rows:
        seq, stream_id, version, type_, actor, recorded_at, meta, body, prev_hash, hash_ = row
        if seq != expected_seq:
            if seq > expected_seq:
                return broken(expected_seq, f"seq {expected_seq} is missing (next is {seq})")
            return broken(seq, f"seq {seq} is out of order (expected {expected_seq})")
        try:
            # bytes() inside the try: a tampered SQLite row can hold text in a
            # BLOB column, and that is a break, not a crash of the verifier.
            stored_prev, stored_hash = bytes(prev_hash), bytes(hash_)
        except (ValueError, TypeError) as e:
            return broken(seq, f"row cannot be hashed: {e}")
        if stored_prev != prev:
            return broken(seq, "prev_hash does not match the previous event's hash")
        try:
            computed = event_hash(
                seq, stream_id, version, type_, actor, recorded_at, meta,
                None if body is None else bytes(body), stored_prev,
            )  # fmt: skip
        except (ValueError, TypeError, AttributeError) as e:
            # A column holding something no honest writer stores (wrong type,
            # undecodable text) is a break, not a crash of the verifier.
            return broken(seq, f"row cannot be hashed: {e}")
        if computed != stored_hash:
            return broken(seq, "hash does not match the event's contents")
        prev = computed
        checked += 1
        expected_seq += 1
        if progress is not None and checked % every == 0:
            progress(checked)
    return VerifyReport(True, checked, None, None, prev)


# --- the fast path -----------------------------------------------------------------
#
# verify_chain spends its time on three things per event: fetching the row,
# building the hashed message, and BLAKE2b itself. The fast path reads rows
# through the raw driver cursor (no SQLAlchemy Row objects), builds the
# message inline with precompiled structs (no call to event_hash, no range
# checks that seq == expected already implies), and on a large log spreads
# seq ranges over worker processes, which each fetch and hash their own range.
# It only ever *accepts* rows: at the first row it does not accept, the
# reference walk (_walk) takes over from the last accepted event and names
# the break exactly as verify_rows does.

#: The columns in hash order, as verify_rows takes them.
_COLUMNS = "seq, stream_id, version, type, actor, recorded_at, meta, body, prev_hash, hash"

#: Rows fetched from the database per round trip on the fast path (≈ 10 MB
#: for typical events): fewer, larger fetches are what makes the raw cursor
#: fast, notably through a PostgreSQL server-side cursor.
FETCH_ROWS = 10_000

#: Below this many events the worker processes cost more to start than they
#: save (about half a second each to import the package).
PARALLEL_MIN_EVENTS = 200_000

_PACK3 = struct.Struct(">QQQ").pack
_PACK1 = struct.Struct(">Q").pack
_NO_BODY = _PACK1(1) + b"\x00"
_THIRTY_TWO = _PACK1(HASH_SIZE)
_BODY_FLAG = b"\x01"


def _accepted(rows: Sequence[Any], expected_seq: int, prev: bytes) -> int:
    """How many leading ``rows`` chain on from ``(expected_seq, prev)``.

    The same encoding as :func:`event_hash`, inlined: this loop runs once per
    stored event and is the verifier's hot spot.
    """
    start = expected_seq
    blake2b = hashlib.blake2b
    join = b"".join
    pack3, pack1 = _PACK3, _PACK1
    no_body, flag, f_prev = _NO_BODY, _BODY_FLAG, _THIRTY_TWO
    try:
        for seq, stream, version, type_, actor, recorded, meta, body, prev_hash, hash_ in rows:
            if seq != expected_seq or prev_hash != prev:
                break
            # str.encode() without arguments is UTF-8, and skips the codec lookup.
            s = stream.encode()
            t = type_.encode()
            a = actor.encode()
            r = recorded.encode()
            m = meta.encode()
            # Two literal tuples rather than one with a starred tail: this is
            # the hot loop, and the star costs a list per row.
            if body is None:
                message = join(
                    (
                        pack3(8, seq, len(s)), s, pack3(8, version, len(t)), t,
                        pack1(len(a)), a, pack1(len(r)), r, pack1(len(m)), m,
                        no_body, f_prev, prev_hash,
                    )
                )  # fmt: skip
            else:
                message = join(
                    (
                        pack3(8, seq, len(s)), s, pack3(8, version, len(t)), t,
                        pack1(len(a)), a, pack1(len(r)), r, pack1(len(m)), m,
                        pack1(len(body) + 1), flag, body, f_prev, prev_hash,
                    )
                )  # fmt: skip
            digest = blake2b(message, digest_size=HASH_SIZE, person=PERSON).digest()
            if digest != hash_:
                break
            prev = digest
            expected_seq += 1
    except Exception:  # noqa: S110 - deliberately broad, see below
        # A row the fast loop cannot encode (a type no honest writer stores,
        # a version out of range…) is not accepted; the reference walk that
        # takes over at this row names what is wrong with it.
        pass
    return expected_seq - start


def _walk_fast(
    blocks: Iterator[Sequence[Any]],
    expected_seq: int,
    prev: bytes,
    batch: int,
    progress: Callable[[int], None] | None,
) -> VerifyReport:
    """Walk fetched blocks of rows; hand over to :func:`_walk` at the first rejected row."""
    checked = expected_seq - 1
    for block in blocks:
        for offset in range(0, len(block), batch):
            part = block[offset : offset + batch]
            good = _accepted(part, expected_seq, prev)
            if good:
                expected_seq += good
                checked += good
                prev = bytes(part[good - 1][9])
            if good < len(part):
                later = itertools.chain.from_iterable(blocks)
                rest = itertools.chain(block[offset + good :], later)
                return _walk(rest, expected_seq, prev, checked, progress, batch)
            if progress is not None:
                progress(checked)
    return VerifyReport(True, checked, None, None, prev)


def _blocks(cursor: Any, size: int) -> Iterator[Sequence[Any]]:
    while rows := cursor.fetchmany(size):
        yield rows


def verify_chain(
    engine: Engine,
    batch: int = 1000,
    progress: Callable[[int], None] | None = None,
    *,
    workers: int | None = None,
) -> VerifyReport:
    """Walk every stored event in ``seq`` order and check the hash chain.

    Reads one consistent snapshot of the log (a single read-only transaction;
    REPEATABLE READ on PostgreSQL, shared with the worker processes), so it
    neither sees a half-written append nor holds up writers. Memory stays
    bounded: rows are fetched :data:`FETCH_ROWS` (or ``batch``, if larger)
    at a time, through a server-side cursor on PostgreSQL.

    ``progress``, when given, is called with the number of events checked so
    far after every ``batch`` events (and on a large log, after every range a
    worker process verified; ranges are ``batch`` events long too).

    ``workers`` is the number of processes that fetch and hash seq ranges in
    parallel: by default one per CPU when the log holds at least
    :data:`PARALLEL_MIN_EVENTS` events, else none; ``workers=1`` keeps
    everything in this process. Whatever the workers report, a break is
    located and named by walking this process's snapshot from the start of
    the first range that did not verify, so the report is the same.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    backend = (engine.dialect.name, engine.dialect.driver)
    if backend not in (("sqlite", "pysqlite"), ("postgresql", "psycopg")):
        # Another driver: the portable (slower) walk through SQLAlchemy.
        # Imported here, not at the top: events.py imports this module for
        # event_hash, and this module's hashing part stays free of the table.
        return _walk(scan_rows(engine, after_seq=0, batch=batch), 1, GENESIS, 0, progress, batch)

    with engine.connect() as conn:
        snapshot = _begin_snapshot(conn)
        # seq > 0: the walk has always started after seq 0 (keyset paging
        # from 0), and a row renumbered below 1 is reported as the gap it leaves.
        head, count = conn.exec_driver_sql(
            "SELECT max(seq), count(*) FROM events WHERE seq > 0"
        ).one()
        start, prev = 1, GENESIS
        procs = _worker_count(engine, workers, int(count))
        # head == count: seqs 1..head with no gap, so ranges of seq are ranges
        # of rows. Otherwise something is broken and the walk below finds it.
        if procs > 1 and head == count:
            start, prev = _verify_ranges(engine, snapshot, int(head), batch, progress, procs)
        placeholder = "?" if backend[0] == "sqlite" else "%s"
        cursor = _cursor(conn)
        try:
            cursor.execute(
                f"SELECT {_COLUMNS} FROM events WHERE seq >= {placeholder} ORDER BY seq",  # noqa: S608 - constant text
                (start,),
            )
            blocks = _blocks(cursor, max(batch, FETCH_ROWS))
            return _walk_fast(blocks, start, prev, batch, progress)
        finally:
            cursor.close()


def _begin_snapshot(conn: Connection) -> str | None:
    """Begin the read-only transaction of the walk; the PostgreSQL snapshot id to share."""
    if conn.dialect.name == "sqlite":
        # Deferred BEGIN (see engine.READ_ONLY): in WAL mode the first read
        # fixes a snapshot without taking the write lock.
        read_only(conn)
        return None
    conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())


def _cursor(conn: Connection) -> Any:
    """A raw driver cursor inside ``conn``'s transaction (server-side on PostgreSQL)."""
    dbapi = conn.connection.driver_connection
    assert dbapi is not None  # a connection checked out of the pool has one
    if conn.dialect.name == "sqlite":
        # pysqlite steps through the result as fetchmany asks: memory stays bounded.
        return dbapi.cursor()
    # A named cursor is a server-side cursor: the server sends rows as they
    # are fetched instead of the whole result at once; binary saves parsing.
    return dbapi.cursor(name="visselpipa_verify", binary=True)


def _worker_count(engine: Engine, workers: int | None, events: int) -> int:
    if engine.dialect.name == "sqlite":
        database = engine.url.database or ""
        if database in ("", ":memory:") or "mode=memory" in database:
            return 1  # another process cannot open this connection's database
    if workers is not None:
        return max(workers, 1)
    return (os.cpu_count() or 1) if events >= PARALLEL_MIN_EVENTS else 1


def _verify_ranges(
    engine: Engine,
    snapshot: str | None,
    head: int,
    batch: int,
    progress: Callable[[int], None] | None,
    procs: int,
) -> tuple[int, bytes]:
    """Verify seqs 1..head in ranges of ``batch`` on ``procs`` worker processes.

    Each worker checks its range on its own (seqs from the range's start
    without a gap, each hash recomputed, each prev_hash equal to the hash
    before it); this process links the ranges: each range's first prev_hash
    must equal the previous range's last hash. Returns where the walk goes on
    (the first seq not verified here, and the hash before it).
    """
    args, params = engine.dialect.create_connect_args(engine.url)
    # Only plain values: the driver options SQLAlchemy adds (psycopg's
    # adapter context) cannot be sent to another process and are not needed
    # for reading these columns.
    params = {k: v for k, v in params.items() if isinstance(v, str | int | float | bool)}
    expected, prev = 1, GENESIS
    # spawn, not fork: a forked child would share the parent's pooled
    # database connections (and any thread's locks).
    context = multiprocessing.get_context("spawn")
    ranges = ((a, min(a + batch - 1, head)) for a in range(1, head + 1, batch))
    pool = ProcessPoolExecutor(
        procs,
        mp_context=context,
        initializer=_worker_connect,
        initargs=(engine.dialect.name, list(args), params, snapshot),
    )
    try:
        # A few ranges in flight per worker: enough to keep them busy, and
        # memory stays bounded however long the log is.
        pending: deque[tuple[int, int, Future[_RangeResult]]] = deque()
        for first, last in itertools.islice(ranges, 4 * procs):
            pending.append((first, last, pool.submit(_worker_range, (first, last))))
        while pending:
            first, last, future = pending.popleft()
            good, first_prev, last_hash = future.result()
            if good != last - first + 1 or first_prev != prev or last_hash is None:
                break  # the walk in verify_chain takes over from ``first``
            expected, prev = last + 1, last_hash
            if progress is not None:
                progress(last)
            for first, last in itertools.islice(ranges, 1):
                pending.append((first, last, pool.submit(_worker_range, (first, last))))
    except BrokenProcessPool:
        # The workers could not start (for instance a __main__ module that
        # runs its work on import, which spawn re-imports): not a verdict on
        # the chain. The walk in verify_chain goes on from the last good range.
        pass
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return expected, prev


#: A worker's answer for a range: (leading rows accepted, first prev_hash, last hash).
_RangeResult = tuple[int, bytes | None, bytes | None]

#: The worker process's own connection (set by _worker_connect), or None when
#: it could not connect: its ranges then come back unverified and the calling
#: process walks them itself.
_worker_db: Any = None
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+(-[0-9A-F]+)+")


def _worker_connect(
    backend: str, args: list[Any], params: dict[str, Any], snapshot: str | None
) -> None:
    global _worker_db
    try:
        if backend == "sqlite":
            # Each range is one SELECT, a consistent read of its own; the rows
            # up to the head the caller saw are committed and never change.
            _worker_db = sqlite3.connect(*args, **params)
            return
        import psycopg

        db = psycopg.connect(*args, **params, autocommit=True)
        if snapshot is None or not _SNAPSHOT_ID.fullmatch(snapshot):
            raise ValueError("no valid snapshot to share")
        db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        # The caller's snapshot: every worker reads exactly the rows it reads.
        # (The id is checked above; SET TRANSACTION takes no parameters.)
        db.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'".encode())
        _worker_db = db
    except Exception:  # noqa: S110 - must not raise, see below
        # An initializer that raises makes multiprocessing start the worker
        # again forever; without a connection the worker's ranges come back
        # unverified instead, and the caller verifies them itself.
        _worker_db = None


def _worker_range(bounds: tuple[int, int]) -> _RangeResult:
    """Check seqs ``first..last``: (leading rows accepted, first prev_hash, last hash)."""
    first, last = bounds
    if _worker_db is None:
        return 0, None, None
    try:
        if isinstance(_worker_db, sqlite3.Connection):
            query = f"SELECT {_COLUMNS} FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq"  # noqa: S608
            cursor = _worker_db.cursor()
        else:
            query = f"SELECT {_COLUMNS} FROM events WHERE seq >= %s AND seq <= %s ORDER BY seq"  # noqa: S608
            cursor = _worker_db.cursor(binary=True)
        try:
            cursor.execute(query, (first, last))
            rows = cursor.fetchall()  # at most ``batch`` rows
        finally:
            cursor.close()
        if not rows:
            return 0, None, None
        first_prev = bytes(rows[0][8])
        good = _accepted(rows, first, first_prev)
        return good, first_prev, (bytes(rows[good - 1][9]) if good else None)
    except Exception:
        # Reported as unverified, never as broken: the caller's reference
        # walk decides what a break is.
        return 0, None, None
