"""The staff inbox and the desk lead's workload, read from the case index alone.

Nothing here is decrypted: the rows hold what the plaintext event metadata
holds (ids, routing, states, days). Every query leaves out the cases the
member is recused from (``case_recusals``), counts and totals included, so a
recused member learns nothing of such a case, not even that it exists.

**Lanes.** A member's cases are asked as disjoint *lanes*: one per own desk
(``desk = d``) and one per value of ``consulted_desks`` that names one of
their desks (and whose primary desk is not theirs). Each lane is a range of
an index read in the order asked for, so a page reads about fifty index
entries per lane and merges them here, instead of sorting every case of the
desk; an OR over the lanes would defeat the indexes on SQLite and
PostgreSQL.

**Search by reference.** A case id is 32 lower-case hex digits; the inbox
shows its first eight. ``reference`` is a prefix of it as staff type it
(case, spaces and dashes do not matter, :func:`normalise_reference`) and is
asked as the range ``prefix <= case_id < prefix || 'g'`` ('g' sorts after
every hex digit), which reads the primary key's index on both databases;
``LIKE 'prefix%'`` would not on PostgreSQL under a non-C collation.

**Needs my action** (:data:`SOON_DAYS`): the open cases assigned to the
member that either wait for their handler's next step in the workflow
(``received``: to acknowledge; ``reopened``: to assess again) or have a
deadline missed or due within seven days; for a desk lead also the open
cases of their desks that nobody is assigned (assigning is their step).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

import sqlalchemy as sa

from caseflow.domain.transitions import OPEN_STATUSES, Status
from caseflow.store.projections import case_index_table, case_recusals_table
from caseflow.store.records import desk_members_table, staff_table
from identity.roles import CASE_ROLES

INBOX_PAGE_SIZE = 50

#: "Due soon": a deadline at most this many days ahead (needs my action, workload).
SOON_DAYS = 7

#: States in which the workflow waits for the case's handler whatever the deadline.
WAITING_FOR_HANDLER = (Status.RECEIVED.value, Status.REOPENED.value)

#: What the inbox sorts by: the name in the URL to the case index column.
SORT_COLUMNS = {
    "deadline": case_index_table.c.next_deadline_on,
    "received": case_index_table.c.received_on,
    "activity": case_index_table.c.last_activity_on,
    "reference": case_index_table.c.case_id,
}

#: A case reference as staff may type it: hex digits, with spaces or dashes.
_REFERENCE = re.compile(r"[0-9a-f]{1,32}")
_SEPARATORS = re.compile(r"[\s\-]+")

OPEN_VALUES = sorted(s.value for s in OPEN_STATUSES)


class StaffLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def desks(self) -> tuple[str, ...]: ...


def normalise_reference(text: str) -> str | None:
    """A typed case reference as the start of a case id; None when it cannot be one.

    "4F2A 91C0", "4f2a-91c0" and "4f2a91c0" are the same reference.
    """
    value = _SEPARATORS.sub("", text.strip().lower())
    return value if _REFERENCE.fullmatch(value) else None


@dataclass(frozen=True)
class InboxFilter:
    status: str = "open"  # "open", "all", or a Status value
    category: str = ""
    agency: str = ""
    overdue: bool = False
    mine: bool = False
    unassigned: bool = False
    page: int = 1
    #: The start of a case id (see :func:`normalise_reference`); "" for any.
    reference: str = ""
    #: A member's id: only the cases assigned to them.
    assignee: str = ""
    #: Only cases whose next deadline is at most this many days ahead (missed ones included).
    due_within: int | None = None
    #: Only what needs the member's action (module docstring).
    needs_action: bool = False
    sort: str = "deadline"  # a key of SORT_COLUMNS
    descending: bool = False

    @property
    def only_state(self) -> bool:
        """Whether nothing but the state is filtered (the counts then give the total)."""
        return self == InboxFilter(
            status=self.status, page=self.page, sort=self.sort, descending=self.descending
        )


@dataclass(frozen=True)
class InboxRow:
    case_id: str
    desk: str
    consulted: bool  # the member sees it as a consulted desk
    category: str
    agency: str
    status: str
    assignee: str | None
    severity: str | None
    received_on: date | None
    last_activity_on: date | None
    next_deadline_on: date | None
    next_deadline_kind: str | None
    escalation_level: str | None
    days_left: int | None


@dataclass(frozen=True)
class Inbox:
    rows: tuple[InboxRow, ...]
    total: int
    page: int
    pages: int
    counts: Mapping[str, int]  # cases per state across the member's desks
    overdue: int
    #: Open cases of the member's desks that nobody handles (counted for desk leads).
    unassigned: int = 0


@dataclass(frozen=True)
class MemberLoad:
    staff_id: str
    username: str
    open: int = 0
    overdue: int = 0
    due_soon: int = 0
    #: False for an assignee who is no longer a member of the desk.
    member: bool = True


@dataclass(frozen=True)
class Workload:
    """A desk's open cases (as primary desk) per assignee, for its lead."""

    desk: str
    members: tuple[MemberLoad, ...]
    unassigned: MemberLoad
    open: int
    overdue: int


