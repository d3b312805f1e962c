"""Rotating a desk's key when a member leaves (or a key may be lost), at once.

Removing a member deletes their sealed copy of the desk key, but they may
have kept the desk key, and case keys, themselves. So the removal rotates the
desk key in the same transaction, without needing the old key in hand (an
administrator in the browser holds none):

1. each remaining member's sealed copy of the current desk key, and the
   recovery copy, move to ``retired_desk_keys`` under the current version
   (the removed member's copies, of every version, are deleted);
2. a new desk key pair is made; its private half is sealed to every member
   the signed log names (to the key the log recorded for each) and to the
   organisation recovery key; its public half becomes ``desks.public_key``
   and a signed ``DeskKeyPublished`` event; the private half is then dropped;
3. every case the desk holds a grant for moves to a new content-key epoch
   (identity.case_epochs): a new case key, sealed to the new desk key, to
   the reporter and to the case's other desks.

From that commit on nothing is sealed to a key the removed member held: new
reports go to the new desk key, new items of existing cases under the new
epoch's key. The grants of earlier epochs are still sealed to the old desk
key version; the remaining members read them through their retired copies.
When one of them next opens the desk key (:func:`open_or_rotate`), those
grants are sealed again to the newest desk key and the retired copies are
deleted (:func:`consolidate`): a clean-up, not a security step.

All of it happens in one transaction that holds the log's append lock (on
PostgreSQL the advisory lock; on SQLite the transaction began with BEGIN
IMMEDIATE), because the intake seals new grants inside its append
transaction and writers check the case's epoch inside theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from nacl.public import PrivateKey, PublicKey

from caseflow.store.events import APPEND_LOCK_KEY
from caseflow.store.records import (
    desk_members_table,
    desks_table,
    grants_table,
    retired_desk_keys_table,
)
from crypto import CryptoError
from crypto.sealing import open_grant, open_sealed, seal_grant, seal_to
from crypto.signing import Signer
from identity import accounts, case_epochs, key_log
from identity.accounts import open_desk_key, recovery_public_key

#: The holder of the retired copies sealed to the organisation recovery key.
RECOVERY_HOLDER = "recovery"


class RotationRefused(Exception):
    """The key given is not the desk's current key, or the desk cannot be rotated."""


@dataclass(frozen=True)
class Rotation:
    desk_id: str
    key_version: int
    #: cases moved to a new content-key epoch
    cases: int
    members: int
    #: the new desk private key, for a caller that goes on to seal with it;
    #: drop it as soon as possible (the server keeps no copy)
    private_key: PrivateKey
    #: grants of earlier epochs sealed again to the new key (when the old
    #: key was in hand: :func:`rotate_desk_key`)
    grants_resealed: int = 0

    def __repr__(self) -> str:  # never print the key
        return (
            f"Rotation(desk_id={self.desk_id!r}, key_version={self.key_version}, "
            f"cases={self.cases}, members={self.members}, "
            f"grants_resealed={self.grants_resealed})"
        )


def _lock(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))


