"""Fingerprints of the deployment's secrets: a start with other ones is refused.

Every receipt is derived with the tenant salt, and every checkpoint and
proof is signed with the signing key. Started with another salt (a lost
``secrets.toml`` written again by hand, a typo in ``VISSELPIPA_TENANT_SALT``),
the deployment would answer "no case found" to every reporter; with another
signing key, it would sign what nobody can check against the published key.
Neither can be detected from the secret alone, so the database keeps a
fingerprint of each::

    tenant_salt  BLAKE2b-256(tenant salt (16 bytes), person = "vp.fp.salt.v1")
    signing_key  BLAKE2b-256(Ed25519 public key (32 bytes), person = "vp.fp.signkey.v1")

A fingerprint identifies the secret without revealing it: the salt has 128
random bits, and the public key is public anyway.

:func:`check_deployment_secrets` records them when the database has none
(``visselpipa init`` on a new database, or the first start after upgrading
to migration 0011) and otherwise refuses a mismatch with a message that says
which secret differs and how to restore it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Final

import sqlalchemy as sa

from caseflow.store.records import deployment_fingerprints_table
from config.settings import PREFIX, SECRETS_FILE, ConfigError, Settings
from crypto.signing import Signer

__all__ = [
    "SecretsMismatch",
    "check_deployment_secrets",
    "compare_fingerprints",
    "fingerprints",
    "recorded_fingerprints",
]

_PERSONS: Final = {"tenant_salt": b"vp.fp.salt.v1", "signing_key": b"vp.fp.signkey.v1"}
#: The setting that holds each secret, for the message.
_SETTING: Final = {"tenant_salt": "tenant_salt", "signing_key": "signing_seed"}
_CONSEQUENCE: Final = {
    "tenant_salt": "every receipt is derived with it, so no reporter could open their case",
    "signing_key": (
        "checkpoints and proofs of submission are signed with it, so they would no longer "
        "verify with the published key"
    ),
}


class SecretsMismatch(ConfigError):
    """The tenant salt or signing key is not the one this database was set up with."""


def fingerprints(settings: Settings) -> dict[str, bytes]:
    """The fingerprint of each secret of ``settings`` (see the module docstring)."""
    values = {
        "tenant_salt": settings.tenant_salt,
        "signing_key": Signer(settings.signing_seed).public_key,
    }
    return {
        name: hashlib.blake2b(value, digest_size=32, person=_PERSONS[name]).digest()
        for name, value in values.items()
    }


def check_deployment_secrets(engine: sa.Engine, settings: Settings) -> None:
    """Refuse ``settings`` whose secrets differ from those the database recorded.

    Records the fingerprints the database does not have yet.

    :raises SecretsMismatch: naming the secret that differs and how to restore it.
    :raises ConfigError: if the database has no fingerprint table (not migrated).
    """
    expected = fingerprints(settings)
    table = deployment_fingerprints_table
    try:
        with engine.begin() as conn:
            stored = _stored(conn)
            for name in sorted(set(expected) - set(stored)):
                try:
                    with conn.begin_nested():
                        conn.execute(sa.insert(table).values(name=name, fingerprint=expected[name]))
                except sa.exc.IntegrityError:
                    pass  # another instance recorded it first: compare with theirs
            stored = _stored(conn)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as e:
        raise ConfigError(
            "the database has no record of the deployment's secrets (it is older than "
            "migration 0011, or not set up): run `visselpipa init --if-missing` "
            f"({type(e).__name__})"
        ) from None
    compare_fingerprints(stored, settings)


def compare_fingerprints(stored: Mapping[str, bytes], settings: Settings) -> None:
    """Refuse ``settings`` whose secrets differ from the fingerprints ``stored``.

    ``stored`` is what a database recorded (or what a backup's manifest says
    its database recorded); a fingerprint it lacks is not compared.

    :raises SecretsMismatch: naming the secret that differs and how to restore it.
    """
    expected = fingerprints(settings)
    wrong = [name for name in sorted(expected) if name in stored and stored[name] != expected[name]]
    if wrong:
        raise SecretsMismatch(_message(wrong, settings))


def recorded_fingerprints(conn: sa.Connection) -> dict[str, bytes]:
    """The fingerprints the database behind ``conn`` recorded, by secret name."""
    return _stored(conn)


def _stored(conn: sa.Connection) -> dict[str, bytes]:
    table = deployment_fingerprints_table
    rows = conn.execute(sa.select(table.c.name, table.c.fingerprint))
    return {name: bytes(fingerprint) for name, fingerprint in rows}


def _message(wrong: list[str], settings: Settings) -> str:
    what = " ".join(
        f"{_SETTING[name]} is not the one this database was set up with ({_CONSEQUENCE[name]})."
        for name in wrong
    )
    variables = " and ".join(f"{PREFIX}{_SETTING[name].upper()}" for name in wrong)
    return (
        f"{what} Restore {settings.data_dir / SECRETS_FILE} from the backup taken with this "
        f"database (or set {variables} to the original value) and start again; never "
        "replace a secret with a new one while the database holds reports."
    )
