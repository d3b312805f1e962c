"""Staff roles and what each may open, in one place (DESIGN.md §1).

The web layer decides which pages a role sees from these sets and the case
services decide which content a role may read from the same sets, so the two
cannot drift apart. Plain data: imports nothing.
"""

from __future__ import annotations

#: Every role an account can have, in the order forms list them.
ROLES = ("investigator", "desk_lead", "committee_member", "oversight", "administrator", "auditor")

#: Roles that work on case content. Administrators and auditors never do,
#: even if an account of theirs were added to a desk.
CASE_ROLES = frozenset({"investigator", "desk_lead", "committee_member", "oversight"})

#: Roles that may hold a desk key: exactly those that work on case content.
DESK_ROLES = CASE_ROLES

#: The role whose members deliberate on the ethics committee.
COMMITTEE_ROLE = "committee_member"

#: Who manages accounts and desks: never anyone who reads cases.
ADMIN_ROLES = frozenset({"administrator"})

#: Who sees the oversight overview: deadlines and figures, never content.
OVERSIGHT_ROLES = frozenset({"oversight", "auditor"})

#: Who sees the statistics page and may publish a report.
STATISTICS_ROLES = frozenset({"oversight", "desk_lead", "committee_member", "auditor"})

#: Who sees a desk's workload per member and assigns its cases.
LEAD_ROLES = frozenset({"desk_lead"})
