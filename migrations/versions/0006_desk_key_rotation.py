"""Desk key rotation: a flag for a rotation the next key holder performs.

Revision ID: 0006
Revises: 0005

Removing a desk member in the browser is done by an administrator, who holds
no desk key; ``rotation_due`` asks the next member who opens the desk key to
rotate it (identity/desk_keys.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("desks") as batch:
        batch.add_column(
            sa.Column("rotation_due", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("desks") as batch:
        batch.drop_column("rotation_due")
