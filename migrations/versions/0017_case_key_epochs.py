"""Content-key epochs: ``grants.epoch`` in the primary key, and ``retired_desk_keys``.

Revision ID: 0017
Revises: 0016

Each case key becomes the key of an epoch: a member leaving a desk starts a
new epoch with a new random key for every case of that desk, so what is
sealed afterwards is under a key the leaver never held (identity/desk_keys.py,
identity/case_epochs.py). Every existing grant is the key of epoch 1:
the column's server default gives it that value. Items already stored carry
no ``epoch`` in their meta, which reads as 1.

``retired_desk_keys`` keeps an older desk key version sealed to each member
who held it (and to the recovery key) after a rotation made without that key
in hand, until a member re-seals the older grants to the newest key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot change a primary key in place (the table is
    # copied); PostgreSQL alters it.
    with op.batch_alter_table("grants", recreate="auto") as batch:
        batch.add_column(sa.Column("epoch", sa.Integer(), nullable=False, server_default="1"))
        batch.drop_constraint("pk_grants", type_="primary")
        batch.create_primary_key("pk_grants", ["case_id", "recipient", "epoch"])
    op.create_table(
        "retired_desk_keys",
        sa.Column("desk_id", sa.String(64), nullable=False),
        sa.Column("key_version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(32), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["desk_id"], ["desks.id"], name=op.f("fk_retired_desk_keys_desk_id_desks")
        ),
        sa.PrimaryKeyConstraint(
            "desk_id", "key_version", "holder", name=op.f("pk_retired_desk_keys")
        ),
    )


def downgrade() -> None:
    # Only epoch 1 can go back: later epochs' keys would be lost.
    conn = op.get_bind()
    later = conn.execute(sa.text("SELECT COUNT(*) FROM grants WHERE epoch <> 1")).scalar_one()
    if later:
        raise RuntimeError("grants of later epochs exist: a downgrade would lose their keys")
    op.drop_table("retired_desk_keys")
    with op.batch_alter_table("grants", recreate="auto") as batch:
        batch.drop_constraint("pk_grants", type_="primary")
        batch.create_primary_key("pk_grants", ["case_id", "recipient"])
        batch.drop_column("epoch")
