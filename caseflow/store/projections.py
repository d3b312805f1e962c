"""Read models derived from the event log: the case index, findings, proposals, agency flags.

Nothing here is a source of truth. Every row is a function of events (see
:mod:`caseflow.service.projections`), written in the same transaction as the
events that change it, and ``visselpipa rebuild-projections`` drops and
re-derives them all. They hold only what the plaintext event metadata already
holds: ids, routing, states, days — never content.

- ``case_index``: one row per case: desk, state, assignee, severity, the next
  deadline (what the inbox sorts by) and the day the tick must look at the
  case again (``wake_on``). "Overdue" is ``next_deadline_on < today``, asked
  at read time, because it changes with the clock and not with events.
- ``findings``: every recorded finding with its case's agency: the input of
  the subject's sanction ladder and of the agency pattern check.
- ``sanction_proposals``: the ladder's proposals and how they were decided.
- ``agency_flags``: the systemic flags raised against an agency.
- ``projection_position``: the last event sequence number folded in.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from caseflow.store.metadata import metadata

case_index_table = Table(
    "case_index",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("desk", String(64), nullable=False),
    # Space-separated desk ids: the desks consulted besides the primary one.
    Column("consulted_desks", String(200), nullable=False),
    Column("category", String(64), nullable=False),
    Column("agency", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("assignee", String(32), nullable=True),
    Column("severity", String(16), nullable=True),
    Column("retaliation_risk", String(16), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("received_on", Date, nullable=True),
    Column("closed_on", Date, nullable=True),
    # The day of the last work on the case: a step of staff or of the reporter
    # (the clock's reminders and escalations do not count; migration 0013).
    Column("last_activity_on", Date, nullable=True),
    Column("next_deadline_on", Date, nullable=True),
    Column("next_deadline_kind", String(32), nullable=True),
    # The highest rung of the escalation ladder the case has reached.
    Column("escalation_level", String(32), nullable=True),
    Column("senior_officials", Boolean, nullable=False),
    Column("oversight_informed", Boolean, nullable=False),
    Column("wake_on", Date, nullable=True),
    Column("version", Integer, nullable=False),
    # The inbox: a desk's cases by deadline; the tick: the cases due today.
    Index("ix_case_index_desk_next_deadline_on", "desk", "next_deadline_on"),
    # The inbox's counts per state and of overdue cases (migration 0005).
    Index("ix_case_index_desk_status_next_deadline_on", "desk", "status", "next_deadline_on"),
    Index("ix_case_index_consulted_desks_status", "consulted_desks", "status"),
    # The inbox sorted by received day or last activity, "needs my action" and
    # the desk lead's workload per assignee (migration 0013).
    Index("ix_case_index_desk_received_on", "desk", "received_on"),
    Index("ix_case_index_desk_last_activity_on", "desk", "last_activity_on"),
    Index(
        "ix_case_index_desk_assignee_status",
        "desk",
        "assignee",
        "status",
        "next_deadline_on",
    ),
    Index("ix_case_index_wake_on", "wake_on"),
    Index("ix_case_index_status", "status"),
)

findings_table = Table(
    "findings",
    metadata,
    # Finding and proposal ids are unique within their case.
    Column("case_id", String(64), primary_key=True),
    Column("finding_id", String(64), primary_key=True),
    Column("agency", String(64), nullable=False),
    Column("subject_id", String(64), nullable=False, index=True),
    Column("substantiated", Boolean, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("found_on", Date, nullable=False),
    Column("recorded_by", String(100), nullable=False),
)

sanction_proposals_table = Table(
    "sanction_proposals",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("proposal_id", String(64), primary_key=True),
    Column("subject_id", String(64), nullable=False, index=True),
    Column("level", String(16), nullable=False),
    Column("possible_retaliation", Boolean, nullable=False),
    Column("votes_cast", Integer, nullable=False),
    # NULL until the committee decides.
    Column("approved", Boolean, nullable=True),
)

agency_flags_table = Table(
    "agency_flags",
    metadata,
    # The flag's own event sequence number: flags are only ever added.
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("agency", String(64), nullable=False, index=True),
    # Space-separated case ids the flag covers.
    Column("case_ids", Text, nullable=False),
    Column("window_from", Date, nullable=False),
    Column("window_to", Date, nullable=False),
    Column("notify", String(200), nullable=False),
)

projection_position_table = Table(
    "projection_position",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
)

#: Every projection table, in the order a rebuild empties and fills them.
#: Who must never see the case (recused: a declared conflict, or named in the
#: report): the inbox leaves these cases out for them (DESIGN.md §4).
case_recusals_table = Table(
    "case_recusals",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("staff_id", String(64), primary_key=True, index=True),
)

PROJECTION_TABLES = (
    case_index_table,
    case_recusals_table,
    findings_table,
    sanction_proposals_table,
    agency_flags_table,
    projection_position_table,
)
