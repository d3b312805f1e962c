"""What each member of staff is told in the day's mail digest: counts, never content.

Once a day, from a fixed hour, ``visselpipa tick`` makes the day's digest
(:func:`make_digest`): for every member who switched mail on and gave an
address, how many items of each kind wait for them:

- ``new_cases``: cases that came to one of their desks (received, or moved
  there) since the last digest;
- ``answers``: cases where the reporter wrote or added a file since the
  last digest: the assignee's, or the whole desk's while nobody is assigned;
- ``deadlines_soon``, ``deadlines_missed``: open cases of theirs (the
  assignee's, or the desk's while unassigned) whose next deadline is within
  the notice days, or already past;
- ``escalations``: missed deadlines escalated to them since the last digest
  (to the assignee or the desk, to the desk's leads, to oversight).

"Since the last digest" is a range of the log's sequence numbers, never a
time: the digest of a day covers the events after the previous digest's
``through_seq`` up to the log's head when it is made. A member recused from
a case is never counted for it. The counts are kept per member until the
mail went out (caseflow/store/notifications.py), so a retry after an SMTP
failure sends the same mail and one that went out is never sent again.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from caseflow.domain.transitions import OPEN_STATUSES
from caseflow.domain.vocabulary import EscalationLevel
from caseflow.store import events_table
from caseflow.store.events import APPEND_LOCK_KEY
from caseflow.store.notifications import mail_digest_items_table, mail_digests_table
from caseflow.store.projections import case_index_table, case_recusals_table
from caseflow.store.records import desk_members_table, staff_table

#: The kinds a digest counts, in the order the mail lists them.
KINDS = ("new_cases", "answers", "deadlines_soon", "deadlines_missed", "escalations")

#: How long one tick may take to deliver a digest before another may try.
LEASE = timedelta(minutes=10)

_ARRIVED = ("ReportReceived", "DeskChanged")
_REPORTER_WROTE = ("ReporterMessageAdded", "ReporterFileAdded")
_ESCALATED = "CaseEscalated"
_OPEN = sorted(s.value for s in OPEN_STATUSES)
_CASE_ROLES = ("investigator", "desk_lead", "committee_member", "oversight")


@dataclass(frozen=True)
class Recipient:
    """A member whose mail of the day has not gone out yet."""

    staff_id: str
    address: str
    counts: Mapping[str, int]


def digest_made(conn: sa.Connection, day: date) -> bool:
    return (
        conn.execute(
            sa.select(mail_digests_table.c.day).where(mail_digests_table.c.day == day)
        ).first()
        is not None
    )


def make_digest_once(engine: sa.Engine, day: date, notice_days: int) -> bool:
    """Make the digest of ``day`` unless it exists; False if it did.

    In one transaction that first takes the log's append lock (PostgreSQL's
    advisory lock; on SQLite the engine's ``BEGIN IMMEDIATE``), so that
    ``through_seq`` is the head and two ticks cannot both make it.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))
        return make_digest(conn, day, notice_days)


def unsent_days(engine: sa.Engine, until: date) -> list[date]:
    """The days up to ``until`` whose digest has not gone out in full, oldest first."""
    d = mail_digests_table
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(d.c.day).where(d.c.sent_on.is_(None), d.c.day <= until).order_by(d.c.day)
            ).scalars()
        )


def make_digest(conn: sa.Connection, day: date, notice_days: int) -> bool:
    """Make the digest of ``day`` once (see :func:`make_digest_once`); False if it was made."""
    if digest_made(conn, day):
        return False
    d = mail_digests_table
    head = conn.execute(sa.select(sa.func.max(events_table.c.seq))).scalar_one() or 0
    previous = conn.execute(
        sa.select(d.c.through_seq).where(d.c.day < day).order_by(d.c.day.desc()).limit(1)
    ).scalar_one_or_none()
    if previous is None:
        previous = _before_yesterday(conn, day)
    conn.execute(sa.insert(d).values(day=day, through_seq=head))
    wanted = _subscribers(conn)
    counts = count_for_staff(conn, previous, head, day, notice_days)
    rows = [
        {"day": day, "staff_id": staff_id, "counts": json.dumps(c, sort_keys=True), "sent": False}
        for staff_id, c in counts.items()
        if staff_id in wanted and any(c.values())
    ]
    if rows:
        conn.execute(sa.insert(mail_digest_items_table), rows)
    return True


