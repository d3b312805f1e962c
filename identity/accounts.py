"""Desks, staff accounts and desk membership: the key material behind them.

- Each desk has an X25519 key pair. Its private half is stored only sealed:
  to each member's public key, and to the organisation recovery key.
- Every desk key and every membership change is also a signed event in the
  log (:mod:`identity.key_log`), which the intake and rotations trust over
  the tables.
- Each staff member has a key pair whose private half is encrypted under a
  key derived from their password (Argon2id); the password itself is kept
  as an Argon2id hash for login.

The staff workspace (sessions, second factor, rotation) builds on this.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from nacl.public import PrivateKey, PublicKey

from caseflow.store.records import (
    desk_members_table,
    desks_table,
    organisation_keys_table,
    staff_table,
)
from crypto.kdf import KdfCost
from crypto.sealing import open_sealed, seal_to
from crypto.signing import Signer
from crypto.userkeys import wrap_private_key
from identity import key_log
from identity.roles import ROLES

#: The salt role of a staff key's derivation: the row's own ``key_salt``.
KEY_SALT = "key_salt"


@dataclass(frozen=True)
class StaffMember:
    id: str
    username: str
    role: str


def password_hasher(cost: KdfCost) -> PasswordHasher:
    """Argon2id PHC hashes at ``cost``. A hash carries its own parameters, so
    one made at an older cost still verifies (and ``check_needs_rehash`` says so)."""
    return PasswordHasher(
        time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism
    )


def normalise_password(password: str) -> str:
    """NFC, as :func:`crypto.kdf.derive_key_from_password` does for the key:
    the same password typed on another keyboard must pass the hash check too."""
    return unicodedata.normalize("NFC", password)


def remember_recovery_key(conn: sa.Connection, public: PublicKey) -> None:
    """Record the organisation recovery public key (the newest one wins)."""
    conn.execute(
        sa.delete(organisation_keys_table).where(organisation_keys_table.c.name == "recovery")
    )
    conn.execute(
        sa.insert(organisation_keys_table).values(name="recovery", public_key=bytes(public))
    )


def recovery_public_key(conn: sa.Connection) -> PublicKey | None:
    """The organisation recovery public key, if this deployment recorded one."""
    raw = conn.execute(
        sa.select(organisation_keys_table.c.public_key).where(
            organisation_keys_table.c.name == "recovery"
        )
    ).scalar_one_or_none()
    return None if raw is None else PublicKey(raw)


def create_desk(
    conn: sa.Connection,
    desk_id: str,
    recovery_key: PublicKey,
    signer: Signer,
    actor: str = key_log.SYSTEM,
) -> PrivateKey:
    """Create a desk and return its private key (to seal to the first members).

    Its public key is also a signed event in the log (:mod:`identity.key_log`).
    """
    private = PrivateKey.generate()
    conn.execute(
        sa.insert(desks_table).values(
            id=desk_id,
            public_key=bytes(private.public_key),
            key_version=1,
            recovery_sealed_key=seal_to(recovery_key, bytes(private)),
        )
    )
    key_log.record_desk_key(conn, signer, desk_id, 1, private.public_key, actor)
    return private


def desk_ids(conn: sa.Connection) -> set[str]:
    return set(conn.execute(sa.select(desks_table.c.id)).scalars())


def create_staff(
    conn: sa.Connection,
    username: str,
    role: str,
    password: str,
    cost: KdfCost,
    display_name: str = "",
    other_names: tuple[str, ...] = (),
) -> tuple[StaffMember, PrivateKey]:
    """Create an account; its private key gets a recovery copy when the
    organisation recovery key is known (see :func:`remember_recovery_key`).

    ``display_name`` and ``other_names`` are matched against the persons a
    report names, so the member is recused from it (identity/names.py)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    private = PrivateKey.generate()
    salt = secrets.token_bytes(16)
    member = StaffMember(secrets.token_hex(16), username, role)
    recovery = recovery_public_key(conn)
    conn.execute(
        sa.insert(staff_table).values(
            id=member.id,
            username=username,
            role=role,
            password_hash=password_hasher(cost).hash(normalise_password(password)),
            key_salt=salt,
            wrapped_private_key=wrap_private_key(private, password, salt, cost),
            key_kdf=cost.to_text(KEY_SALT),
            public_key=bytes(private.public_key),
            recovery_sealed_key=None if recovery is None else seal_to(recovery, bytes(private)),
            display_name=display_name or None,
            other_names="\n".join(other_names) or None,
        )
    )
    return member, private


