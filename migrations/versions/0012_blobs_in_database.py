"""Sealed files move into the database: ``blob_chunks`` (caseflow/store/blobs.py).

Revision ID: 0012
Revises: 0011

Until now each sealed attachment was a file ``<data_dir>/blobs/<id>``; its
inode change time kept the moment of the upload to the nanosecond. The
upgrade copies every blob that a ``files`` row references into rows of
ciphertext (1 MiB each, dated by the file's day), in the migration's one
transaction; ``visselpipa migrate`` then deletes the copied files
(:func:`app.cli.remove_migrated_blobs`). Files no row references are orphans
of failed requests and are not copied.

The directory is passed as ``context.config.attributes["data_dir"]``
(``visselpipa init`` and ``migrate`` do). Run without it (the bare
``alembic`` command) on a database that has files, the upgrade stops: the
files would otherwise be left behind unreadable.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ROW_BYTES = 1 << 20  # caseflow.store.blobs.ROW_BYTES, frozen here


def upgrade() -> None:
    op.create_table(
        "blob_chunks",
        sa.Column("blob_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("blob_id", "seq", name="pk_blob_chunks"),
    )
    conn = op.get_bind()
    files = sa.table("files", sa.column("id", sa.String))
    ids = list(conn.execute(sa.select(files.c.id)).scalars())
    if not ids:
        return
    data_dir = context.config.attributes.get("data_dir")
    if data_dir is None:
        raise RuntimeError(
            "this database has sealed files under <data_dir>/blobs: upgrade it with "
            "`visselpipa migrate`, which knows the data directory"
        )
    chunks = sa.table(
        "blob_chunks",
        sa.column("blob_id", sa.String),
        sa.column("seq", sa.Integer),
        sa.column("day", sa.Integer),
        sa.column("data", sa.LargeBinary),
    )
    directory = Path(data_dir) / "blobs"
    epoch = date(1970, 1, 1)
    for blob_id in ids:
        path = directory / blob_id
        if not path.is_file():
            continue  # already lost before the upgrade; the case page says so
        day = (datetime.fromtimestamp(path.stat().st_mtime, UTC).date() - epoch).days
        with path.open("rb") as source:
            seq = 0
            while True:
                piece = source.read(ROW_BYTES)
                if not piece and seq > 0:
                    break
                conn.execute(
                    sa.insert(chunks).values(blob_id=blob_id, seq=seq, day=day, data=piece)
                )
                seq += 1
                if len(piece) < ROW_BYTES:
                    break


def downgrade() -> None:
    op.drop_table("blob_chunks")