def _before_yesterday(conn: sa.Connection, day: date) -> int:
    """The first digest covers the log from the day before it on (not its whole history)."""
    t = events_table
    since = (day - timedelta(days=1)).isoformat()
    first = conn.execute(sa.select(sa.func.min(t.c.seq)).where(t.c.recorded_at >= since))
    found = first.scalar_one()
    return 0 if found is None else int(found) - 1


def _subscribers(conn: sa.Connection) -> set[str]:
    s = staff_table
    return set(
        conn.execute(
            sa.select(s.c.id).where(s.c.mail_notifications.is_(True), s.c.email.is_not(None))
        ).scalars()
    )


def count_for_staff(
    conn: sa.Connection, after_seq: int, through_seq: int, today: date, notice_days: int
) -> dict[str, dict[str, int]]:
    """Every member's counts per kind: events in ``(after_seq, through_seq]``, deadlines today."""
    s, m = staff_table, desk_members_table
    roles: dict[str, str] = {
        staff_id: role
        for staff_id, role in conn.execute(
            sa.select(s.c.id, s.c.role).where(s.c.role.in_(_CASE_ROLES))
        )
    }
    desk_members: dict[str, set[str]] = defaultdict(set)
    for desk_id, staff_id in conn.execute(sa.select(m.c.desk_id, m.c.staff_id)).all():
        if staff_id in roles:
            desk_members[desk_id].add(staff_id)
    oversight = {staff_id for staff_id, role in roles.items() if role == "oversight"}
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    e = events_table
    happened = conn.execute(
        sa.select(e.c.stream_id, e.c.type, e.c.meta)
        .where(
            e.c.seq > after_seq,
            e.c.seq <= through_seq,
            e.c.type.in_([*_ARRIVED, *_REPORTER_WROTE, _ESCALATED]),
        )
        .order_by(e.c.seq)
    ).all()
    deadlines = _cases_with_deadlines(conn, today + timedelta(days=notice_days))
    case_ids = {row.stream_id for row in happened} | set(deadlines)
    cases = _cases(conn, case_ids)
    recused = _recusals(conn, case_ids)

    def handlers(case: Any) -> set[str]:
        if case.assignee is not None:
            return {case.assignee}
        return set(desk_members.get(case.desk, ()))

    def add(kind: str, case_id: str, people: Iterable[str]) -> None:
        for staff_id in people:
            if (case_id, staff_id) not in recused:
                found[staff_id][kind].add(case_id)

    for row in happened:
        case = cases.get(row.stream_id)
        if case is None:
            continue
        if row.type in _ARRIVED:
            if case.status in _OPEN:
                add("new_cases", case.case_id, desk_members.get(case.desk, ()))
        elif row.type in _REPORTER_WROTE:
            add("answers", case.case_id, handlers(case))
        else:
            level = json.loads(row.meta).get("level")
            if level == EscalationLevel.DESK_LEAD:
                leads = [p for p in desk_members.get(case.desk, ()) if roles[p] == "desk_lead"]
                add("escalations", case.case_id, leads)
            elif level == EscalationLevel.OVERSIGHT:
                add("escalations", case.case_id, oversight)
            else:
                add("escalations", case.case_id, handlers(case))
    for case_id, due_on in deadlines.items():
        case = cases[case_id]
        kind = "deadlines_missed" if due_on < today else "deadlines_soon"
        add(kind, case_id, handlers(case))
    return {
        staff_id: {kind: len(kinds.get(kind, ())) for kind in KINDS}
        for staff_id, kinds in found.items()
    }


