"""Published figures: what each report revealed, kept so later reports protect against it.

Revision ID: 0010
Revises: 0009

One row per figure of a published report (caseflow/store/publications.py).
Like the event log, the table refuses UPDATE and DELETE: a figure once
published is a fact outside the building, and the suppression of later
reports of the year depends on it being exactly what was printed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER published_figures_no_update BEFORE UPDATE ON published_figures
    BEGIN SELECT RAISE(ABORT, 'published figures are kept as published'); END
    """,
    """
    CREATE TRIGGER published_figures_no_delete BEFORE DELETE ON published_figures
    BEGIN SELECT RAISE(ABORT, 'published figures are kept as published'); END
    """,
]

POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION published_figures_kept() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'published figures are kept as published';
    END
    $$
    """,
    """
    CREATE TRIGGER published_figures_no_update_or_delete
    BEFORE UPDATE OR DELETE ON published_figures
    FOR EACH ROW EXECUTE FUNCTION published_figures_kept()
    """,
    """
    CREATE TRIGGER published_figures_no_truncate BEFORE TRUNCATE ON published_figures
    FOR EACH STATEMENT EXECUTE FUNCTION published_figures_kept()
    """,
]


def upgrade() -> None:
    op.create_table(
        "published_figures",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("ref", sa.String(120), nullable=False),
        sa.Column("shown", sa.String(16), nullable=False),
        sa.Column("protect", sa.Boolean(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "period", "ref", name=op.f("pk_published_figures")),
    )
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        statements = SQLITE_TRIGGERS
    elif dialect == "postgresql":
        statements = POSTGRESQL_TRIGGERS
    else:
        # Failing closed, as for the event log: figures that could be edited
        # after publication would let a later report be protected against
        # something other than what was printed.
        raise NotImplementedError(f"no keep-as-published triggers for {dialect}")
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS published_figures_no_truncate ON published_figures")
        op.execute(
            "DROP TRIGGER IF EXISTS published_figures_no_update_or_delete ON published_figures"
        )
        op.execute("DROP FUNCTION IF EXISTS published_figures_kept()")
    op.drop_table("published_figures")