def set_names(
    conn: sa.Connection, staff_id: str, display_name: str, other_names: tuple[str, ...]
) -> bool:
    """Replace an account's names; False if there is no such account."""
    result = conn.execute(
        sa.update(staff_table)
        .where(staff_table.c.id == staff_id)
        .values(display_name=display_name or None, other_names="\n".join(other_names) or None)
    )
    return bool(result.rowcount)


def staff_names(conn: sa.Connection) -> dict[str, tuple[str, ...]]:
    """Every account's names (display name first), for accounts that have any."""
    rows = conn.execute(
        sa.select(staff_table.c.id, staff_table.c.display_name, staff_table.c.other_names)
    ).all()
    found: dict[str, tuple[str, ...]] = {}
    for staff_id, display, others in rows:
        names = tuple(n for n in (display or "", *(others or "").splitlines()) if n)
        if names:
            found[staff_id] = names
    return found


def add_desk_member(
    conn: sa.Connection,
    desk_id: str,
    staff_id: str,
    desk_private: PrivateKey,
    signer: Signer,
    actor: str,
) -> None:
    """Seal the desk key to the account's public key, and record it in the log.

    :raises key_log.DeskKeyMismatch: when ``desk_private`` is not the key
        the signed log names for the desk (nothing is sealed).
    """
    current = key_log.current_desk_keys(conn, [desk_id], signer.public_key)[desk_id]
    if bytes(current) != bytes(desk_private.public_key):
        raise key_log.DeskKeyMismatch(desk_id, "the key given is not the desk's current key")
    public = conn.execute(
        sa.select(staff_table.c.public_key).where(staff_table.c.id == staff_id)
    ).scalar_one()
    conn.execute(
        sa.insert(desk_members_table).values(
            desk_id=desk_id,
            staff_id=staff_id,
            sealed_desk_key=seal_to(PublicKey(public), bytes(desk_private)),
        )
    )
    key_log.record_member_added(conn, signer, desk_id, staff_id, bytes(public), actor)


def delete_membership(
    conn: sa.Connection, desk_id: str, staff_id: str, signer: Signer, actor: str
) -> bool:
    """Delete the member's sealed copy of the desk key and log it; False if there was none.

    .. warning::
       Alone this revokes nothing: the member may have kept the desk key and
       case keys. Call :func:`identity.desk_keys.remove_desk_member`, which
       rotates the desk key and starts new case-key epochs in the same
       transaction.
    """
    result = conn.execute(
        sa.delete(desk_members_table).where(
            desk_members_table.c.desk_id == desk_id, desk_members_table.c.staff_id == staff_id
        )
    )
    if not result.rowcount:
        return False
    key_log.record_member_removed(conn, signer, desk_id, staff_id, actor)
    return True


def member_desks(conn: sa.Connection, staff_id: str) -> tuple[str, ...]:
    """The desks whose key is sealed to this member, sorted."""
    return tuple(
        conn.execute(
            sa.select(desk_members_table.c.desk_id)
            .where(desk_members_table.c.staff_id == staff_id)
            .order_by(desk_members_table.c.desk_id)
        ).scalars()
    )


