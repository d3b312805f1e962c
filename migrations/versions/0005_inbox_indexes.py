"""Inbox indexes on the case index.

Revision ID: 0005
Revises: 0004

The staff inbox (caseflow/service/workspace.py) counts a desk's cases per
state and its overdue open cases on every page, and lists the cases of the
desks a member is consulted on. Two covering indexes let those counts read
index ranges instead of the table (bench/inbox.py measures the effect with
100 000 cases):

- ``(desk, status, next_deadline_on)``: cases per state of a desk, and the
  overdue ones among the open states;
- ``(consulted_desks, status)``: the same for the consulted desks.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_case_index_desk_status_next_deadline_on",
        "case_index",
        ["desk", "status", "next_deadline_on"],
    )
    op.create_index(
        "ix_case_index_consulted_desks_status", "case_index", ["consulted_desks", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_case_index_consulted_desks_status", table_name="case_index")
    op.drop_index("ix_case_index_desk_status_next_deadline_on", table_name="case_index")
