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
- ``organisation_keys``: public keys of the organisation (the offline recovery
  key), so new staff keys can be given a recovery copy.
- ``staff_sessions``: a staff member's signed-in session: their private key
  encrypted under a key that exists only in their cookie.
- ``staff_recovery_codes``: single-use second-factor recovery codes (hashes).
- ``login_throttle``: failed sign-in counters per (keyed hash of a) username.
- ``deployment_fingerprints``: hashes of the tenant salt and the signing
  key's public key, so a start with other secrets is refused.

Every stored Argon2id derivation (a receipt's index row, a staff key) carries
its cost as text, ``argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt role>``
(:meth:`crypto.kdf.KdfCost.to_text`): a new cost applies to new derivations,
and the old ones are derived again with their own.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    false,
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
    # A member was removed by someone who does not hold the desk key: the
    # next member to open it rotates it (identity/desk_keys.py).
    Column("rotation_due", Boolean, nullable=False, server_default=false()),
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
    # The Argon2id cost that wrapped it (salt role "key_salt"); the password
    # hash carries its own in its PHC string.
    Column("key_kdf", String(64), nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
    # The private key sealed to the organisation recovery key, so a forgotten
    # password does not lose the desks this member holds (NULL for accounts
    # created before migration 0004, until they next sign in).
    Column("recovery_sealed_key", LargeBinary, nullable=True),
    # The TOTP secret sealed to the member's own public key: opening it needs
    # the password-unlocked private key, so a stolen database mints no codes.
    Column("totp_sealed", LargeBinary, nullable=True),
    # A secret shown during enrolment but not yet confirmed with a code.
    Column("totp_pending_sealed", LargeBinary, nullable=True),
    # The last accepted TOTP time step: a code is never accepted twice.
    Column("totp_last_step", BigInteger, nullable=True),
    # The member's name and other names they are known by (one per line):
    # matched against a report's "who was involved" before it is sealed, so
    # a member named in a report is recused (identity/names.py).
    Column("display_name", String(200), nullable=True),
    Column("other_names", Text, nullable=True),
    # Staff notifications (migration 0015): the member's own address, set by
    # them on /staff/notifications, and whether they want the daily digest.
    # Staff personal data; nothing of a reporter.
    Column("email", String(254), nullable=True),
    Column("mail_notifications", Boolean, nullable=False, server_default=false()),
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
    # The content-key epoch (1 at intake; a new one each time a member
    # leaves a desk of the case): each epoch has its own random case key.
    Column("epoch", Integer, primary_key=True, server_default="1"),
    Column("sealed_key", LargeBinary, nullable=False),
)

retired_desk_keys_table = Table(
    "retired_desk_keys",
    metadata,
    # An older version of a desk's key, kept sealed to each member who held
    # it (and to the recovery key, holder "recovery") after a rotation made
    # without it in hand (a removal in the browser): the grants of earlier
    # epochs are still sealed to it until a member re-seals them to the
    # newest key and these rows are deleted (identity/desk_keys.py).
    Column("desk_id", String(64), ForeignKey("desks.id"), primary_key=True),
    Column("key_version", Integer, primary_key=True),
    Column("holder", String(32), primary_key=True),
    Column("sealed_key", LargeBinary, nullable=False),
)

reporter_index_table = Table(
    "reporter_index",
    metadata,
    Column("lookup_tag", LargeBinary(32), primary_key=True),
    Column("case_id", String(64), nullable=False, unique=True),
    Column("public_key", LargeBinary(32), nullable=False),
    # The Argon2id cost the tag was derived with (salt role "tenant_salt").
    # Indexed: a receipt check derives once per distinct cost, found by
    # walking this index (one or two steps), not by reading the table.
    Column("kdf", String(64), nullable=False, index=True),
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

organisation_keys_table = Table(
    "organisation_keys",
    metadata,
    # "recovery": the public half of the offline organisation recovery key.
    Column("name", String(32), primary_key=True),
    Column("public_key", LargeBinary(32), nullable=False),
)

staff_sessions_table = Table(
    "staff_sessions",
    metadata,
    # BLAKE2b of the session id in the cookie, as for reporter sessions.
    Column("id_hash", LargeBinary(32), primary_key=True),
    Column("staff_id", String(32), ForeignKey("staff.id"), nullable=False, index=True),
    # The member's private key under the cookie's session key; the staff id
    # and the second-factor flag are bound in as associated data.
    Column("sealed_private_key", LargeBinary, nullable=False),
    Column("second_factor_done", Boolean, nullable=False),
    # Epoch seconds. Staff times may be precise (unlike reporter times).
    Column("created_at", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

staff_recovery_codes_table = Table(
    "staff_recovery_codes",
    metadata,
    Column("staff_id", String(32), ForeignKey("staff.id"), primary_key=True),
    # The first characters of the code, random and stored in clear, pick the
    # row so that checking a code costs one Argon2id verification, not ten.
    Column("selector", String(8), primary_key=True),
    Column("code_hash", String(255), nullable=False),
)

login_throttle_table = Table(
    "login_throttle",
    metadata,
    # Keyed BLAKE2b of the normalised username that was typed. Unknown
    # usernames are counted exactly like known ones, so a lock reveals
    # nothing about which accounts exist; hashing keeps a password typed
    # into the username field out of the database.
    Column("key_hash", LargeBinary(32), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("lockouts", Integer, nullable=False),
    Column("locked_until", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False, index=True),
)

deployment_fingerprints_table = Table(
    "deployment_fingerprints",
    metadata,
    # "tenant_salt" or "signing_key"
    Column("name", String(32), primary_key=True),
    # BLAKE2b-256 with a personalisation per name (identity/deployment.py):
    # it identifies the secret without revealing it.
    Column("fingerprint", LargeBinary(32), nullable=False),
)
