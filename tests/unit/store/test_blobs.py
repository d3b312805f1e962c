"""Sealed files as rows: what is written comes back byte for byte, and a dead upload is swept."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseflow.store import blobs, migrate
from caseflow.store.blobs import BlobWriter, blob_chunks_table, open_blob, sweep_orphans
from caseflow.store.records import files_table


@pytest.fixture
def store(engine):
    migrate(engine)
    return engine


def _rows(engine, blob_id: str) -> list[int]:
    t = blob_chunks_table
    with engine.connect() as conn:
        return [
            len(r)
            for r in conn.execute(
                sa.select(t.c.data).where(t.c.blob_id == blob_id).order_by(t.c.seq)
            ).scalars()
        ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pieces=st.lists(st.binary(max_size=40), max_size=12), read_size=st.integers(1, 50))
def test_what_is_written_in_any_pieces_reads_back_whole(store, monkeypatch, pieces, read_size):
    monkeypatch.setattr(blobs, "ROW_BYTES", 16)  # many rows from a few bytes
    blob_id = f"b{abs(hash((tuple(pieces), read_size))):x}"[:32]
    writer = BlobWriter(store, blob_id)
    for piece in pieces:
        assert writer.write(piece) == len(piece)
    data = b"".join(pieces)
    assert writer.finish() == len(data)
    # Full rows of ROW_BYTES, then the rest: memory holds one row at most.
    sizes = _rows(store, blob_id)
    assert all(size == 16 for size in sizes[:-1]) and sum(sizes) == len(data)
    with open_blob(store, blob_id) as reader:
        back = bytearray()
        while chunk := reader.read(read_size):
            back += chunk
    assert bytes(back) == data
    writer.discard()
    assert _rows(store, blob_id) == []


def test_a_blob_with_no_rows_reads_as_empty(store):
    with open_blob(store, "0" * 32) as reader:
        assert reader.read() == b""


def test_the_sweep_takes_only_unreferenced_blobs_written_before_yesterday(store):
    today = date(2026, 12, 3)
    epoch_day = (today - date(1970, 1, 1)).days
    t = blob_chunks_table
    with store.begin() as conn:
        conn.execute(
            sa.insert(t),
            [
                {"blob_id": "kept", "seq": 0, "day": epoch_day - 9, "data": b"x"},
                {"blob_id": "dead", "seq": 0, "day": epoch_day - 2, "data": b"x"},
                # An upload that began the day before yesterday and is still
                # being written: its newest row counts.
                {"blob_id": "slow", "seq": 0, "day": epoch_day - 2, "data": b"x"},
                {"blob_id": "slow", "seq": 1, "day": epoch_day, "data": b"x"},
                {"blob_id": "young", "seq": 0, "day": epoch_day - 1, "data": b"x"},
            ],
        )
        conn.execute(sa.insert(files_table).values(id="kept", case_id="c", encrypted_bytes=1))
    assert sweep_orphans(store, today, files_table.c.id) == 1
    with store.connect() as conn:
        left = set(conn.execute(sa.select(t.c.blob_id).distinct()).scalars())
    assert left == {"kept", "slow", "young"}
    assert sweep_orphans(store, today + timedelta(days=1), files_table.c.id) == 1  # young
    assert sweep_orphans(store, today + timedelta(days=2), files_table.c.id) == 1  # slow