def open_desk_key(
    conn: sa.Connection, desk_id: str, staff_id: str, user_private: PrivateKey
) -> PrivateKey | None:
    """The desk private key as this member holds it; None if not a member.

    :raises crypto.DecryptionFailed: if the sealed copy does not open.
    """
    sealed = conn.execute(
        sa.select(desk_members_table.c.sealed_desk_key).where(
            desk_members_table.c.desk_id == desk_id, desk_members_table.c.staff_id == staff_id
        )
    ).scalar_one_or_none()
    return None if sealed is None else PrivateKey(open_sealed(user_private, sealed))


def open_desk_key_for_recovery(
    conn: sa.Connection, desk_id: str, recovery_private: PrivateKey
) -> PrivateKey | None:
    """The desk private key opened with the offline recovery key; None if no such desk.

    :raises crypto.DecryptionFailed: if it is not this organisation's recovery key.
    """
    sealed = conn.execute(
        sa.select(desks_table.c.recovery_sealed_key).where(desks_table.c.id == desk_id)
    ).scalar_one_or_none()
    return None if sealed is None else PrivateKey(open_sealed(recovery_private, sealed))


def staff_by_username(conn: sa.Connection, username: str) -> StaffMember | None:
    """The account named ``username``, or None."""
    row = conn.execute(
        sa.select(staff_table.c.id, staff_table.c.username, staff_table.c.role).where(
            staff_table.c.username == username
        )
    ).first()
    return None if row is None else StaffMember(row.id, row.username, row.role)


def username_taken(conn: sa.Connection, username: str) -> bool:
    """Whether an account has this username, ignoring case ("Anna" beside "anna"
    would confuse every list and log)."""
    wanted = username.strip().casefold()
    taken = conn.execute(sa.select(staff_table.c.username)).scalars()
    return any(u.casefold() == wanted for u in taken)


@dataclass(frozen=True)
class AccountSummary:
    """One account as the administration pages list it: no key material, no hash."""

    id: str
    username: str
    role: str
    desks: tuple[str, ...]
    enrolled: bool
    display_name: str = ""
    other_names: tuple[str, ...] = ()
    #: Whether the member wants the daily mail digest and gave an address
    #: (the address itself is theirs: the administration pages do not show it).
    mail_on: bool = False


def list_accounts(conn: sa.Connection) -> list[AccountSummary]:
    """Every account, by username, with the desks it is a member of."""
    s, m = staff_table, desk_members_table
    rows = conn.execute(
        sa.select(
            s.c.id,
            s.c.username,
            s.c.role,
            s.c.totp_sealed.is_not(None),
            s.c.display_name,
            s.c.other_names,
            sa.and_(s.c.mail_notifications.is_(True), s.c.email.is_not(None)),
        ).order_by(s.c.username)
    ).all()
    members: dict[str, list[str]] = {}
    for desk_id, staff_id in conn.execute(
        sa.select(m.c.desk_id, m.c.staff_id).order_by(m.c.desk_id)
    ):
        members.setdefault(staff_id, []).append(desk_id)
    return [
        AccountSummary(
            r.id,
            r.username,
            r.role,
            tuple(members.get(r.id, ())),
            bool(r[3]),
            r.display_name or "",
            tuple((r.other_names or "").splitlines()),
            bool(r[6]),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class MailChoice:
    """A member's own choice of staff notifications: where to, and whether at all."""

    address: str | None
    enabled: bool


def mail_choice(conn: sa.Connection, staff_id: str) -> MailChoice:
    s = staff_table
    row = conn.execute(sa.select(s.c.email, s.c.mail_notifications).where(s.c.id == staff_id)).one()
    return MailChoice(row.email, bool(row.mail_notifications))


def set_mail_choice(conn: sa.Connection, staff_id: str, choice: MailChoice) -> None:
    """Keep the member's address (None: none) and whether they want the daily digest.

    :raises ValueError: mail switched on without an address.
    """
    if choice.enabled and not choice.address:
        raise ValueError("mail switched on without an address")
    conn.execute(
        sa.update(staff_table)
        .where(staff_table.c.id == staff_id)
        .values(email=choice.address or None, mail_notifications=choice.enabled)
    )
