"""Who is recused from which case, as a read model the inbox filters on.

Revision ID: 0007
Revises: 0006

A member who declared a conflict, or whom the report names, must not see the
case at all, its inbox row included. ``case_recusals`` holds (case, staff)
pairs, kept by the projector with the other read models. The upgrade fills it
from the log: ``ReportReceived.named_staff`` and ``ConflictDeclared.staff_id``
(the only events that recuse; recusal is never lifted).
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_recusals",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.String(64), primary_key=True),
    )
    op.create_index("ix_case_recusals_staff_id", "case_recusals", ["staff_id"])
    conn = op.get_bind()
    events = sa.table(
        "events", sa.column("stream_id"), sa.column("type"), sa.column("meta"), sa.column("seq")
    )
    pairs: set[tuple[str, str]] = set()
    rows = conn.execute(
        sa.select(events.c.stream_id, events.c.type, events.c.meta)
        .where(events.c.type.in_(["ReportReceived", "ConflictDeclared"]))
        .order_by(events.c.seq)
    )
    for stream_id, type_name, meta_text in rows:
        meta = json.loads(meta_text)
        named = meta.get("named_staff", []) if type_name == "ReportReceived" else []
        staff = [meta["staff_id"]] if type_name == "ConflictDeclared" else list(named)
        pairs.update((stream_id, s) for s in staff)
    if pairs:
        table = sa.table("case_recusals", sa.column("case_id"), sa.column("staff_id"))
        conn.execute(
            sa.insert(table), [{"case_id": c, "staff_id": s} for c, s in sorted(pairs)]
        )


def downgrade() -> None:
    op.drop_index("ix_case_recusals_staff_id", table_name="case_recusals")
    op.drop_table("case_recusals")
