"""Setting up a deployment: desks with their keys, and optional demo staff."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa
from nacl.public import PrivateKey

from config.settings import Settings
from crypto.signing import Signer
from identity import accounts, key_log
from identity.deployment import check_deployment_secrets

DEMO_STAFF = (
    # username, role, desks
    ("utredare", "investigator", ("anticorruption",)),
    ("ledamot", "committee_member", ("ethics",)),
    ("tillsyn", "oversight", ("oversight",)),
    ("admin", "administrator", ()),
)


@dataclass
class Bootstrap:
    """What a first start created. The private keys exist only in this object."""

    created_desks: dict[str, PrivateKey] = field(default_factory=dict)
    recovery_key: PrivateKey | None = None
    demo_passwords: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Bootstrap(created_desks={sorted(self.created_desks)})"


def bootstrap(engine: sa.Engine, settings: Settings, *, demo: bool = False) -> Bootstrap:
    """Create the desks of ``config/desks.toml`` that do not exist yet.

    Every new desk's private key is sealed to a new organisation recovery key
    (returned once, for the operator to keep offline) and, with ``demo``, to
    demo staff accounts whose passwords are returned once.

    First records the fingerprints of the tenant salt and signing key (or,
    on a database that has them, refuses other ones: see
    :mod:`identity.deployment`).
    """
    check_deployment_secrets(engine, settings)
    result = Bootstrap()
    signer = Signer(settings.signing_seed)
    with engine.begin() as conn:
        existing = accounts.desk_ids(conn)
        missing = [d.id for d in settings.desks if d.id not in existing]
        if not missing:
            return result
        result.recovery_key = PrivateKey.generate()
        # Recorded so that every staff key created from now on gets a
        # recovery copy sealed to it.
        accounts.remember_recovery_key(conn, result.recovery_key.public_key)
        for desk_id in missing:
            result.created_desks[desk_id] = accounts.create_desk(
                conn, desk_id, result.recovery_key.public_key, signer
            )
        if demo:
            for username, role, desks in DEMO_STAFF:
                password = secrets.token_urlsafe(12)
                member, _ = accounts.create_staff(conn, username, role, password, settings.kdf)
                for desk_id in desks:
                    if desk_id in result.created_desks:
                        accounts.add_desk_member(
                            conn,
                            desk_id,
                            member.id,
                            result.created_desks[desk_id],
                            signer,
                            key_log.SYSTEM,
                        )
                result.demo_passwords[username] = (role, password)
    return result
