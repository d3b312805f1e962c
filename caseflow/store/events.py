"""The append-only event log: the ``events`` table and :class:`EventStore`.

One table holds every event of every stream (a case, a user, a desk…). Each
row has a global ``seq`` (1, 2, 3… in commit order), a ``version`` within its
stream (unique together with the stream: optimistic concurrency), and a hash
chain over all columns (see :mod:`caseflow.store.chain`). The database refuses
UPDATE and DELETE on the table (triggers created by migration 0001).

What is stored in clear: ``stream_id``, ``type``, ``actor`` (a role or a
pseudonymous id, never a person's address), ``recorded_at`` and ``meta``
(non-identifying routing metadata). Everything else goes into ``body``, which
the store treats as opaque sealed bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from caseflow.store.engine import READ_ONLY, read_only
from caseflow.store.errors import ConcurrencyConflict, StoreError
from caseflow.store.hashing import GENESIS, event_hash
from caseflow.store.metadata import metadata
from caseflow.store.tree import add_leaves

JSONValue: TypeAlias = (
    "str | int | float | bool | None | Sequence[JSONValue] | Mapping[str, JSONValue]"
)

STREAM_ID_MAX = 64
TYPE_MAX = 100
ACTOR_MAX = 100
RECORDED_AT_MAX = 32

#: Key of the PostgreSQL advisory lock that serialises appenders ("VPEVENTS"
#: in ASCII). One global lock, because there is one global chain.
APPEND_LOCK_KEY = 0x5650_4556_454E_5453

events_table = Table(
    "events",
    metadata,
    # Assigned by the store (head + 1), never by a sequence: a sequence leaves
    # gaps on rollback, and a gap must mean tampering.
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("stream_id", String(STREAM_ID_MAX), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(TYPE_MAX), nullable=False),
    Column("actor", String(ACTOR_MAX), nullable=False),
    Column("recorded_at", String(RECORDED_AT_MAX), nullable=False),
    Column("meta", Text, nullable=False),
    Column("body", LargeBinary, nullable=True),
    Column("prev_hash", LargeBinary(32), nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    # Its index (stream_id, version) also serves every lookup by stream_id,
    # so the table carries no separate index on stream_id.
    UniqueConstraint("stream_id", "version"),
)


def canonical_json(meta: Mapping[str, JSONValue]) -> str:
    """Serialise ``meta`` the one way the store writes it (and hashes it)."""

    def plain(value: object) -> object:
        if isinstance(value, Mapping):
            return dict(value)
        raise TypeError(f"not JSON-serialisable: {type(value).__name__}")

    return json.dumps(
        meta,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        # NaN and Infinity are not JSON: another verifier could not parse them.
        allow_nan=False,
        default=plain,
    )


def _check_text(name: str, value: object, limit: int) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    # The limit is checked here rather than left to the database because
    # SQLite does not enforce VARCHAR lengths; both backends must agree.
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    if "\x00" in value:
        raise ValueError(f"{name} must not contain NUL (PostgreSQL text cannot hold it)")


@dataclass(frozen=True)
class NewEvent:
    """An event to append; the store assigns seq, version and hashes.

    ``recorded_at`` is ISO text at the precision the caller chose: reporter
    events carry a day ('YYYY-MM-DD'), because a minute can identify someone.
    ``meta`` is stored in clear, so it must hold nothing identifying; ``body``
    is sealed ciphertext (or None).
    """

    type: str
    actor: str
    recorded_at: str
    meta: Mapping[str, JSONValue] = field(default_factory=dict)
    body: bytes | None = None

    def __post_init__(self) -> None:
        _check_text("type", self.type, TYPE_MAX)
        _check_text("actor", self.actor, ACTOR_MAX)
        _check_text("recorded_at", self.recorded_at, RECORDED_AT_MAX)
        if not isinstance(self.meta, Mapping):
            raise TypeError("meta must be a mapping")
        if self.body is not None and not isinstance(self.body, bytes):
            raise TypeError(f"body must be bytes or None, got {type(self.body).__name__}")


@dataclass(frozen=True)
class RecordedEvent:
    """An event as stored: every column, with ``meta`` parsed back to a dict.

    ``meta_json`` is the stored text itself, which is what the hash covers.
    """

    seq: int
    stream_id: str
    version: int
    type: str
    actor: str
    recorded_at: str
    meta: dict[str, Any]
    meta_json: str
    body: bytes | None
    prev_hash: bytes
    hash: bytes


def recorded_event(row: Row[Any]) -> RecordedEvent:
    """A row of ``events`` as a :class:`RecordedEvent` (``meta`` parsed)."""
    return _recorded(row)


def _recorded(row: Row[Any]) -> RecordedEvent:
    return RecordedEvent(
        seq=row.seq,
        stream_id=row.stream_id,
        version=row.version,
        type=row.type,
        actor=row.actor,
        recorded_at=row.recorded_at,
        meta=json.loads(row.meta),
        meta_json=row.meta,
        body=None if row.body is None else bytes(row.body),
        prev_hash=bytes(row.prev_hash),
        hash=bytes(row.hash),
    )


def scan_rows(engine: Engine, after_seq: int = 0, batch: int = 1000) -> Iterator[Row[Any]]:
    """Yield raw rows with ``seq > after_seq`` in seq order, ``batch`` at a time.

    Each batch is read in its own short read-only transaction, and the next
    batch starts after the last seq seen (keyset paging). This is consistent
    because seqs become visible in order: appenders are serialised and a seq
    is assigned only after the previous one committed.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    t = events_table
    while True:
        with engine.connect() as conn:
            rows = (
                read_only(conn)
                .execute(select(t).where(t.c.seq > after_seq).order_by(t.c.seq).limit(batch))
                .all()
            )
        yield from rows
        if len(rows) < batch:
            return
        after_seq = rows[-1].seq


