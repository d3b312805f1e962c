"""Sealed files inside the database: rows of ciphertext, written and read in constant memory.

A sealed attachment (the format of :mod:`crypto.files`) is stored as rows of
``blob_chunks``: the ciphertext cut into pieces of :data:`ROW_BYTES`, each
row written in a short transaction of its own as the upload streams in, and
read back one row at a time. Nothing of a file is ever a file on the
server's disk, so no file or directory time records when a reporter
uploaded: the database files change with every write by anyone
(SECURITY.md, "Known limits").

Each row carries the *day* it was written (days since 1970-01-01), nothing
finer: the sweep uses it to remove what a request that died half-way left
behind (rows no ``files`` row references, at least a day old).

Why rows and not SQLite's incremental blob I/O or PostgreSQL's large
objects: both stream, but each is a different API with its own failure
modes (large objects live outside the table, so a deleted row leaves them
behind unless ``lo_unlink`` runs; a backup must ask for them), while rows of
a plain ``bytea``/BLOB column are one portable table that ``pg_dump``, the
SQLite backup API and the foreign keys already treat like everything else.
A 1 MiB row costs one memory buffer per upload and one INSERT per MiB.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Column, Integer, LargeBinary, String, Table
from sqlalchemy.engine import Engine

from caseflow.store.metadata import metadata

blob_chunks_table = Table(
    "blob_chunks",
    metadata,
    Column("blob_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    # Days since 1970-01-01 (UTC) when the row was written: never a time of day.
    Column("day", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

#: The ciphertext held by one row (the last row of a blob may hold less).
ROW_BYTES = 1 << 20

_EPOCH = date(1970, 1, 1)


def day_number(day: date) -> int:
    return (day - _EPOCH).days


def _today() -> int:
    return day_number(datetime.now(UTC).date())


class BlobWriter(io.RawIOBase):
    """A write-only stream into a new blob: full rows are stored as they fill.

    Holds at most one row of ciphertext in memory. :meth:`finish` stores the
    last row and returns the blob's size; :meth:`discard` deletes what was
    stored. A database error (a full disk, a lost connection) propagates
    from :meth:`write` or :meth:`finish`; the caller discards.
    """

    def __init__(self, engine: Engine, blob_id: str) -> None:
        super().__init__()
        self.engine = engine
        self.blob_id = blob_id
        self._buffer = bytearray()
        self._seq = 0
        self._size = 0
        self._day = _today()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._buffer += view
        self._size += len(view)
        while len(self._buffer) >= ROW_BYTES:
            self._store(bytes(self._buffer[:ROW_BYTES]))
            del self._buffer[:ROW_BYTES]
        return len(view)

    def _store(self, piece: bytes) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(blob_chunks_table).values(
                    blob_id=self.blob_id, seq=self._seq, day=self._day, data=piece
                )
            )
        self._seq += 1

    def finish(self) -> int:
        """Store what is buffered; the blob is complete. Returns its size in bytes."""
        if self._buffer or self._seq == 0:
            self._store(bytes(self._buffer))
            self._buffer.clear()
        return self._size

    def discard(self) -> None:
        self._buffer.clear()
        delete_blobs(self.engine, [self.blob_id])


class BlobReader(io.RawIOBase):
    """A readable stream over a stored blob, one row in memory at a time.

    Each row is read in a short read of its own, so a slow download holds no
    transaction open. A blob with no rows reads as empty (the sealed format
    rejects it as truncated).
    """

    def __init__(self, engine: Engine, blob_id: str) -> None:
        super().__init__()
        self.engine = engine
        self.blob_id = blob_id
        self._seq = 0
        self._row = b""
        self._offset = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while self._offset >= len(self._row):
            if self._done:
                return 0
            self._next_row()
        n = min(len(target), len(self._row) - self._offset)
        target[:n] = self._row[self._offset : self._offset + n]
        self._offset += n
        return n

    def _next_row(self) -> None:
        t = blob_chunks_table
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.c.data).where(t.c.blob_id == self.blob_id, t.c.seq == self._seq)
            ).scalar()
        if row is None:
            self._done = True
            self._row, self._offset = b"", 0
            return
        self._row, self._offset = bytes(row), 0
        self._seq += 1


def open_blob(engine: Engine, blob_id: str) -> io.BufferedReader:
    return io.BufferedReader(BlobReader(engine, blob_id), buffer_size=65536)


def blob_exists(conn: sa.Connection, blob_id: str) -> bool:
    t = blob_chunks_table
    found = conn.execute(sa.select(t.c.seq).where(t.c.blob_id == blob_id, t.c.seq == 0)).first()
    return found is not None


def delete_blobs(engine: Engine, blob_ids: Iterable[str]) -> None:
    ids = list(blob_ids)
    if ids:
        with engine.begin() as conn:
            conn.execute(sa.delete(blob_chunks_table).where(blob_chunks_table.c.blob_id.in_(ids)))


def sweep_orphans(engine: Engine, today: date, referenced: sa.ColumnElement[Any]) -> int:
    """Delete blobs that ``referenced`` (a column of blob ids) does not name and
    whose newest row was written before yesterday. Returns how many blobs went.

    A request stores its ``files`` row within seconds of its last blob row,
    so "written before the start of yesterday" never takes a request still
    in progress.
    """
    t = blob_chunks_table
    cutoff = day_number(today) - 1
    orphans = (
        sa.select(t.c.blob_id)
        .where(t.c.blob_id.not_in(sa.select(referenced)))
        .group_by(t.c.blob_id)
        .having(sa.func.max(t.c.day) < cutoff)
    )
    with engine.begin() as conn:
        ids = list(conn.execute(orphans).scalars())
        if ids:
            conn.execute(sa.delete(t).where(t.c.blob_id.in_(ids)))
    return len(ids)
