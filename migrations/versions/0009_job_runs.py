"""Job runs: the day ``tick`` last succeeded, how long it took, the day it last failed.

Revision ID: 0009
Revises: 0008

``visselpipa check`` and ``/metrics`` read it so the operator learns when
the timer has not run for a day (caseflow/store/operations.py). Days only,
no time of day.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("last_success_on", sa.Date(), nullable=True),
        sa.Column("last_seconds", sa.Float(), nullable=True),
        sa.Column("last_failure_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("job", name="pk_job_runs"),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
