"""Deliberately mutable tables beside the append-only log.

What lives here either must be destroyable (grants: crypto-shredding removes
them), or is key material and indexes that the log does not need to replay:

- ``desks``: each desk's public key (its private half lives only sealed to members).
- ``staff``: staff accounts with their password hash and password-wrapped key pair.
- ``desk_members``: the desk private key sealed to each member's public key.
- ``grants``: a case's content key sealed to a desk or to the reporter.
- ``reporter_index``: the receipt-derived lookup tag → case, and the reporter's
  public key. Neither the receipt nor anything derived from it that opens the
  case is stored.
- ``reporter_sessions``: a reporter's open /status session: the case key
  encrypted under a key that exists only in the reporter's cookie.
- ``files``: where each encrypted attachment blob lives, by random id.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
)

from caseflow.store.metadata import metadata

desks_table = Table(
    "desks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("key_version", Integer, nullable=False, default=1),
    # The desk private key sealed to the organisation recovery key (kept
    # offline), so a desk whose last member leaves is not lost.
    Column("recovery_sealed_key", LargeBinary, nullable=False),
)

staff_table = Table(
    "staff",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(150), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("key_salt", LargeBinary(16), nullable=False),
    Column("wrapped_private_key", LargeBinary, nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
)

desk_members_table = Table(
    "desk_members",
    metadata,
    Column("desk_id", String(64), ForeignKey("desks.id"), primary_key=True),
    Column("staff_id", String(32), ForeignKey("staff.id"), primary_key=True),
    Column("sealed_desk_key", LargeBinary, nullable=False),
)

grants_table = Table(
    "grants",
    metadata,
    Column("case_id", String(64), primary_key=True),
    # "desk:<id>" or "reporter"
    Column("recipient", String(80), primary_key=True),
    Column("sealed_key", LargeBinary, nullable=False),
)

reporter_index_table = Table(
    "reporter_index",
    metadata,
    Column("lookup_tag", LargeBinary(32), primary_key=True),
    Column("case_id", String(64), nullable=False, unique=True),
    Column("public_key", LargeBinary(32), nullable=False),
)

reporter_sessions_table = Table(
    "reporter_sessions",
    metadata,
    # BLAKE2b of the session id in the cookie: a stolen database row cannot be
    # turned back into a cookie.
    Column("id_hash", LargeBinary(32), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    # A day number (days since 1970-01-01) after which a sweep may delete the
    # row. The precise idle expiry lives inside ``sealed``, readable only with
    # the cookie: the table records no minute at which a reporter was active.
    Column("purge_after_day", Integer, nullable=False, index=True),
)

files_table = Table(
    "files",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("encrypted_bytes", BigInteger, nullable=False),
)
