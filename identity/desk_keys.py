"""Rotating a desk's key when a member leaves.

Removing a member deletes their sealed copy of the desk key, but they may
have kept the key itself. Rotation makes that copy worthless:

1. a new desk key pair is made;
2. every grant of the desk (each case key sealed to the old public key) is
   opened with the old private key and sealed again to the new public key —
   old cases stay readable by the desk, and only with the new key;
3. the new private key is sealed to every remaining member and to the
   organisation recovery key; the desk's public key and version change, so
   new cases are sealed to the new key.

All of it happens in one transaction that holds the log's append lock (on
PostgreSQL the advisory lock; on SQLite the transaction began with BEGIN
IMMEDIATE), because the intake seals new grants inside its append
transaction: a report arriving during the rotation is sealed either before it
(and re-sealed by it) or after it (to the new key), never to the old key
after the old key was retired.

Rotation needs the current desk private key. The command line has it through
the recovery key; an administrator removing a member in the browser holds no
desk key, so the removal only marks the desk ``rotation_due``, and the next
member whose session opens the desk key rotates it (:func:`open_or_rotate`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from nacl.public import PrivateKey, PublicKey

from caseflow.store.events import APPEND_LOCK_KEY
from caseflow.store.records import desk_members_table, desks_table, grants_table
from crypto.sealing import open_grant, seal_grant, seal_to
from crypto.signing import Signer
from identity import key_log
from identity.accounts import open_desk_key, recovery_public_key


class RotationRefused(Exception):
    """The key given is not the desk's current key, or the desk cannot be rotated."""


@dataclass(frozen=True)
class Rotation:
    desk_id: str
    key_version: int
    grants_resealed: int
    members: int
    private_key: PrivateKey

    def __repr__(self) -> str:  # never print the key
        return (
            f"Rotation(desk_id={self.desk_id!r}, key_version={self.key_version}, "
            f"grants_resealed={self.grants_resealed}, members={self.members})"
        )


def _lock(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))


def rotate_desk_key(
    conn: sa.Connection, desk_id: str, current: PrivateKey, signer: Signer, actor: str
) -> Rotation:
    """Rotate ``desk_id``'s key in the caller's (writing) transaction; see the module text.

    The new key is sealed to the members the signed log names, each to the
    public key the log recorded for them, never to what the tables say; the
    new public key is a signed event too.

    :raises RotationRefused: if ``current`` is not the desk's key, or no
        organisation recovery key is recorded (the new key would be lost
        with its last member).
    :raises key_log.DeskKeyMismatch: if the tables disagree with the log.
    """
    _lock(conn)
    desk = conn.execute(sa.select(desks_table).where(desks_table.c.id == desk_id)).first()
    if desk is None:
        raise RotationRefused(f"there is no desk {desk_id!r}")
    logged = key_log.current_desk_keys(conn, [desk_id], signer.public_key)[desk_id]
    if bytes(current.public_key) != bytes(logged):
        raise RotationRefused(f"the key given is not the current key of desk {desk_id!r}")
    members = key_log.logged_members(conn, desk_id, signer.public_key)
    in_table = set(
        conn.execute(
            sa.select(desk_members_table.c.staff_id).where(desk_members_table.c.desk_id == desk_id)
        ).scalars()
    )
    if in_table != set(members):
        raise key_log.DeskKeyMismatch(
            desk_id, "the desk_members table and the signed log name different members"
        )
    recovery = recovery_public_key(conn)
    if recovery is None:
        raise RotationRefused("no organisation recovery key is recorded: run `visselpipa init`")
    new = PrivateKey.generate()
    recipient = f"desk:{desk_id}"
    grants = conn.execute(
        sa.select(grants_table.c.case_id, grants_table.c.sealed_key).where(
            grants_table.c.recipient == recipient
        )
    ).all()
    resealed = [
        {
            "b_case_id": case_id,
            "b_sealed_key": seal_grant(
                open_grant(bytes(sealed), case_id, current), case_id, new.public_key
            ),
        }
        for case_id, sealed in grants
    ]
    if resealed:
        t = grants_table
        conn.execute(
            sa.update(t)
            .where(t.c.case_id == sa.bindparam("b_case_id"), t.c.recipient == recipient)
            .values(sealed_key=sa.bindparam("b_sealed_key")),
            resealed,
        )
    for staff_id, public in sorted(members.items()):
        conn.execute(
            sa.update(desk_members_table)
            .where(
                desk_members_table.c.desk_id == desk_id,
                desk_members_table.c.staff_id == staff_id,
            )
            .values(sealed_desk_key=seal_to(PublicKey(public), bytes(new)))
        )
    version = int(desk.key_version) + 1
    conn.execute(
        sa.update(desks_table)
        .where(desks_table.c.id == desk_id)
        .values(
            public_key=bytes(new.public_key),
            key_version=version,
            recovery_sealed_key=seal_to(recovery, bytes(new)),
            rotation_due=False,
        )
    )
    key_log.record_desk_key(conn, signer, desk_id, version, new.public_key, actor)
    return Rotation(desk_id, version, len(resealed), len(members), new)


def open_or_rotate(
    engine: sa.Engine, desk_id: str, staff_id: str, user_private: PrivateKey, signer: Signer
) -> PrivateKey | None:
    """The desk key as this member holds it, rotating it first if a rotation is due.

    None if the member holds no copy. The check is repeated under the lock,
    so two members arriving at once rotate once.
    """
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
        return rotate_desk_key(conn, desk_id, current, signer, staff_id).private_key
