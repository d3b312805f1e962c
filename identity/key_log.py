"""Desk keys and memberships in the hash-chained log, each event signed.

The ``desks`` and ``desk_members`` tables are what the intake and the key
rotation read, and anyone who can write to the database can change them: put
their own public key in ``desks.public_key`` and the next report is sealed to
them; insert a ``desk_members`` row and the next rotation seals the desk key
to them. So every desk key (creation, rotation) and every membership change
is also an event in the log, in the desk's own stream ``dk:<desk>``:

- ``DeskKeyPublished`` — ``key_version``, ``public_key`` (hex);
- ``DeskMemberAdded`` — ``staff`` (account id), ``member_key`` (hex: the
  account's public key the desk key was sealed to);
- ``DeskMemberRemoved`` — ``staff``.

Each event's ``meta`` also carries ``key_id`` and ``signature``: the
deployment's Ed25519 signature (domain ``desk-log``) over the canonical JSON
of the desk, the event's version in the desk stream, its type and its fields.
The version binds the signature to its place: an old key event copied to the
end of the stream is a different message and does not verify. The actor is
the account that made the change, ``operator`` for the command line, or
``system`` for ``init``.

Who reads what:

- the intake and a referral seal only to :func:`current_desk_keys`: the
  newest ``DeskKeyPublished`` of the desk stream, its signature checked with
  the deployment's public key (one indexed query per desk, no walk of the
  log), and refuse with :class:`DeskKeyMismatch` when the ``desks`` row says
  anything else;
- a rotation seals the new desk key only to the members the log names, with
  the key the log recorded for each (:func:`logged_members`);
- ``visselpipa verify`` and ``visselpipa check`` compare both tables with
  the log (:func:`check_desk_tables`).

The residual trust is in whoever holds the signing seed (``secrets.toml``):
they can sign a key of their own choosing. SECURITY.md says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from nacl.public import PublicKey

from caseflow.store.events import (
    EventStore,
    NewEvent,
    RecordedEvent,
    canonical_json,
    events_table,
    recorded_event,
)
from caseflow.store.records import desk_members_table, desks_table
from crypto.errors import CryptoError
from crypto.signing import Signer, key_id, verify_signature

STREAM_PREFIX = "dk:"
SIGNATURE_DOMAIN = "desk-log"
KEY_PUBLISHED = "DeskKeyPublished"
MEMBER_ADDED = "DeskMemberAdded"
MEMBER_REMOVED = "DeskMemberRemoved"
TYPES = (KEY_PUBLISHED, MEMBER_ADDED, MEMBER_REMOVED)
#: The actor of changes made on the command line and by ``init``.
OPERATOR = "operator"
SYSTEM = "system"
#: Desk ids are at most this long, so that ``dk:<desk>`` fits a stream id.
DESK_ID_MAX = 61


class DeskKeyMismatch(Exception):
    """The ``desks`` table and the signed log disagree: nothing is sealed to either."""

    def __init__(self, desk_id: str, reason: str) -> None:
        super().__init__(f"desk {desk_id!r}: {reason}")
        self.desk_id = desk_id
        self.reason = reason


def stream_of(desk_id: str) -> str:
    if not desk_id or len(desk_id) > DESK_ID_MAX:
        raise ValueError(f"a desk id is 1 to {DESK_ID_MAX} characters, got {desk_id!r}")
    return STREAM_PREFIX + desk_id


def _statement(desk_id: str, version: int, kind: str, fields: Mapping[str, Any]) -> bytes:
    return canonical_json(
        {"desk": desk_id, "stream_version": version, "type": kind, **fields}
    ).encode("utf-8")


def _day(now: datetime | None) -> str:
    return (now or datetime.now().astimezone()).date().isoformat()


def _append(
    conn: sa.Connection,
    signer: Signer,
    desk_id: str,
    kind: str,
    fields: Mapping[str, Any],
    actor: str,
    now: datetime | None,
) -> RecordedEvent:
    """Sign and append one event to the desk's stream, in the caller's transaction."""
    store = EventStore(conn.engine)
    stream = stream_of(desk_id)
    version = store.stream_version(conn, stream) + 1
    signature = signer.sign(SIGNATURE_DOMAIN, _statement(desk_id, version, kind, fields))
    meta = {"desk": desk_id, **fields, "key_id": signer.key_id, "signature": signature.hex()}
    (recorded,) = store.append(
        conn, stream, version - 1, [NewEvent(kind, actor, _day(now), meta=meta)]
    )
    return recorded


def record_desk_key(
    conn: sa.Connection,
    signer: Signer,
    desk_id: str,
    key_version: int,
    public_key: PublicKey,
    actor: str,
    now: datetime | None = None,
) -> RecordedEvent:
    fields = {"key_version": key_version, "public_key": bytes(public_key).hex()}
    return _append(conn, signer, desk_id, KEY_PUBLISHED, fields, actor, now)


def record_member_added(
    conn: sa.Connection,
    signer: Signer,
    desk_id: str,
    staff_id: str,
    member_key: bytes,
    actor: str,
    now: datetime | None = None,
) -> RecordedEvent:
    fields = {"staff": staff_id, "member_key": member_key.hex()}
    return _append(conn, signer, desk_id, MEMBER_ADDED, fields, actor, now)


def record_member_removed(
    conn: sa.Connection,
    signer: Signer,
    desk_id: str,
    staff_id: str,
    actor: str,
    now: datetime | None = None,
) -> RecordedEvent:
    return _append(conn, signer, desk_id, MEMBER_REMOVED, {"staff": staff_id}, actor, now)


# -- reading and checking --------------------------------------------------------------


def _fields(event: RecordedEvent) -> dict[str, Any]:
    return {k: v for k, v in event.meta.items() if k not in ("desk", "key_id", "signature")}


def _check_signature(event: RecordedEvent, verify_key: bytes) -> str | None:
    """None when the event is a desk-log event signed by ``verify_key``; else what is wrong."""
    desk_id = event.stream_id[len(STREAM_PREFIX) :]
    if event.type not in TYPES:
        return f"event {event.seq} has the unknown type {event.type!r}"
    if event.meta.get("desk") != desk_id:
        return f"event {event.seq} names another desk"
    try:
        signature = bytes.fromhex(str(event.meta.get("signature", "")))
        verify_signature(
            verify_key,
            SIGNATURE_DOMAIN,
            _statement(desk_id, event.version, event.type, _fields(event)),
            signature,
        )
    except (ValueError, CryptoError):
        return (
            f"event {event.seq} ({event.type}) is not signed by this deployment's key "
            f"{key_id(verify_key)}"
        )
    return None


@dataclass
class DeskLog:
    """A desk as its stream of signed events says it is."""

    desk_id: str
    key_version: int = 0
    public_key: bytes = b""
    #: account id -> the public key the desk key was sealed to
    members: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_desk_log(conn: sa.Connection, desk_id: str, verify_key: bytes) -> DeskLog:
    """Fold the desk's stream; every unsigned or inconsistent event is a problem."""
    log = DeskLog(desk_id)
    for event in EventStore(conn.engine).read_stream(stream_of(desk_id), conn):
        wrong = _check_signature(event, verify_key)
        if wrong is not None:
            log.problems.append(wrong)
            continue
        if event.type == KEY_PUBLISHED:
            version = int(event.meta["key_version"])
            # The first key may carry any version (a desk made before the key
            # log was adopted with its rotation count); each later one is +1.
            if log.key_version and version != log.key_version + 1:
                log.problems.append(f"event {event.seq}: key version {version} out of order")
            log.key_version, log.public_key = version, bytes.fromhex(event.meta["public_key"])
        elif event.type == MEMBER_ADDED:
            log.members[str(event.meta["staff"])] = bytes.fromhex(event.meta["member_key"])
        else:
            log.members.pop(str(event.meta["staff"]), None)
    return log


