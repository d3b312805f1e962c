"""The inbox sorts by last activity and searches per assignee: a column and three indexes.

Revision ID: 0013
Revises: 0012

The staff inbox (caseflow/service/inbox.py) sorts by next deadline, received
day, last activity or reference, lists "needs my action" and gives desk
leads their desk's open cases per member. This revision adds to the case
index:

- ``last_activity_on``: the day of the last step of staff or of the reporter
  (``CaseState.last_activity_on``; the clock's escalations and reminders do
  not count), filled here from the log: the latest day among the case's
  events of those types (``recorded_at`` is Stockholm time, so its first ten
  characters are the local day; reporter events hold only the day);
- ``(desk, received_on)`` and ``(desk, last_activity_on)``: a desk's cases
  read in either order, a page at a time;
- ``(desk, assignee, status, next_deadline_on)``: a member's open cases by
  deadline ("needs my action") and the workload counts per assignee, read
  from the index alone.

No index on category or agency: with one, SQLite chose it for the page
query too and sorted every matching case (330 ms instead of a few for a
desk of 50 000); the page reads ``(desk, received_on)`` or the deadline
index in order and checks the category on the way.

Search by reference reads the primary key's index (a range on ``case_id``)
and needs nothing new. bench/inbox.py measures all of it with 100 000 cases.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: The events that count as work on a case (caseflow/domain/state.py,
#: ``_activity_day``, as of this revision).
ACTIVITY_TYPES = (
    "ReportReceived",
    "ReporterMessageAdded",
    "ReporterFileAdded",
    "MessageToReporterSent",
    "CaseAcknowledged",
    "CaseAssigned",
    "CaseUnassigned",
    "ConflictDeclared",
    "DeskChanged",
    "CaseAssessed",
    "InvestigationOpened",
    "FindingRecorded",
    "ReferredToAuthority",
    "FeedbackGiven",
    "FeedbackDeadlineExtended",
    "DeliberationBegun",
    "CaseConcluded",
    "CaseReopened",
    "InternalNoteAdded",
    "RecommendationIssued",
    "RecommendationImplemented",
    "SanctionProposed",
    "SanctionVoteCast",
    "SanctionDecided",
    "HoldPlaced",
    "HoldReleased",
)


def upgrade() -> None:
    op.add_column("case_index", sa.Column("last_activity_on", sa.Date(), nullable=True))
    conn = op.get_bind()
    events = sa.table(
        "events", sa.column("stream_id"), sa.column("type"), sa.column("recorded_at")
    )
    index = sa.table("case_index", sa.column("case_id"), sa.column("last_activity_on"))
    latest = conn.execute(
        sa.select(events.c.stream_id, sa.func.max(sa.func.substr(events.c.recorded_at, 1, 10)))
        .where(events.c.type.in_(ACTIVITY_TYPES))
        .group_by(events.c.stream_id)
    ).all()
    known = set(conn.execute(sa.select(index.c.case_id)).scalars())
    rows = [
        {"id": stream_id, "day": date.fromisoformat(day)}
        for stream_id, day in latest
        if stream_id in known
    ]
    if rows:
        conn.execute(
            sa.update(index)
            .where(index.c.case_id == sa.bindparam("id"))
            .values(last_activity_on=sa.bindparam("day")),
            rows,
        )
    op.create_index("ix_case_index_desk_received_on", "case_index", ["desk", "received_on"])
    op.create_index(
        "ix_case_index_desk_last_activity_on", "case_index", ["desk", "last_activity_on"]
    )
    op.create_index(
        "ix_case_index_desk_assignee_status",
        "case_index",
        ["desk", "assignee", "status", "next_deadline_on"],
    )


def downgrade() -> None:
    op.drop_index("ix_case_index_desk_assignee_status", table_name="case_index")
    op.drop_index("ix_case_index_desk_last_activity_on", table_name="case_index")
    op.drop_index("ix_case_index_desk_received_on", table_name="case_index")
    with op.batch_alter_table("case_index") as batch:
        batch.drop_column("last_activity_on")
