"""Mutable tables beside the event log: desks, staff, grants, reporter index, sessions, files.

Revision ID: 0002
Revises: 0001

These tables are deliberately mutable (see caseflow/store/records.py): grants
must be destroyable for crypto-shredding, sessions expire, and key material
is re-wrapped when a password changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desks",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("recovery_sealed_key", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desks")),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("key_salt", sa.LargeBinary(16), nullable=False),
        sa.Column("wrapped_private_key", sa.LargeBinary(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_username")),
    )
    op.create_table(
        "desk_members",
        sa.Column("desk_id", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(32), nullable=False),
        sa.Column("sealed_desk_key", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["desk_id"], ["desks.id"], name=op.f("fk_desk_members_desk_id_desks")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_desk_members_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("desk_id", "staff_id", name=op.f("pk_desk_members")),
    )
    op.create_table(
        "grants",
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(80), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "recipient", name=op.f("pk_grants")),
    )
    op.create_table(
        "reporter_index",
        sa.Column("lookup_tag", sa.LargeBinary(32), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("lookup_tag", name=op.f("pk_reporter_index")),
        sa.UniqueConstraint("case_id", name=op.f("uq_reporter_index_case_id")),
    )
    op.create_table(
        "reporter_sessions",
        sa.Column("id_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("purge_after_day", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_reporter_sessions")),
    )
    op.create_index(
        op.f("ix_reporter_sessions_purge_after_day"), "reporter_sessions", ["purge_after_day"]
    )
    op.create_table(
        "files",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("encrypted_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
    )
    op.create_index(op.f("ix_files_case_id"), "files", ["case_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_files_case_id"), table_name="files")
    op.drop_table("files")
    op.drop_index(op.f("ix_reporter_sessions_purge_after_day"), table_name="reporter_sessions")
    op.drop_table("reporter_sessions")
    op.drop_table("reporter_index")
    op.drop_table("grants")
    op.drop_table("desk_members")
    op.drop_table("staff")
    op.drop_table("desks")
