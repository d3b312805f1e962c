"""Staff names: ``staff.display_name`` and ``staff.other_names``.

Revision ID: 0014
Revises: 0013

A member's name and the other names they are known by (one per line),
matched against a report's "who was involved" before it is sealed, so that
a member named in a report is recused at intake (identity/names.py). Both
are nullable: accounts made before have no names until an administrator
gives them (`/staff/admin`, or `visselpipa add-user --display-name`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns: SQLite adds them without rebuilding the table.
    op.add_column("staff", sa.Column("display_name", sa.String(200), nullable=True))
    op.add_column("staff", sa.Column("other_names", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("other_names")
        batch.drop_column("display_name")