def _cases_with_deadlines(conn: sa.Connection, until: date) -> dict[str, date]:
    t = case_index_table
    rows = conn.execute(
        sa.select(t.c.case_id, t.c.next_deadline_on).where(
            t.c.status.in_(_OPEN), t.c.next_deadline_on.is_not(None), t.c.next_deadline_on <= until
        )
    )
    return {case_id: due_on for case_id, due_on in rows}


def _cases(conn: sa.Connection, case_ids: set[str]) -> dict[str, Any]:
    t = case_index_table
    out: dict[str, Any] = {}
    ids = sorted(case_ids)
    for start in range(0, len(ids), 500):
        for row in conn.execute(
            sa.select(t.c.case_id, t.c.desk, t.c.assignee, t.c.status).where(
                t.c.case_id.in_(ids[start : start + 500])
            )
        ):
            out[row.case_id] = row
    return out


def _recusals(conn: sa.Connection, case_ids: set[str]) -> set[tuple[str, str]]:
    t = case_recusals_table
    out: set[tuple[str, str]] = set()
    ids = sorted(case_ids)
    for start in range(0, len(ids), 500):
        out.update(
            (case_id, staff_id)
            for case_id, staff_id in conn.execute(
                sa.select(t.c.case_id, t.c.staff_id).where(
                    t.c.case_id.in_(ids[start : start + 500])
                )
            )
        )
    return out


# -- delivery ------------------------------------------------------------------


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def take_lease(engine: sa.Engine, day: date, now: datetime) -> bool:
    """Claim the delivery of ``day``'s digest for :data:`LEASE`; False if another tick holds it.

    One conditional UPDATE: on SQLite and PostgreSQL alike only one of two
    concurrent ticks sees its row changed.
    """
    d = mail_digests_table
    with engine.begin() as conn:
        claimed = conn.execute(
            sa.update(d)
            .where(
                d.c.day == day,
                d.c.sent_on.is_(None),
                sa.or_(d.c.lease_until.is_(None), d.c.lease_until < _stamp(now)),
            )
            .values(lease_until=_stamp(now + LEASE))
        ).rowcount
    return bool(claimed)


def pending(engine: sa.Engine, day: date) -> list[Recipient]:
    """The members of ``day``'s digest whose mail has not gone out, with their address now.

    An address removed or mail switched off since the digest was made is
    respected: that member is left out (and marked done).
    """
    i, s = mail_digest_items_table, staff_table
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(i.c.staff_id, i.c.counts, s.c.email, s.c.mail_notifications)
            .join(s, s.c.id == i.c.staff_id, isouter=True)
            .where(i.c.day == day, i.c.sent.is_(False))
            .order_by(i.c.staff_id)
        ).all()
    out = []
    for row in rows:
        if row.email and row.mail_notifications:
            out.append(Recipient(row.staff_id, row.email, json.loads(row.counts)))
        else:
            mark_sent(engine, day, row.staff_id)
    return out


def mark_sent(engine: sa.Engine, day: date, staff_id: str) -> None:
    i = mail_digest_items_table
    with engine.begin() as conn:
        conn.execute(sa.update(i).where(i.c.day == day, i.c.staff_id == staff_id).values(sent=True))


def finish(engine: sa.Engine, day: date, failure: str | None) -> None:
    """End a delivery: done (``failure`` None), or what went wrong, for the next tick and check."""
    d = mail_digests_table
    values: dict[str, object] = {"lease_until": None}
    if failure is None:
        values.update(sent_on=day, failure=None, failed_on=None)
    else:
        values.update(failure=failure[:200], failed_on=day)
    with engine.begin() as conn:
        conn.execute(sa.update(d).where(d.c.day == day).values(**values))


@dataclass(frozen=True)
class Undelivered:
    day: date
    failure: str
    failed_on: date


def undelivered(engine: sa.Engine) -> list[Undelivered]:
    """Digests whose delivery failed and has not succeeded since (``visselpipa check``)."""
    d = mail_digests_table
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(d.c.day, d.c.failure, d.c.failed_on)
            .where(d.c.sent_on.is_(None), d.c.failure.is_not(None))
            .order_by(d.c.day)
        ).all()
    return [Undelivered(r.day, r.failure, r.failed_on) for r in rows]