def _checked(stream_id: str, expected_version: int) -> None:
    _check_text("stream_id", stream_id, STREAM_ID_MAX)
    if expected_version < 0:
        raise ValueError("expected_version must be 0 or more")


class EventStore:
    """Append to and read the event log.

    Appends are serialised across every writer (an advisory lock on
    PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite, see :mod:`.engine`), so the
    global chain stays linear however many app instances write.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(
        self,
        conn: Connection,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
    ) -> list[RecordedEvent]:
        """Append ``events`` to ``stream_id`` inside the caller's transaction on ``conn``.

        ``expected_version`` is the stream's version the caller decided on (0
        for a new stream). Raises :class:`ConcurrencyConflict` if the stream
        has moved on; the caller's transaction must then be rolled back.
        Nothing is written for an empty ``events``.

        .. warning::
           On PostgreSQL this takes a transaction-wide lock that every other
           appender waits for until the caller commits: keep the transaction
           short, and run it at READ COMMITTED (the default). At REPEATABLE
           READ or SERIALIZABLE the snapshot may predate the lock, and appends
           fail with :class:`ConcurrencyConflict` instead of chaining.
        """
        return self.append_batch(conn, [(stream_id, expected_version, events)])

    def append_batch(
        self,
        conn: Connection,
        appends: Sequence[tuple[str, int, Sequence[NewEvent]]],
    ) -> list[RecordedEvent]:
        """Append to several streams at once: ``(stream_id, expected_version, events)`` each.

        The same checks and the same chain as :meth:`append`, in one version
        query, one head read and one INSERT, for writers that touch many
        streams in one transaction (the tick). All or nothing: a moved stream
        raises :class:`ConcurrencyConflict` and the caller rolls back.
        """
        for stream_id, expected_version, _events in appends:
            _checked(stream_id, expected_version)
        # Nothing is written for a stream with no events (not even a version check).
        appends = [append for append in appends if append[2]]
        if not appends:
            return []
        if len({stream_id for stream_id, _, _ in appends}) != len(appends):
            raise ValueError("each stream may appear once in a batch")
        if conn.get_execution_options().get(READ_ONLY):
            raise StoreError("append needs a writing connection, not a read-only one")
        if conn.dialect.name == "postgresql":
            # Taken before reading the head, so that no other appender can
            # read the same head; released by the caller's commit or rollback.
            conn.execute(select(func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))
        # On SQLite the transaction began with BEGIN IMMEDIATE (engine.py) and
        # already holds the database's single write lock.

        current = self.stream_versions(conn, [stream_id for stream_id, _, _ in appends])
        for stream_id, expected_version, _events in appends:
            if current.get(stream_id, 0) != expected_version:
                raise ConcurrencyConflict(stream_id, expected_version, current.get(stream_id, 0))

        seq, prev = self.head(conn)
        size = seq
        recorded: list[RecordedEvent] = []
        for stream_id, expected_version, events in appends:
            for offset, new in enumerate(events, start=1):
                seq += 1
                meta_json = canonical_json(new.meta)
                version = expected_version + offset
                digest = event_hash(
                    seq, stream_id, version, new.type, new.actor, new.recorded_at,
                    meta_json, new.body, prev,
                )  # fmt: skip
                recorded.append(
                    RecordedEvent(
                        seq=seq,
                        stream_id=stream_id,
                        version=version,
                        type=new.type,
                        actor=new.actor,
                        recorded_at=new.recorded_at,
                        meta=json.loads(meta_json),
                        meta_json=meta_json,
                        body=new.body,
                        prev_hash=prev,
                        hash=digest,
                    )
                )
                prev = digest

        try:
            conn.execute(
                insert(events_table),
                [
                    {
                        "seq": e.seq,
                        "stream_id": e.stream_id,
                        "version": e.version,
                        "type": e.type,
                        "actor": e.actor,
                        "recorded_at": e.recorded_at,
                        "meta": e.meta_json,
                        "body": e.body,
                        "prev_hash": e.prev_hash,
                        "hash": e.hash,
                    }
                    for e in recorded
                ],
            )
        except IntegrityError as e:
            # Only the unique keys can fail here (the values were checked
            # above): (stream_id, version), or seq when a writer bypassed the
            # serialisation. Either way another append won; retrying helps.
            first, expected, _ = appends[0]
            raise ConcurrencyConflict(first, expected) from e
        # The Merkle tree grows in the same transaction, under the same lock:
        # leaf seq - 1 is the event's chain hash (caseflow.store.tree).
        add_leaves(conn, size, [e.hash for e in recorded])
        return recorded

    def append_now(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[RecordedEvent]:
        """Append in a transaction of its own, committed before returning."""
        with self.engine.begin() as conn:
            return self.append(conn, stream_id, expected_version, events)

    def stream_versions(self, conn: Connection, stream_ids: Sequence[str]) -> dict[str, int]:
        """The current version of each of ``stream_ids`` that has events."""
        t = events_table
        found: dict[str, int] = {}
        for start in range(0, len(stream_ids), 500):
            part = list(stream_ids[start : start + 500])
            rows = conn.execute(
                select(t.c.stream_id, func.max(t.c.version))
                .where(t.c.stream_id.in_(part))
                .group_by(t.c.stream_id)
            )
            found.update({stream_id: int(version) for stream_id, version in rows})
        return found

    def stream_version(self, conn: Connection, stream_id: str) -> int:
        """The stream's current version: its number of events (0 if it has none)."""
        t = events_table
        version = conn.execute(
            select(func.max(t.c.version)).where(t.c.stream_id == stream_id)
        ).scalar_one()
        return 0 if version is None else int(version)

    def read_stream(self, stream_id: str, conn: Connection | None = None) -> list[RecordedEvent]:
        """Every event of ``stream_id``, by version (an empty list for an unknown stream)."""
        t = events_table
        query = select(t).where(t.c.stream_id == stream_id).order_by(t.c.version)
        if conn is not None:
            return [_recorded(row) for row in conn.execute(query)]
        with self.engine.connect() as own:
            return [_recorded(row) for row in read_only(own).execute(query)]

    def read_all(self, after_seq: int = 0, batch: int = 1000) -> Iterator[RecordedEvent]:
        """Every event with ``seq > after_seq``, in seq order, read ``batch`` at a time."""
        for row in scan_rows(self.engine, after_seq, batch):
            yield _recorded(row)

    def head(self, conn: Connection | None = None) -> tuple[int, bytes]:
        """The newest event's (seq, hash); ``(0, GENESIS)`` when the log is empty."""
        t = events_table
        query = select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)
        if conn is not None:
            row = conn.execute(query).first()
        else:
            with self.engine.connect() as own:
                row = read_only(own).execute(query).first()
        if row is None:
            return 0, GENESIS
        return int(row.seq), bytes(row.hash)
