"""Reporter sessions on /status: the server half and the cookie half.

After a reporter types their receipt once, the reporter's private key (the
one their grants are sealed to, derived from the receipt) is kept so they can
read and answer without typing it again. Neither half opens the case alone:

- the cookie holds ``session id (32 bytes) || session key (32 bytes)``;
- the database holds ``BLAKE2b(session id)`` and the case id and reporter
  private key encrypted under the session key, together with the idle deadline.

Each request opens the case's grants with that key again, so a new
content-key epoch begun during the session (a desk member left:
identity.case_epochs) is the one the reporter's next message is sealed under.

A stolen database therefore holds no usable session, and a stolen cookie is
worthless once the row is gone (logout, idle timeout, daily sweep). Rows
carry only a day number for the sweep, never a time of activity.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from nacl.public import PrivateKey

from caseflow.clock import Clock, system_clock
from caseflow.store.records import reporter_sessions_table
from crypto import CryptoError, aead
from crypto.sealing import CaseKey, CaseKeys
from identity.case_epochs import REPORTER, open_case_keys

_TOKEN_BYTES = 64
_AD = b"visselpipa.reporter-session.v1"


@dataclass(frozen=True)
class CaseAccess:
    """What an open reporter session holds: the case, the reporter's key and the
    case keys it opens (one per epoch), never the receipt."""

    case_id: str
    keys: CaseKeys
    private_key: PrivateKey

    @property
    def key(self) -> CaseKey:
        """The newest epoch's key: the only one to seal the reporter's new items under."""
        return self.keys.current

    def __repr__(self) -> str:
        return f"CaseAccess(case_id={self.case_id!r}, keys=<hidden>)"


def open_access(conn: sa.Connection, case_id: str, private_key: PrivateKey) -> CaseAccess | None:
    """The reporter's access to ``case_id``: every epoch key their grants open; None if none."""
    keys = open_case_keys(conn, case_id, {REPORTER: [private_key]})
    return None if keys is None else CaseAccess(case_id, keys, private_key)


def _id_hash(session_id: bytes) -> bytes:
    return hashlib.blake2b(session_id, digest_size=32, person=b"vp.rsession.v1").digest()


def _day_number(moment: datetime) -> int:
    return moment.date().toordinal()


class ReporterSessions:
    def __init__(self, engine: sa.Engine, idle_minutes: int, clock: Clock = system_clock):
        self.engine = engine
        self.idle = timedelta(minutes=idle_minutes)
        self.clock = clock

    def start(self, access: CaseAccess) -> str:
        """Store the server half; return the cookie half (a URL-safe token)."""
        session_id, session_key = secrets.token_bytes(32), secrets.token_bytes(32)
        id_hash = _id_hash(session_id)
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(reporter_sessions_table).values(
                    id_hash=id_hash, **self._row(access, session_key, id_hash)
                )
            )
        return base64.urlsafe_b64encode(session_id + session_key).decode()

    def resume(self, token: str | None) -> CaseAccess | None:
        """The case behind a cookie token, sliding the idle deadline; None if gone."""
        parts = self._split(token)
        if parts is None:
            return None
        session_id, session_key = parts
        id_hash = _id_hash(session_id)
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(reporter_sessions_table.c.sealed).where(
                    reporter_sessions_table.c.id_hash == id_hash
                )
            ).first()
            if row is None:
                return None
            try:
                payload = json.loads(aead.decrypt(session_key, row.sealed, _AD + id_hash))
            except (CryptoError, ValueError):
                return None
            now = self.clock()
            if datetime.fromisoformat(payload["idle_until"]) < now:
                conn.execute(
                    sa.delete(reporter_sessions_table).where(
                        reporter_sessions_table.c.id_hash == id_hash
                    )
                )
                return None
            if "reporter_key" not in payload:
                # A session begun before content-key epochs held a case key
                # only: the reporter types the receipt again.
                return None
            access = open_access(
                conn, payload["case_id"], PrivateKey(bytes.fromhex(payload["reporter_key"]))
            )
            if access is None:  # shredded meanwhile: nothing to resume
                return None
            conn.execute(
                sa.update(reporter_sessions_table)
                .where(reporter_sessions_table.c.id_hash == id_hash)
                .values(**self._row(access, session_key, id_hash))
            )
            return access

    def end(self, token: str | None) -> None:
        parts = self._split(token)
        if parts is not None:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.delete(reporter_sessions_table).where(
                        reporter_sessions_table.c.id_hash == _id_hash(parts[0])
                    )
                )

    def sweep(self) -> int:
        """Delete rows whose purge day has passed; returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.delete(reporter_sessions_table).where(
                    reporter_sessions_table.c.purge_after_day < _day_number(self.clock())
                )
            )
            return result.rowcount or 0

    def _row(self, access: CaseAccess, session_key: bytes, id_hash: bytes) -> dict[str, object]:
        idle_until = self.clock() + self.idle
        payload = json.dumps(
            {
                "case_id": access.case_id,
                "reporter_key": bytes(access.private_key).hex(),
                "idle_until": idle_until.isoformat(),
            }
        ).encode()
        return {
            # The id hash is bound as associated data: a row copied onto
            # another session id does not open.
            "sealed": aead.encrypt(session_key, payload, _AD + id_hash),
            "purge_after_day": _day_number(idle_until) + 1,
        }

    @staticmethod
    def _split(token: str | None) -> tuple[bytes, bytes] | None:
        if not token:
            return None
        try:
            raw = base64.urlsafe_b64decode(token.encode())
        except (binascii.Error, ValueError):
            return None
        if len(raw) != _TOKEN_BYTES:
            return None
        return raw[:32], raw[32:]
