"""Projections: case index, findings, sanction proposals, agency flags, position.

Revision ID: 0003
Revises: 0002

Read models derived from the event log (see caseflow/store/projections.py).
They can be dropped and rebuilt at any time with
``visselpipa rebuild-projections``; this migration only creates them empty,
and the first ``tick`` or rebuild fills them for a database that already has
events.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_index",
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("desk", sa.String(64), nullable=False),
        sa.Column("consulted_desks", sa.String(200), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("assignee", sa.String(32), nullable=True),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("retaliation_risk", sa.String(16), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("next_deadline_on", sa.Date(), nullable=True),
        sa.Column("next_deadline_kind", sa.String(32), nullable=True),
        sa.Column("escalation_level", sa.String(32), nullable=True),
        sa.Column("senior_officials", sa.Boolean(), nullable=False),
        sa.Column("oversight_informed", sa.Boolean(), nullable=False),
        sa.Column("wake_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_index")),
    )
    op.create_index(
        "ix_case_index_desk_next_deadline_on", "case_index", ["desk", "next_deadline_on"]
    )
    op.create_index("ix_case_index_wake_on", "case_index", ["wake_on"])
    op.create_index("ix_case_index_status", "case_index", ["status"])
    op.create_table(
        "findings",
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("finding_id", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("substantiated", sa.Boolean(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "finding_id", name=op.f("pk_findings")),
    )
    op.create_index(op.f("ix_findings_subject_id"), "findings", ["subject_id"])
    op.create_table(
        "sanction_proposals",
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("proposal_id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("possible_retaliation", sa.Boolean(), nullable=False),
        sa.Column("votes_cast", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("case_id", "proposal_id", name=op.f("pk_sanction_proposals")),
    )
    op.create_index(op.f("ix_sanction_proposals_subject_id"), "sanction_proposals", ["subject_id"])
    op.create_table(
        "agency_flags",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("case_ids", sa.Text(), nullable=False),
        sa.Column("window_from", sa.Date(), nullable=False),
        sa.Column("window_to", sa.Date(), nullable=False),
        sa.Column("notify", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_agency_flags")),
    )
    op.create_index(op.f("ix_agency_flags_agency"), "agency_flags", ["agency"])
    op.create_table(
        "projection_position",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_projection_position")),
    )


def downgrade() -> None:
    op.drop_table("projection_position")
    op.drop_index(op.f("ix_agency_flags_agency"), table_name="agency_flags")
    op.drop_table("agency_flags")
    op.drop_index(op.f("ix_sanction_proposals_subject_id"), table_name="sanction_proposals")
    op.drop_table("sanction_proposals")
    op.drop_index(op.f("ix_findings_subject_id"), table_name="findings")
    op.drop_table("findings")
    op.drop_index("ix_case_index_status", table_name="case_index")
    op.drop_index("ix_case_index_wake_on", table_name="case_index")
    op.drop_index("ix_case_index_desk_next_deadline_on", table_name="case_index")
    op.drop_table("case_index")
