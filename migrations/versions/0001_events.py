"""The append-only event log: the events table and the triggers that keep it so.

Revision ID: 0001
Revises:

Creates ``events`` (see caseflow/store/events.py for the model it matches and
caseflow/store/chain.py for the hash chain over its rows) and makes the
database itself refuse to change stored events:

- SQLite: BEFORE UPDATE and BEFORE DELETE triggers that abort.
- PostgreSQL: the function ``events_append_only()`` raising "events are
  append-only", called by a BEFORE UPDATE OR DELETE row trigger and a BEFORE
  TRUNCATE statement trigger. If the role ``visselpipa_app`` exists (the role
  the application connects as in production), UPDATE, DELETE and TRUNCATE on
  ``events`` are also revoked from it, so that even dropping the triggers
  would not let the application rewrite history. That role must not own the
  table (an owner can drop triggers and grant itself privileges back): run
  migrations as a separate owner role and grant ``visselpipa_app`` only
  SELECT and INSERT on ``events``.

Triggers do not stop DROP TABLE or a superuser; the hash chain and signed
checkpoints are what detect such tampering.

On SQLite, a later revision that alters ``events`` in batch mode rebuilds the
table and so drops these triggers: it must create them again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END
    """,
    """
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END
    """,
]

POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'events are append-only';
    END
    $$
    """,
    """
    CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only()
    """,
    """
    CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()
    """,
    """
    DO $$
    BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'visselpipa_app') THEN
            REVOKE UPDATE, DELETE, TRUNCATE ON events FROM visselpipa_app;
        END IF;
    END
    $$
    """,
]


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("stream_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("prev_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("stream_id", "version", name=op.f("uq_events_stream_id_version")),
    )
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        statements = SQLITE_TRIGGERS
    elif dialect == "postgresql":
        statements = POSTGRESQL_TRIGGERS
    else:
        # Failing closed: an events table the database would let us rewrite
        # is not the store this system promises.
        raise NotImplementedError(f"no append-only triggers for {dialect}")
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
        op.execute("DROP TRIGGER IF EXISTS events_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_no_truncate ON events")
        op.execute("DROP TRIGGER IF EXISTS events_no_update_or_delete ON events")
        op.execute("DROP FUNCTION IF EXISTS events_append_only()")
    op.drop_table("events")