def current_desk_keys(
    conn: sa.Connection, desk_ids: Iterable[str], verify_key: bytes
) -> dict[str, PublicKey]:
    """The public key each desk must be sealed to, from its newest signed key event.

    :raises DeskKeyMismatch: when a desk has no signed key in the log, or
        its newest key event's signature does not verify, or the ``desks``
        table holds another key or version.
    :raises LookupError: when a desk has neither a row nor a key in the log.
    """
    wanted = sorted(set(desk_ids))
    rows = {
        row.id: row
        for row in conn.execute(
            sa.select(desks_table.c.id, desks_table.c.public_key, desks_table.c.key_version).where(
                desks_table.c.id.in_(wanted)
            )
        )
    }
    t = events_table
    found: dict[str, PublicKey] = {}
    for desk_id in wanted:
        newest = conn.execute(
            sa.select(t)
            .where(t.c.stream_id == stream_of(desk_id), t.c.type == KEY_PUBLISHED)
            .order_by(t.c.version.desc())
            .limit(1)
        ).first()
        row = rows.get(desk_id)
        if newest is None:
            if row is None:
                raise LookupError(f"desk(s) without a key: {[desk_id]}; run `visselpipa init`")
            raise DeskKeyMismatch(
                desk_id, "its key is not in the signed log: run `visselpipa migrate`"
            )
        event = recorded_event(newest)
        wrong = _check_signature(event, verify_key)
        if wrong is not None:
            raise DeskKeyMismatch(desk_id, wrong)
        logged = bytes.fromhex(event.meta["public_key"])
        if row is None or bytes(row.public_key) != logged:
            raise DeskKeyMismatch(desk_id, "the desks table holds a key the log does not name")
        if int(row.key_version) != int(event.meta["key_version"]):
            raise DeskKeyMismatch(desk_id, "the desks table holds another key version")
        found[desk_id] = PublicKey(logged)
    return found


