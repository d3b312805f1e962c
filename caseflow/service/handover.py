"""When a member leaves a desk, the cases they handled go back to the desk lead.

Removing a member takes their copy of the desk key (identity/accounts.py);
this takes the cases: each open case of the desk assigned to them is
unassigned (``Unassign``: their access to the case is revoked in the log) and
waits, with nobody assigned, in the desk lead's inbox, which counts such
cases and lists them on request. The lead assigns each one again.
"""

from __future__ import annotations

import sqlalchemy as sa

from caseflow.domain.commands import Unassign
from caseflow.domain.errors import CommandRefused
from caseflow.domain.transitions import OPEN_STATUSES
from caseflow.service.cases import CaseService, Step
from caseflow.store.projections import case_index_table

REASON = "removed from the desk"


def hand_over(cases: CaseService, desk_id: str, staff_id: str, actor: str) -> list[str]:
    """Unassign ``staff_id`` from every open case of ``desk_id``; the case ids, sorted."""
    t = case_index_table
    with cases.engine.connect() as conn:
        ids = sorted(
            conn.execute(
                sa.select(t.c.case_id).where(
                    t.c.desk == desk_id,
                    t.c.assignee == staff_id,
                    t.c.status.in_([s.value for s in OPEN_STATUSES]),
                )
            ).scalars()
        )
    handed: list[str] = []
    for case_id in ids:
        try:
            cases.execute(case_id, [Step(Unassign(case_id, actor, REASON))])
        except CommandRefused:
            continue  # reassigned or closed meanwhile: nothing to hand over
        handed.append(case_id)
    return handed
