"""What the database holds of sealed files (caseflow/store/blobs.py), for assertions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from caseflow.store.blobs import blob_chunks_table


def stored_blob_ids(engine: Any) -> list[str]:
    """The ids of every blob with a row in the database, sorted."""
    t = blob_chunks_table
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(t.c.blob_id).distinct()).scalars())


def stored_blob(engine: Any, blob_id: str) -> bytes:
    """A blob's whole ciphertext, as the rows hold it."""
    t = blob_chunks_table
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.data).where(t.c.blob_id == blob_id).order_by(t.c.seq)
        ).scalars()
        return b"".join(bytes(r) for r in rows)
