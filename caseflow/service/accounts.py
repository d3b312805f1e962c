"""Desks, staff accounts and desk membership: the key material behind them.

- Each desk has an X25519 key pair. Its private half is stored only sealed:
  to each member's public key, and to the organisation recovery key.
- Each staff member has a key pair whose private half is encrypted under a
  key derived from their password (Argon2id); the password itself is kept
  as an Argon2id hash for login.

The staff workspace (sessions, second factor, rotation) builds on this.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from nacl.public import PrivateKey, PublicKey

from caseflow.store.records import desk_members_table, desks_table, staff_table
from crypto.kdf import KdfCost
from crypto.sealing import seal_to
from crypto.userkeys import wrap_private_key

ROLES = ("investigator", "desk_lead", "committee_member", "oversight", "administrator", "auditor")


@dataclass(frozen=True)
class StaffMember:
    id: str
    username: str
    role: str


def password_hasher(cost: KdfCost) -> PasswordHasher:
    return PasswordHasher(
        time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism
    )


def create_desk(conn: sa.Connection, desk_id: str, recovery_key: PublicKey) -> PrivateKey:
    """Create a desk and return its private key (to seal to the first members)."""
    private = PrivateKey.generate()
    conn.execute(
        sa.insert(desks_table).values(
            id=desk_id,
            public_key=bytes(private.public_key),
            key_version=1,
            recovery_sealed_key=seal_to(recovery_key, bytes(private)),
        )
    )
    return private


def desk_ids(conn: sa.Connection) -> set[str]:
    return set(conn.execute(sa.select(desks_table.c.id)).scalars())


def create_staff(
    conn: sa.Connection, username: str, role: str, password: str, cost: KdfCost
) -> tuple[StaffMember, PrivateKey]:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    private = PrivateKey.generate()
    salt = secrets.token_bytes(16)
    member = StaffMember(secrets.token_hex(16), username, role)
    conn.execute(
        sa.insert(staff_table).values(
            id=member.id,
            username=username,
            role=role,
            password_hash=password_hasher(cost).hash(password),
            key_salt=salt,
            wrapped_private_key=wrap_private_key(private, password, salt, cost),
            public_key=bytes(private.public_key),
        )
    )
    return member, private


def add_desk_member(
    conn: sa.Connection, desk_id: str, staff_id: str, desk_private: PrivateKey
) -> None:
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
