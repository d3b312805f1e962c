"""Staff sign-in: sessions, second factor, recovery copies of user keys, throttling.

Revision ID: 0004
Revises: 0003

- ``staff`` gains the user key's recovery copy (sealed to the organisation
  recovery key), the TOTP secret (sealed to the user's own public key, so a
  stolen database cannot mint codes), a pending secret during enrolment and
  the last accepted TOTP time step (a code is never accepted twice).
- ``organisation_keys`` holds the public half of the offline recovery key.
- ``staff_sessions``: the server half of a staff session (see
  identity/staff_sessions.py).
- ``staff_recovery_codes``: Argon2id hashes of single-use recovery codes.
- ``login_throttle``: failed sign-ins per keyed hash of the typed username,
  in the database so that every worker and instance sees the same count.

All of these are deliberately mutable (see caseflow/store/records.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_STAFF_COLUMNS = ("recovery_sealed_key", "totp_sealed", "totp_pending_sealed", "totp_last_step")


def upgrade() -> None:
    # Nullable columns: SQLite adds them with a plain ALTER TABLE, without
    # rebuilding the table that desk_members refers to.
    op.add_column("staff", sa.Column("recovery_sealed_key", sa.LargeBinary(), nullable=True))
    op.add_column("staff", sa.Column("totp_sealed", sa.LargeBinary(), nullable=True))
    op.add_column("staff", sa.Column("totp_pending_sealed", sa.LargeBinary(), nullable=True))
    op.add_column("staff", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.create_table(
        "organisation_keys",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_organisation_keys")),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("staff_id", sa.String(32), nullable=False),
        sa.Column("sealed_private_key", sa.LargeBinary(), nullable=False),
        sa.Column("second_factor_done", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_sessions_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_staff_sessions")),
    )
    op.create_index(op.f("ix_staff_sessions_staff_id"), "staff_sessions", ["staff_id"])
    op.create_index(op.f("ix_staff_sessions_expires_at"), "staff_sessions", ["expires_at"])
    op.create_table(
        "staff_recovery_codes",
        sa.Column("staff_id", sa.String(32), nullable=False),
        sa.Column("selector", sa.String(8), nullable=False),
        sa.Column("code_hash", sa.String(255), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_recovery_codes_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("staff_id", "selector", name=op.f("pk_staff_recovery_codes")),
    )
    op.create_table(
        "login_throttle",
        sa.Column("key_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_login_throttle")),
    )
    op.create_index(op.f("ix_login_throttle_updated_at"), "login_throttle", ["updated_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_login_throttle_updated_at"), table_name="login_throttle")
    op.drop_table("login_throttle")
    op.drop_table("staff_recovery_codes")
    op.drop_index(op.f("ix_staff_sessions_expires_at"), table_name="staff_sessions")
    op.drop_index(op.f("ix_staff_sessions_staff_id"), table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("organisation_keys")
    with op.batch_alter_table("staff") as batch:
        for column in _STAFF_COLUMNS:
            batch.drop_column(column)
