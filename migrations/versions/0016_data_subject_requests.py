"""Data-subject requests: each request, the decision on it and its legal ground.

Revision ID: 0016
Revises: 0015

One row per request from a data subject (caseflow/store/data_subject_requests.py).
No reporter data and no name: the requester is named by the registration
number the agency's records system gave the request. Days only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_subject_requests",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(80), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("legal_ground", sa.Text(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_data_subject_requests"),
    )


def downgrade() -> None:
    op.drop_table("data_subject_requests")