def rotate_now(conn: sa.Connection, desk_id: str, signer: Signer, actor: str) -> Rotation:
    """Give ``desk_id`` a new key and its cases a new epoch, without the old key.

    In the caller's (writing) transaction; see the module text. The new key
    is sealed to the members the signed log names, each to the public key the
    log recorded for them, never to what the tables say.

    :raises RotationRefused: if there is no such desk, or no organisation
        recovery key is recorded (the new key would be lost with its last member).
    :raises key_log.DeskKeyMismatch: if the tables disagree with the log.
    """
    _lock(conn)
    desk = conn.execute(sa.select(desks_table).where(desks_table.c.id == desk_id)).first()
    if desk is None:
        raise RotationRefused(f"there is no desk {desk_id!r}")
    # Refuses when desks.public_key or key_version is not what the log names.
    key_log.current_desk_keys(conn, [desk_id], signer.public_key)
    members = key_log.logged_members(conn, desk_id, signer.public_key)
    copies = dict(
        conn.execute(
            sa.select(desk_members_table.c.staff_id, desk_members_table.c.sealed_desk_key).where(
                desk_members_table.c.desk_id == desk_id
            )
        ).all()
    )
    if set(copies) != set(members):
        raise key_log.DeskKeyMismatch(
            desk_id, "the desk_members table and the signed log name different members"
        )
    recovery = recovery_public_key(conn)
    if recovery is None:
        raise RotationRefused("no organisation recovery key is recorded: run `visselpipa init`")
    old_version = int(desk.key_version)
    retired = [
        {"holder": staff_id, "sealed_key": bytes(sealed)} for staff_id, sealed in copies.items()
    ]
    retired.append({"holder": RECOVERY_HOLDER, "sealed_key": bytes(desk.recovery_sealed_key)})
    conn.execute(
        sa.insert(retired_desk_keys_table),
        [{"desk_id": desk_id, "key_version": old_version, **row} for row in retired],
    )
    new = PrivateKey.generate()
    for staff_id, public in sorted(members.items()):
        conn.execute(
            sa.update(desk_members_table)
            .where(
                desk_members_table.c.desk_id == desk_id,
                desk_members_table.c.staff_id == staff_id,
            )
            .values(sealed_desk_key=seal_to(PublicKey(public), bytes(new)))
        )
    version = old_version + 1
    conn.execute(
        sa.update(desks_table)
        .where(desks_table.c.id == desk_id)
        .values(
            public_key=bytes(new.public_key),
            key_version=version,
            recovery_sealed_key=seal_to(recovery, bytes(new)),
            # Retired versions are held: the next member cleans up (open_or_rotate).
            rotation_due=True,
        )
    )
    key_log.record_desk_key(conn, signer, desk_id, version, new.public_key, actor)
    moved = case_epochs.start_epochs_for_desk(conn, desk_id, new.public_key, signer.public_key)
    return Rotation(desk_id, version, moved, len(members), new)


def remove_desk_member(
    conn: sa.Connection, desk_id: str, staff_id: str, signer: Signer, actor: str
) -> Rotation | None:
    """Remove a member and rotate the desk at once (:func:`rotate_now`); None if not a member.

    The member's sealed copies of every version of the desk key are deleted;
    what they may have kept opens nothing added from this commit on.
    """
    if not accounts.delete_membership(conn, desk_id, staff_id, signer, actor):
        return None
    conn.execute(
        sa.delete(retired_desk_keys_table).where(
            retired_desk_keys_table.c.desk_id == desk_id,
            retired_desk_keys_table.c.holder == staff_id,
        )
    )
    return rotate_now(conn, desk_id, signer, actor)


def consolidate(conn: sa.Connection, desk_id: str, old_keys: dict[int, PrivateKey]) -> int:
    """Seal the desk's grants that ``old_keys`` open again to its current key.

    ``old_keys`` maps retired key versions to their private keys. The retired
    copies of those versions are deleted afterwards; ``rotation_due`` stays
    set while copies of other versions remain. Returns the grants re-sealed.
    In the caller's transaction, under the append lock.
    """
    _lock(conn)
    current = PublicKey(
        conn.execute(
            sa.select(desks_table.c.public_key).where(desks_table.c.id == desk_id)
        ).scalar_one()
    )
    recipient = case_epochs.DESK_PREFIX + desk_id
    g = grants_table
    rows = conn.execute(
        sa.select(g.c.case_id, g.c.epoch, g.c.sealed_key).where(g.c.recipient == recipient)
    ).all()
    resealed = []
    for case_id, epoch, sealed in rows:
        for private in old_keys.values():
            try:
                key = open_grant(bytes(sealed), case_id, private)
            except CryptoError:
                continue
            resealed.append(
                {
                    "b_case_id": case_id,
                    "b_epoch": epoch,
                    "b_sealed_key": seal_grant(key, case_id, current),
                }
            )
            break
    if resealed:
        conn.execute(
            sa.update(g)
            .where(
                g.c.case_id == sa.bindparam("b_case_id"),
                g.c.recipient == recipient,
                g.c.epoch == sa.bindparam("b_epoch"),
            )
            .values(sealed_key=sa.bindparam("b_sealed_key")),
            resealed,
        )
    r = retired_desk_keys_table
    if old_keys:
        conn.execute(
            sa.delete(r).where(r.c.desk_id == desk_id, r.c.key_version.in_(list(old_keys)))
        )
    remaining = conn.execute(
        sa.select(sa.func.count()).select_from(r).where(r.c.desk_id == desk_id)
    ).scalar_one()
    conn.execute(
        sa.update(desks_table)
        .where(desks_table.c.id == desk_id)
        .values(rotation_due=bool(remaining))
    )
    return len(resealed)


