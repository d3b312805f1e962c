"""Staff notifications: an address and a switch per account, and the daily digests.

Revision ID: 0015
Revises: 0014

``staff.email`` and ``staff.mail_notifications`` are the member's own
choice (``/staff/notifications``): staff personal data, no reporter's.
``mail_digests`` and ``mail_digest_items`` record which day's digest was
made, what event of the log it covers up to, and which member's mail went
out (caseflow/store/notifications.py): days and counts only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, which SQLite can do: a batch rebuild of "staff" would
    # drop and recreate the table that desk_members refers to.
    op.add_column("staff", sa.Column("email", sa.String(254), nullable=True))
    op.add_column(
        "staff",
        sa.Column("mail_notifications", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "mail_digests",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("through_seq", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", sa.String(20), nullable=True),
        sa.Column("sent_on", sa.Date(), nullable=True),
        sa.Column("failure", sa.String(200), nullable=True),
        sa.Column("failed_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("day", name="pk_mail_digests"),
    )
    op.create_table(
        "mail_digest_items",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("staff_id", sa.String(32), nullable=False),
        sa.Column("counts", sa.String(200), nullable=False),
        sa.Column("sent", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("day", "staff_id", name="pk_mail_digest_items"),
    )


def downgrade() -> None:
    op.drop_table("mail_digest_items")
    op.drop_table("mail_digests")
    # SQLite 3.35 and later drop a column in place, as PostgreSQL does.
    op.drop_column("staff", "mail_notifications")
    op.drop_column("staff", "email")
