"""Content-key epochs: a new case key for every case of a desk a member left.

A case's items are sealed under its case key (crypto.sealing). A member who
leaves a desk may have kept a case key, from normal work or a backup; so the
departure starts a new *epoch* for every case the desk holds a grant for
(routed to it, consulted, referred; open or closed, so a reopened case is
covered too): a new random key, sealed (``grants`` row with the new epoch)

- to every desk that held a grant of the case's newest epoch, each to the
  public key the signed log names for it now (identity.key_log) — for the
  desk that lost a member, its new key;
- to the reporter, to ``reporter_index.public_key`` (the server needs no
  receipt for that: sealed boxes need only the public key).

Earlier epochs' grants stay as they are: the desk and the reporter read old
items with the old keys, and new items are sealed only under the newest one
(the writer checks in its append transaction that no epoch began since it
read the keys: caseflow.service.cases). Each item's ``meta["epoch"]`` names
the epoch whose key sealed it (absent: 1). That number is plaintext: it tells
a reader of the database that a case changed keys, nothing more.

Everything here runs in the caller's transaction, which must hold the log's
append lock, so a report or a message is sealed either before the new epoch
(and to keys of the old one, which was current then) or after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from nacl.public import PrivateKey, PublicKey

from caseflow.store.records import grants_table, reporter_index_table
from crypto import CryptoError
from crypto.sealing import CaseKey, CaseKeys, open_grant, seal_grant
from identity import key_log

REPORTER = "reporter"
DESK_PREFIX = "desk:"


def current_epoch(conn: sa.Connection, case_id: str) -> int:
    """The case's newest epoch (0 if it has no grant: shredded or not yet received)."""
    g = grants_table
    newest = conn.execute(
        sa.select(sa.func.max(g.c.epoch)).where(g.c.case_id == case_id)
    ).scalar_one_or_none()
    return int(newest or 0)


def open_case_keys(
    conn: sa.Connection, case_id: str, holders: Mapping[str, Iterable[PrivateKey]]
) -> CaseKeys | None:
    """Every epoch key of the case that one of ``holders`` opens; None if none opens.

    ``holders`` maps a recipient (``desk:<id>``, ``reporter``) to the private
    keys to try on its grants (a desk may still have grants sealed to an older
    version of its key). A grant that does not open is skipped: the holder
    reads what it can, and the items of that epoch show as unreadable.
    """
    g = grants_table
    rows = conn.execute(
        sa.select(g.c.recipient, g.c.epoch, g.c.sealed_key).where(
            g.c.case_id == case_id, g.c.recipient.in_(list(holders))
        )
    ).all()
    keys: dict[int, CaseKey] = {}
    for row in sorted(rows, key=lambda r: (r.epoch, r.recipient)):
        if row.epoch in keys:
            continue
        for private in holders[row.recipient]:
            try:
                keys[int(row.epoch)] = open_grant(bytes(row.sealed_key), case_id, private)
                break
            except CryptoError:
                continue
    return CaseKeys(keys) if keys else None


def seal_all_epochs(
    conn: sa.Connection, case_id: str, keys: CaseKeys, recipient: str, public: PublicKey
) -> None:
    """Give ``recipient`` a grant of every epoch in ``keys`` (a referral to a new desk)."""
    conn.execute(
        sa.insert(grants_table),
        [
            {
                "case_id": case_id,
                "recipient": recipient,
                "epoch": epoch,
                "sealed_key": seal_grant(keys.for_epoch(epoch), case_id, public),
            }
            for epoch in keys.epochs()
        ],
    )


def start_epochs_for_desk(
    conn: sa.Connection, desk_id: str, desk_public: PublicKey, log_key: bytes
) -> int:
    """Begin a new epoch for every case with a grant to ``desk_id``; returns how many.

    ``desk_public`` is the desk's new key (already the one the signed log
    names). Other desks of a case are sealed to their logged current key;
    a desk whose key the log refuses makes the whole change refuse
    (:class:`key_log.DeskKeyMismatch`), so nothing is half done.
    """
    g = grants_table
    recipient = DESK_PREFIX + desk_id
    cases = sorted(
        set(conn.execute(sa.select(g.c.case_id).where(g.c.recipient == recipient)).scalars())
    )
    if not cases:
        return 0
    newest = dict(
        conn.execute(
            sa.select(g.c.case_id, sa.func.max(g.c.epoch))
            .where(g.c.case_id.in_(cases))
            .group_by(g.c.case_id)
        ).all()
    )
    holders: dict[str, set[str]] = {}
    for case_id, holder, epoch in conn.execute(
        sa.select(g.c.case_id, g.c.recipient, g.c.epoch).where(g.c.case_id.in_(cases))
    ):
        if epoch == newest[case_id]:
            holders.setdefault(case_id, set()).add(holder)
    reporter_keys = dict(
        conn.execute(
            sa.select(reporter_index_table.c.case_id, reporter_index_table.c.public_key).where(
                reporter_index_table.c.case_id.in_(cases)
            )
        ).all()
    )
    other_desks = sorted(
        {
            h[len(DESK_PREFIX) :]
            for hs in holders.values()
            for h in hs
            if h.startswith(DESK_PREFIX) and h != recipient
        }
    )
    publics = dict(key_log.current_desk_keys(conn, other_desks, log_key)) if other_desks else {}
    publics[desk_id] = desk_public
    rows = []
    for case_id in cases:
        key, epoch = CaseKey.generate(), int(newest[case_id]) + 1
        # The reporter always follows, whatever the grants of the newest epoch say.
        following = holders[case_id] | {recipient}
        if case_id in reporter_keys:
            following.add(REPORTER)
        for holder in sorted(following):
            if holder == REPORTER:
                if case_id not in reporter_keys:
                    continue
                public = PublicKey(bytes(reporter_keys[case_id]))
            elif holder.startswith(DESK_PREFIX):
                public = publics[holder[len(DESK_PREFIX) :]]
            else:  # an unknown recipient gets nothing new
                continue
            rows.append(
                {
                    "case_id": case_id,
                    "recipient": holder,
                    "epoch": epoch,
                    "sealed_key": seal_grant(key, case_id, public),
                }
            )
    conn.execute(sa.insert(g), rows)
    return len(cases)


def item_epoch(meta: Mapping[str, object]) -> int:
    """The epoch whose key sealed a stored item: ``meta["epoch"]``, absent meaning 1."""
    value = meta.get("epoch", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