def retired_keys(
    conn: sa.Connection, desk_id: str, holder: str, holder_private: PrivateKey
) -> dict[int, PrivateKey]:
    """The retired desk key versions ``holder`` (a staff id or ``recovery``) can open."""
    r = retired_desk_keys_table
    found: dict[int, PrivateKey] = {}
    for version, sealed in conn.execute(
        sa.select(r.c.key_version, r.c.sealed_key).where(
            r.c.desk_id == desk_id, r.c.holder == holder
        )
    ):
        try:
            found[int(version)] = PrivateKey(open_sealed(holder_private, bytes(sealed)))
        except CryptoError:
            continue
    return found


def rotate_desk_key(
    conn: sa.Connection, desk_id: str, current: PrivateKey, signer: Signer, actor: str
) -> Rotation:
    """Rotate with the current key in hand: :func:`rotate_now`, then :func:`consolidate`.

    :raises RotationRefused: if ``current`` is not the desk's key (see
        :func:`rotate_now` for the rest).
    """
    _lock(conn)
    logged = key_log.current_desk_keys(conn, [desk_id], signer.public_key).get(desk_id)
    if logged is None or bytes(current.public_key) != bytes(logged):
        raise RotationRefused(f"the key given is not the current key of desk {desk_id!r}")
    old_version = int(
        conn.execute(
            sa.select(desks_table.c.key_version).where(desks_table.c.id == desk_id)
        ).scalar_one()
    )
    rotation = rotate_now(conn, desk_id, signer, actor)
    resealed = consolidate(conn, desk_id, {old_version: current})
    return Rotation(
        desk_id,
        rotation.key_version,
        rotation.cases,
        rotation.members,
        rotation.private_key,
        resealed,
    )


def open_or_rotate(
    engine: sa.Engine, desk_id: str, staff_id: str, user_private: PrivateKey, signer: Signer
) -> PrivateKey | None:
    """The desk key as this member holds it, cleaning up retired versions first.

    None if the member holds no copy. When retired versions of the desk key
    are held (``rotation_due``: a rotation made without the old key), the
    member's copies of them open the older grants, which are sealed again to
    the current key (:func:`consolidate`). The check is repeated under the
    lock, so two members arriving at once clean up once. ``signer`` is kept
    for the callers' sake: nothing here is signed any more.
    """
    del signer
    with engine.connect() as conn:
        due = conn.execute(
            sa.select(desks_table.c.rotation_due).where(desks_table.c.id == desk_id)
        ).scalar_one_or_none()
        key = open_desk_key(conn, desk_id, staff_id, user_private)
    if key is None or not due:
        return key
    with engine.begin() as conn:
        _lock(conn)
        still_due = conn.execute(
            sa.select(desks_table.c.rotation_due).where(desks_table.c.id == desk_id)
        ).scalar_one()
        current = open_desk_key(conn, desk_id, staff_id, user_private)
        if current is None or not still_due:
            return current
        old = retired_keys(conn, desk_id, staff_id, user_private)
        if old:
            consolidate(conn, desk_id, old)
        return current