def logged_members(conn: sa.Connection, desk_id: str, verify_key: bytes) -> dict[str, bytes]:
    """The desk's members and their keys as the signed log says.

    :raises DeskKeyMismatch: when the desk's stream holds a problem.
    """
    log = read_desk_log(conn, desk_id, verify_key)
    if log.problems:
        raise DeskKeyMismatch(desk_id, log.problems[0])
    return log.members


def check_desk_tables(conn: sa.Connection, verify_key: bytes) -> list[str]:
    """Every disagreement between the ``desks``/``desk_members`` tables and the log."""
    desks = {
        row.id: row
        for row in conn.execute(
            sa.select(desks_table.c.id, desks_table.c.public_key, desks_table.c.key_version)
        )
    }
    t = events_table
    streams = set(
        conn.execute(
            sa.select(t.c.stream_id).where(t.c.stream_id.like(STREAM_PREFIX + "%")).distinct()
        ).scalars()
    )
    members: dict[str, set[str]] = {}
    for desk_id, staff_id in conn.execute(
        sa.select(desk_members_table.c.desk_id, desk_members_table.c.staff_id)
    ):
        members.setdefault(desk_id, set()).add(staff_id)
    problems: list[str] = []
    for desk_id in sorted(set(desks) | {s[len(STREAM_PREFIX) :] for s in streams}):
        row = desks.get(desk_id)
        if row is None:
            problems.append(f"desk {desk_id!r}: in the log but not in the desks table")
            continue
        log = read_desk_log(conn, desk_id, verify_key)
        problems.extend(f"desk {desk_id!r}: {p}" for p in log.problems)
        if log.key_version == 0:
            problems.append(f"desk {desk_id!r}: its key is not in the signed log")
            continue
        if bytes(row.public_key) != log.public_key or int(row.key_version) != log.key_version:
            problems.append(f"desk {desk_id!r}: the desks table holds a key the log does not name")
        table_members = members.get(desk_id, set())
        for staff_id in sorted(table_members - set(log.members)):
            problems.append(
                f"desk {desk_id!r}: member {staff_id} is in the desk_members table, not in the log"
            )
        for staff_id in sorted(set(log.members) - table_members):
            problems.append(
                f"desk {desk_id!r}: member {staff_id} is in the log but holds no desk key"
            )
    return problems


def desks_missing_from_log(conn: sa.Connection) -> list[str]:
    """Desks whose key has no event in the log yet (a database from before the key log)."""
    t = events_table
    logged = set(
        conn.execute(sa.select(t.c.stream_id).where(t.c.type == KEY_PUBLISHED).distinct()).scalars()
    )
    return sorted(
        desk_id
        for desk_id in conn.execute(sa.select(desks_table.c.id)).scalars()
        if stream_of(desk_id) not in logged
    )


def adopt_existing_desks(
    conn: sa.Connection, signer: Signer, now: datetime | None = None
) -> list[str]:
    """Record in the log the keys and members of desks made before the key log.

    Trust on first use: what the tables hold at this moment is signed, so run
    it (``visselpipa migrate`` does) on the database as it was, before anyone
    else could write to it; ``visselpipa desk-keys`` prints what was signed.
    Returns the desks adopted.
    """
    from caseflow.store.records import staff_table

    adopted = desks_missing_from_log(conn)
    for desk_id in adopted:
        row = conn.execute(
            sa.select(desks_table.c.public_key, desks_table.c.key_version).where(
                desks_table.c.id == desk_id
            )
        ).one()
        public = PublicKey(bytes(row.public_key))
        record_desk_key(conn, signer, desk_id, int(row.key_version), public, SYSTEM, now)
        for staff_id, public in conn.execute(
            sa.select(desk_members_table.c.staff_id, staff_table.c.public_key)
            .join(staff_table, staff_table.c.id == desk_members_table.c.staff_id)
            .where(desk_members_table.c.desk_id == desk_id)
            .order_by(desk_members_table.c.staff_id)
        ).all():
            record_member_added(conn, signer, desk_id, staff_id, bytes(public), SYSTEM, now)
    return adopted