def read_inbox(conn: sa.Connection, staff: StaffLike, wanted: InboxFilter, today: date) -> Inbox:
    """The member's page of the inbox (see the module docstring)."""
    desks = list(staff.desks) if staff.role in CASE_ROLES else []
    if not desks:
        return Inbox((), 0, 1, 1, {}, 0)
    t = case_index_table
    criteria = _criteria(staff, wanted, today)
    lanes = _desk_lanes(conn, desks)
    counts: dict[str, int] = {}
    overdue = unassigned = 0
    for lane in lanes:
        if staff.role == "desk_lead":
            unassigned += _count(
                conn, staff.id, lane, t.c.status.in_(OPEN_VALUES), t.c.assignee.is_(None)
            )
        for status, n in _count_by(conn, staff.id, t.c.status, lane).items():
            counts[status] = counts.get(status, 0) + n
        overdue += _count(
            conn, staff.id, lane, t.c.status.in_(OPEN_VALUES), t.c.next_deadline_on < today
        )
    if wanted.only_state:
        total = sum(
            n
            for status, n in counts.items()
            if wanted.status == "all"
            or status == wanted.status
            or (wanted.status == "open" and status in OPEN_VALUES)
        )
    else:
        total = sum(_count(conn, staff.id, lane, *criteria) for lane in lanes)
    lanes = [sa.and_(lane, _not_recused(staff.id)) for lane in lanes]
    pages = max(1, -(-int(total) // INBOX_PAGE_SIZE))
    page = min(max(1, wanted.page), pages)
    rows = _page(conn, lanes, criteria, (page - 1) * INBOX_PAGE_SIZE, wanted)
    return Inbox(
        rows=tuple(_inbox_row(r, desks, today) for r in rows),
        total=int(total),
        page=page,
        pages=pages,
        counts=counts,
        overdue=int(overdue),
        unassigned=int(unassigned),
    )


def _criteria(staff: StaffLike, wanted: InboxFilter, today: date) -> list[Any]:
    t = case_index_table
    criteria: list[Any] = []
    if wanted.status == "open":
        criteria.append(t.c.status.in_(OPEN_VALUES))
    elif wanted.status != "all":
        criteria.append(t.c.status == wanted.status)
    if wanted.reference:
        criteria.append(t.c.case_id >= wanted.reference)
        criteria.append(t.c.case_id < wanted.reference + "g")
    if wanted.category:
        criteria.append(t.c.category == wanted.category)
    if wanted.agency:
        criteria.append(t.c.agency == wanted.agency)
    if wanted.overdue:
        criteria.append(t.c.next_deadline_on < today)
    if wanted.due_within is not None:
        criteria.append(t.c.next_deadline_on <= today + timedelta(days=wanted.due_within))
    if wanted.mine:
        criteria.append(t.c.assignee == staff.id)
    if wanted.assignee:
        criteria.append(t.c.assignee == wanted.assignee)
    if wanted.unassigned:
        criteria.append(t.c.assignee.is_(None))
    if wanted.needs_action:
        criteria.append(needs_action(staff, today))
    return criteria


def needs_action(staff: StaffLike, today: date) -> Any:
    """The condition "needs my action" (module docstring) on ``case_index``."""
    t = case_index_table
    mine = sa.and_(
        t.c.assignee == staff.id,
        sa.or_(
            t.c.status.in_(WAITING_FOR_HANDLER),
            t.c.next_deadline_on <= today + timedelta(days=SOON_DAYS),
        ),
    )
    if staff.role == "desk_lead":
        mine = sa.or_(mine, t.c.assignee.is_(None))
    return sa.and_(t.c.status.in_(OPEN_VALUES), mine)


def member_lanes(conn: sa.Connection, desks: Sequence[str], staff_id: str) -> list[Any]:
    """Disjoint conditions that together select the member's cases,
    leaving out every case the member is recused from."""
    return [sa.and_(lane, _not_recused(staff_id)) for lane in _desk_lanes(conn, desks)]


def _not_recused(staff_id: str) -> Any:
    r = case_recusals_table
    return case_index_table.c.case_id.not_in(sa.select(r.c.case_id).where(r.c.staff_id == staff_id))


def _recused_join(staff_id: str) -> Any:
    t, r = case_index_table, case_recusals_table
    return t.join(r, sa.and_(r.c.case_id == t.c.case_id, r.c.staff_id == staff_id))


def _count(conn: sa.Connection, staff_id: str, *conditions: Any) -> int:
    """How many cases meet ``conditions``, leaving out those ``staff_id`` is recused from.

    Counted as all of them minus the recused ones: the first count reads an
    index alone (the covering indexes hold no case id to check a recusal
    against), the second only the member's few recusals. A ``NOT IN`` on
    every row instead made each count visit the table: about ten times
    slower with 50 000 cases on a desk (docs/benchmarks.md).
    """
    t = case_index_table
    every = conn.execute(sa.select(sa.func.count()).select_from(t).where(*conditions))
    recused = conn.execute(
        sa.select(sa.func.count()).select_from(_recused_join(staff_id)).where(*conditions)
    )
    return int(every.scalar_one()) - int(recused.scalar_one())


def _count_by(conn: sa.Connection, staff_id: str, column: Any, *conditions: Any) -> dict[Any, int]:
    """:func:`_count` per value of ``column``."""
    found: dict[Any, int] = {}
    for value, n in conn.execute(
        sa.select(column, sa.func.count()).where(*conditions).group_by(column)
    ):
        found[value] = int(n)
    for value, n in conn.execute(
        sa.select(column, sa.func.count())
        .select_from(_recused_join(staff_id))
        .where(*conditions)
        .group_by(column)
    ):
        found[value] -= int(n)
    return {value: n for value, n in found.items() if n}


def _desk_lanes(conn: sa.Connection, desks: Sequence[str]) -> list[Any]:
    t = case_index_table
    lanes: list[Any] = [t.c.desk == d for d in desks]
    # consulted_desks is space-separated; the distinct values are few (one per
    # combination routing produces), so they are listed and matched exactly.
    values = conn.execute(
        sa.select(t.c.consulted_desks).where(t.c.consulted_desks > "").distinct()
    ).scalars()
    consulted = [v for v in values if set(v.split()) & set(desks)]
    lanes.extend(sa.and_(t.c.consulted_desks == v, t.c.desk.not_in(desks)) for v in consulted)
    return lanes


def _page(
    conn: sa.Connection,
    lanes: Sequence[Any],
    criteria: Sequence[Any],
    offset: int,
    wanted: InboxFilter,
) -> list[Any]:
    """The rows ``offset .. offset + page size`` of the lanes merged in the asked order.

    Cases without a value to sort by (a shredded case has no deadline) come
    last in either direction, on both databases: SQLite sorts NULL first and
    PostgreSQL last, and an explicit NULLS LAST would stop SQLite from
    reading the index in order. Ties are broken by the case id.
    """
    t = case_index_table
    column = SORT_COLUMNS.get(wanted.sort, t.c.next_deadline_on)
    down = wanted.descending
    order = [column.desc(), t.c.case_id.desc()] if down else [column, t.c.case_id]
    limit = offset + INBOX_PAGE_SIZE
    valued: list[Any] = []
    for lane in lanes:
        valued.extend(
            conn.execute(
                sa.select(t)
                .where(lane, *criteria, column.is_not(None))
                .order_by(*order)
                .limit(limit)
            ).all()
        )
    name = column.name
    valued.sort(key=lambda r: (getattr(r, name), r.case_id), reverse=down)
    rows = valued[:limit]
    if len(rows) < limit and column is not t.c.case_id:
        undated: list[Any] = []
        for lane in lanes:
            undated.extend(
                conn.execute(
                    sa.select(t)
                    .where(lane, *criteria, column.is_(None))
                    .order_by(t.c.case_id.desc() if down else t.c.case_id)
                    .limit(limit - len(rows))
                ).all()
            )
        undated.sort(key=lambda r: r.case_id, reverse=down)
        rows.extend(undated)
    return rows[offset:limit]


def _inbox_row(r: Any, desks: Sequence[str], today: date) -> InboxRow:
    return InboxRow(
        case_id=r.case_id,
        desk=r.desk,
        consulted=r.desk not in desks,
        category=r.category,
        agency=r.agency,
        status=r.status,
        assignee=r.assignee,
        severity=r.severity,
        received_on=r.received_on,
        last_activity_on=r.last_activity_on,
        next_deadline_on=r.next_deadline_on,
        next_deadline_kind=r.next_deadline_kind,
        escalation_level=r.escalation_level,
        days_left=None if r.next_deadline_on is None else (r.next_deadline_on - today).days,
    )


def read_workload(conn: sa.Connection, staff: StaffLike, today: date) -> tuple[Workload, ...]:
    """Per desk of ``staff``: its open cases per assignee, overdue and due soon.

    Only cases of which the desk is the primary desk (a consulted desk's
    cases are the other desk's load), and never a case ``staff`` is recused
    from: those are left out of every count.
    """
    t = case_index_table
    soon = today + timedelta(days=SOON_DAYS)
    overdue = sa.func.sum(sa.case((t.c.next_deadline_on < today, 1), else_=0))
    due_soon = sa.func.sum(
        sa.case((sa.and_(t.c.next_deadline_on >= today, t.c.next_deadline_on <= soon), 1), else_=0)
    )
    loads: list[Workload] = []
    for desk in staff.desks:
        members = {
            row.id: row.username
            for row in conn.execute(
                sa.select(staff_table.c.id, staff_table.c.username)
                .join(desk_members_table, desk_members_table.c.staff_id == staff_table.c.id)
                .where(desk_members_table.c.desk_id == desk)
            )
        }
        per: dict[str | None, tuple[int, int, int]] = {}
        mine = (t.c.desk == desk, t.c.status.in_(OPEN_VALUES))
        totals = sa.select(t.c.assignee, sa.func.count(), overdue, due_soon)
        for assignee, n, late, near in conn.execute(totals.where(*mine).group_by(t.c.assignee)):
            per[assignee] = (int(n), int(late or 0), int(near or 0))
        # Less the cases the lead is recused from (see _count).
        for assignee, n, late, near in conn.execute(
            totals.select_from(_recused_join(staff.id)).where(*mine).group_by(t.c.assignee)
        ):
            o, lt, nr = per[assignee]
            per[assignee] = (o - int(n), lt - int(late or 0), nr - int(near or 0))
        names = dict(members)
        if any(a is not None and a not in names for a in per):
            names.update(
                {
                    row.id: row.username
                    for row in conn.execute(
                        sa.select(staff_table.c.id, staff_table.c.username).where(
                            staff_table.c.id.in_([a for a in per if a is not None])
                        )
                    )
                }
            )
        rows = [
            MemberLoad(sid, names.get(sid, sid), *per.get(sid, (0, 0, 0)), member=sid in members)
            for sid in {*members, *(a for a in per if a is not None)}
        ]
        rows.sort(key=lambda m: (-m.overdue, -m.open, m.username))
        nobody = MemberLoad("", "", *per.get(None, (0, 0, 0)))
        loads.append(
            Workload(
                desk=desk,
                members=tuple(rows),
                unassigned=nobody,
                open=sum(n for n, _, _ in per.values()),
                overdue=sum(late for _, late, _ in per.values()),
            )
        )
    return tuple(loads)
