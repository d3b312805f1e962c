"""The Merkle tree of the event log: every perfect subtree's hash.

Revision ID: 0008
Revises: 0007

``merkle_nodes(level, idx, hash)`` holds the hash of the perfect subtree of
2^level leaves starting at leaf ``idx * 2^level`` (RFC 9162 tree hashing,
leaf ``seq - 1`` = the event's chain hash; caseflow/store/tree.py). The
event store fills it as it appends; this revision builds it once for the
events already stored, so that an older database gets proofs for its whole
history. Checkpoints signed before this revision stay as they are (version
1, verified by their chain hash).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from caseflow.store.merkle import Frontier

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BATCH = 10_000


def upgrade() -> None:
    nodes = op.create_table(
        "merkle_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_merkle_nodes")),
    )
    conn = op.get_bind()
    frontier = Frontier()
    after = 0
    while True:
        # Keyset paging by seq; a log with a gap is left for verify to name:
        # the tree is built over the rows as they are, in seq order.
        found = conn.execute(
            sa.text("SELECT seq, hash FROM events WHERE seq > :a ORDER BY seq LIMIT :n"),
            {"a": after, "n": _BATCH},
        ).all()
        hashes = [bytes(row.hash) for row in found]
        if not hashes:
            break
        rows = frontier.extend(hashes, collect=True)
        op.bulk_insert(nodes, [{"level": lv, "idx": ix, "hash": h} for lv, ix, h in rows])
        after = int(found[-1].seq)
        if len(hashes) < _BATCH:
            break


def downgrade() -> None:
    op.drop_table("merkle_nodes")
