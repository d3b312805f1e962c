"""Staff sessions: the server half and the cookie half, as for reporters.

Once a member has typed their password, their private key (which opens
their desks' keys) is kept so they need not type it on every page. Neither
half opens it alone:

- the cookie holds ``session id (32 bytes) || session key (32 bytes)``;
- the database holds ``BLAKE2b(session id)``, the staff id, the times, and
  the private key encrypted under the session key. The staff id and whether
  the second factor was passed are bound in as associated data, so editing
  either column makes the row unreadable rather than promoting it.

Only the database is shared, so any app instance opens a session another
one created. Staff times are stored to the second (unlike reporter times):
a session ends after ``idle`` without activity and ``lifetime`` after it
began, whichever comes first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from nacl.public import PrivateKey

from caseflow.clock import Clock, system_clock
from caseflow.store.records import staff_sessions_table
from crypto import CryptoError, aead

_TOKEN_BYTES = 64
_AD = b"visselpipa.staff-session.v1"
#: Activity within this many seconds of the last recorded one is not written
#: again: a page with several requests costs one UPDATE, not several.
_TOUCH_GRANULARITY = 15


def _id_hash(session_id: bytes) -> bytes:
    return hashlib.blake2b(session_id, digest_size=32, person=b"vp.ssession.v1").digest()


def _associated_data(id_hash: bytes, staff_id: str, second_factor_done: bool) -> bytes:
    return _AD + id_hash + staff_id.encode() + (b"\x01" if second_factor_done else b"\x00")


@dataclass(frozen=True, repr=False)
class StaffSession:
    """An open session: who, whether the second factor is done, and the key.

    .. warning::
       ``private_key`` opens every desk key the member holds. Keep it for the
       request only; ``repr()`` hides it.
    """

    token: str
    staff_id: str
    second_factor_done: bool
    private_key: PrivateKey
    created_at: int
    expires_at: int

    def __repr__(self) -> str:
        done = self.second_factor_done
        return f"StaffSession(staff_id={self.staff_id!r}, second_factor_done={done})"


class StaffSessions:
    """Create, open, elevate and end staff sessions stored in the database."""

    def __init__(
        self,
        engine: sa.Engine,
        idle_minutes: int,
        lifetime_hours: int,
        clock: Clock = system_clock,
    ) -> None:
        self.engine = engine
        self.idle = int(timedelta(minutes=idle_minutes).total_seconds())
        self.lifetime = int(timedelta(hours=lifetime_hours).total_seconds())
        self.clock = clock

    def _now(self) -> int:
        return int(self.clock().timestamp())

    def create(
        self,
        staff_id: str,
        private_key: PrivateKey,
        *,
        second_factor_done: bool = False,
        expires_at: int | None = None,
    ) -> str:
        """Store the server half; return the cookie half (a URL-safe token).

        ``expires_at`` carries the absolute end over when a session is
        replaced by a new one (after the second factor): elevating a session
        does not extend its life.
        """
        session_id, session_key = secrets.token_bytes(32), secrets.token_bytes(32)
        id_hash = _id_hash(session_id)
        now = self._now()
        sealed = aead.encrypt(
            session_key,
            bytes(private_key),
            _associated_data(id_hash, staff_id, second_factor_done),
        )
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(staff_sessions_table).values(
                    id_hash=id_hash,
                    staff_id=staff_id,
                    sealed_private_key=sealed,
                    second_factor_done=second_factor_done,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires_at if expires_at is not None else now + self.lifetime,
                )
            )
        return base64.urlsafe_b64encode(session_id + session_key).decode()

    def open(self, token: str | None) -> StaffSession | None:
        """The session behind a cookie token, recording the activity; None if
        there is none, it does not open, or it has expired (then it is deleted)."""
        parts = _split(token)
        if parts is None or token is None:
            return None
        session_id, session_key = parts
        id_hash = _id_hash(session_id)
        table = staff_sessions_table
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(table).where(table.c.id_hash == id_hash)).first()
            if row is None:
                return None
            now = self._now()
            if now >= row.expires_at or now >= row.last_seen_at + self.idle:
                conn.execute(sa.delete(table).where(table.c.id_hash == id_hash))
                return None
            try:
                raw = aead.decrypt(
                    session_key,
                    row.sealed_private_key,
                    _associated_data(id_hash, row.staff_id, bool(row.second_factor_done)),
                )
            except CryptoError:
                return None
            if len(raw) != PrivateKey.SIZE:
                return None
            if now - row.last_seen_at >= _TOUCH_GRANULARITY:
                conn.execute(
                    sa.update(table).where(table.c.id_hash == id_hash).values(last_seen_at=now)
                )
            return StaffSession(
                token=token,
                staff_id=row.staff_id,
                second_factor_done=bool(row.second_factor_done),
                private_key=PrivateKey(raw),
                created_at=row.created_at,
                expires_at=row.expires_at,
            )

    def elevate(self, session: StaffSession) -> str:
        """Replace a password-only session by one with the second factor done.

        A new session id is issued (and the old row deleted), so a session id
        seen before the second factor is worthless after it.
        """
        self.destroy(session.token)
        return self.create(
            session.staff_id,
            session.private_key,
            second_factor_done=True,
            expires_at=session.expires_at,
        )

    def destroy(self, token: str | None) -> None:
        """Delete the server half (logout); a token with no row is ignored."""
        parts = _split(token)
        if parts is not None:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.delete(staff_sessions_table).where(
                        staff_sessions_table.c.id_hash == _id_hash(parts[0])
                    )
                )

    def destroy_all(self, staff_id: str, *, keep: str | None = None) -> int:
        """End every session of a member except ``keep``; returns how many.

        Used after a password change or recovery: a session opened by whoever
        knew the old password must not outlive it.
        """
        table = staff_sessions_table
        condition = table.c.staff_id == staff_id
        parts = _split(keep)
        if parts is not None:
            condition = sa.and_(condition, table.c.id_hash != _id_hash(parts[0]))
        with self.engine.begin() as conn:
            return conn.execute(sa.delete(table).where(condition)).rowcount or 0

    def sweep(self) -> int:
        """Delete expired and idle rows; returns how many (for ``tick``)."""
        now = self._now()
        table = staff_sessions_table
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.delete(table).where(
                    sa.or_(table.c.expires_at <= now, table.c.last_seen_at + self.idle <= now)
                )
            )
            return result.rowcount or 0


def _split(token: str | None) -> tuple[bytes, bytes] | None:
    if not token or len(token) > 128:
        return None
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _TOKEN_BYTES:
        return None
    return raw[:32], raw[32:]
