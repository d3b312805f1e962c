"""Staff sign-in: password, second factor (TOTP or recovery code), throttling.

Pure service (no Flask). What it guarantees:

- **No account oracle.** An unknown username costs the same Argon2id
  verification as a wrong password and gets the same refusal. Failed
  attempts are counted per keyed hash of the *typed* username, known or not,
  so a lock says nothing about whether the account exists either.
- **Throttling across instances.** The counters live in the database
  (``login_throttle``): ``max_failures`` failures (passwords and codes
  alike) lock the name for ``lock_seconds``, doubling with every further
  lock up to ``max_lock_seconds``. A full sign-in clears the count.
- **A stolen database mints no codes.** The TOTP secret is sealed to the
  member's own public key; opening it needs the password-unlocked private
  key. Each accepted time step is remembered, so a code works once.
- **Recovery codes** are single use and stored as Argon2id hashes.
- **Recovery** with the offline organisation recovery key re-wraps the
  member's private key (from its recovery copy) under a new password.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final, NoReturn

import pyotp
import sqlalchemy as sa
from argon2.exceptions import InvalidHashError, VerificationError
from nacl.public import PrivateKey, PublicKey

from caseflow.clock import Clock, system_clock
from caseflow.domain.errors import CaseflowError
from caseflow.store.records import (
    login_throttle_table,
    staff_recovery_codes_table,
    staff_sessions_table,
    staff_table,
)
from crypto import CryptoError
from crypto.kdf import KdfCost
from crypto.sealing import open_sealed, seal_to
from crypto.signing import Signer
from crypto.userkeys import unwrap_private_key, wrap_private_key
from identity.accounts import (
    KEY_SALT,
    member_desks,
    normalise_password,
    password_hasher,
    recovery_public_key,
)
from identity.desk_keys import open_or_rotate

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "RECOVERY_CODE_COUNT",
    "Enrolment",
    "LoginLocked",
    "LoginRefused",
    "PasswordRejected",
    "RecoveryImpossible",
    "SignedIn",
    "StaffAuth",
    "Throttle",
]

MIN_PASSWORD_LENGTH: Final = 12
MAX_PASSWORD_LENGTH: Final = 1024
RECOVERY_CODE_COUNT: Final = 10
TOTP_STEP_SECONDS: Final = 30
_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RECOVERY_CHARS: Final = 16  # 80 bits; the first 4 select the row
_SELECTOR_CHARS: Final = 4
_LOOKALIKES: Final = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


class LoginRefused(CaseflowError):
    """Wrong username, password or code: deliberately one error for all."""


class LoginLocked(CaseflowError):
    """Too many failures for this username; try again after ``retry_after`` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"locked for {retry_after} s")
        self.retry_after = retry_after


class PasswordRejected(CaseflowError):
    """A new password that does not meet the rules (the message says which)."""


class RecoveryImpossible(CaseflowError):
    """The account has no recovery copy, or the key given does not open it."""


@dataclass(frozen=True)
class Throttle:
    """How failed sign-ins are limited."""

    max_failures: int = 5
    lock_seconds: int = 60
    max_lock_seconds: int = 86400

    def lock_for(self, lockouts: int) -> int:
        """The length of the ``lockouts``-th lock (0-based): doubling, capped."""
        growth: int = 2 ** min(lockouts, 30)
        return min(self.max_lock_seconds, self.lock_seconds * growth)


@dataclass(frozen=True, repr=False)
class SignedIn:
    """A password that matched: the account and its unlocked private key.

    .. warning::
       ``private_key`` opens the member's desk keys; ``repr()`` hides it.
    """

    staff_id: str
    username: str
    role: str
    private_key: PrivateKey
    enrolled: bool

    def __repr__(self) -> str:
        return f"SignedIn(username={self.username!r}, enrolled={self.enrolled})"


@dataclass(frozen=True, repr=False)
class Enrolment:
    """A TOTP secret being set up: base32 for typing, URI for the QR code."""

    secret: str
    uri: str

    def __repr__(self) -> str:
        return "Enrolment(<hidden>)"


def _normalise_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username).strip().casefold()


def normalise_recovery_code(code: str) -> str:
    """Upper case, no spaces or dashes, look-alike letters mapped to digits."""
    text = unicodedata.normalize("NFKC", code).upper()
    text = "".join(c for c in text if c not in " -‐‑‒–—_.\t")
    return text.translate(_LOOKALIKES)


def _display_code(canonical: str) -> str:
    return "-".join(canonical[i : i + 4] for i in range(0, len(canonical), 4))


def check_new_password(password: str) -> None:
    """:raises PasswordRejected: if ``password`` is too short or too long."""
    if len(normalise_password(password)) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(f"a password may have at most {MAX_PASSWORD_LENGTH} characters")


class StaffAuth:
    """Sign-in, second factor, enrolment, password change and recovery."""

    def __init__(
        self,
        engine: sa.Engine,
        cost: KdfCost,
        throttle_key: bytes,
        throttle: Throttle | None = None,
        clock: Clock = system_clock,
        issuer: str = "Visselpipa",
        signer: Signer | None = None,
    ) -> None:
        """``throttle_key`` (32 bytes, secret) keys the username hashes;
        ``signer`` (the deployment's) signs a desk key rotated at a member's
        sign-in (:meth:`desk_key`)."""
        if len(throttle_key) != 32:
            raise ValueError("throttle_key must be 32 bytes")
        self.engine = engine
        self.cost = cost
        self.hasher = password_hasher(cost)
        self.throttle = throttle or Throttle()
        self.throttle_key = throttle_key
        self.clock = clock
        self.issuer = issuer
        self.signer = signer

    @cached_property
    def _dummy_hash(self) -> str:
        """A real hash at the same cost: an unknown username is verified
        against it, so it costs exactly what a known one does. Made at the
        first sign-in, not when the service is built (every worker's start,
        every ``tick`` that only sweeps counters)."""
        return self.hasher.hash(secrets.token_urlsafe(16))

    # -- sign-in --------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> SignedIn:
        """Check a username and password; return the unlocked account.

        The throttle count is not cleared here: only a completed second
        factor clears it (see :meth:`check_second_factor`), or the password
        would reset the budget for guessing codes.

        :raises LoginLocked: while the username is locked (nothing is checked).
        :raises LoginRefused: for an unknown username or a wrong password.
        """
        self._refuse_if_locked(username)
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(staff_table).where(staff_table.c.username == username.strip())
            ).first()
        if row is None:
            self._verify(self._dummy_hash, password)
            self._fail(username)
        if not self._verify(row.password_hash, password):
            self._fail(username)
        try:
            private = self._unwrap(row, password)
        except (CryptoError, ValueError):
            # The hash matched but the key does not open: a damaged row (the
            # key and its stored cost disagree). Refuse like any other failure.
            self._fail(username)
        self._rewrap_if_cost_changed(row, private, password)
        self.ensure_recovery_copy(row.id, private)
        return SignedIn(row.id, row.username, row.role, private, row.totp_sealed is not None)

    def check_second_factor(self, signed_in: SignedIn, code: str) -> None:
        """Accept a TOTP code (±1 step, each step once) or an unused recovery code.

        On success the throttle count for the username is cleared.

        :raises LoginLocked: while locked, or when this failure locks.
        :raises LoginRefused: for a wrong, reused or malformed code.
        """
        self._refuse_if_locked(signed_in.username)
        canonical = normalise_recovery_code(code)
        if len(canonical) == 6 and canonical.isdigit():
            accepted = self._accept_totp(signed_in, canonical)
        elif len(canonical) == _RECOVERY_CHARS and all(c in _CROCKFORD for c in canonical):
            accepted = self._accept_recovery_code(signed_in.staff_id, canonical)
        else:
            accepted = False
        if not accepted:
            self._fail(signed_in.username)
        self._clear(signed_in.username)

    def _accept_totp(self, signed_in: SignedIn, code: str) -> bool:
        with self.engine.connect() as conn:
            sealed = conn.execute(
                sa.select(staff_table.c.totp_sealed).where(staff_table.c.id == signed_in.staff_id)
            ).scalar_one_or_none()
        if sealed is None:
            return False
        try:
            secret = open_sealed(signed_in.private_key, sealed).decode("ascii")
        except (CryptoError, UnicodeDecodeError):
            return False
        step = self._matching_step(secret, code)
        if step is None:
            return False
        table = staff_table
        with self.engine.begin() as conn:
            # Compare-and-set: of two instances racing with the same code,
            # exactly one moves the step forward and accepts it.
            result = conn.execute(
                sa.update(table)
                .where(
                    table.c.id == signed_in.staff_id,
                    sa.or_(table.c.totp_last_step.is_(None), table.c.totp_last_step < step),
                )
                .values(totp_last_step=step)
            )
        return bool(result.rowcount)

    def _matching_step(self, secret: str, code: str) -> int | None:
        totp = pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS)
        current = int(self.clock().timestamp()) // TOTP_STEP_SECONDS
        found = None
        # All three are computed and compared, so the time does not tell
        # which step matched.
        for step in (current - 1, current, current + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                found = step
        return found

    def _accept_recovery_code(self, staff_id: str, canonical: str) -> bool:
        table = staff_recovery_codes_table
        selector = canonical[:_SELECTOR_CHARS]
        with self.engine.connect() as conn:
            stored = conn.execute(
                sa.select(table.c.code_hash).where(
                    table.c.staff_id == staff_id, table.c.selector == selector
                )
            ).scalar_one_or_none()
        if stored is None:
            self._verify(self._dummy_hash, canonical)
            return False
        if not self._verify(stored, canonical):
            return False
        with self.engine.begin() as conn:
            # Deleting is the use: whoever deletes the row first used it.
            used = conn.execute(
                sa.delete(table).where(table.c.staff_id == staff_id, table.c.selector == selector)
            )
        return bool(used.rowcount)

    def recovery_codes_left(self, staff_id: str) -> int:
        """How many unused recovery codes the member has."""
        table = staff_recovery_codes_table
        with self.engine.connect() as conn:
            count = conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.staff_id == staff_id)
            ).scalar_one()
        return int(count)

    # -- the signed-in member ----------------------------------------------------

    def account(self, staff_id: str, private_key: PrivateKey) -> SignedIn | None:
        """The account behind a session; None if it no longer exists or the
        key is not its key (a session outliving a recovery, say)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(staff_table).where(staff_table.c.id == staff_id)).first()
        if row is None or bytes(private_key.public_key) != row.public_key:
            return None
        return SignedIn(row.id, row.username, row.role, private_key, row.totp_sealed is not None)

    def desks(self, staff_id: str) -> tuple[str, ...]:
        """The desks whose key the member holds."""
        with self.engine.connect() as conn:
            return member_desks(conn, staff_id)

    def desk_key(self, staff_id: str, private_key: PrivateKey, desk_id: str) -> PrivateKey | None:
        """The desk's private key, opened with the member's key; None if not a member.

        Rotates the desk key first when a member's removal asked for it.
        """
        if self.signer is None:
            raise RuntimeError("desk keys are opened only by a StaffAuth with the signer")
        return open_or_rotate(self.engine, desk_id, staff_id, private_key, self.signer)

    # -- enrolment --------------------------------------------------------------

    def begin_enrolment(self, signed_in: SignedIn) -> Enrolment:
        """The secret to show: the pending one if the page is shown again.

        :raises LoginRefused: if the account already has a second factor
            (replacing it needs recovery, not a password).
        """
        table = staff_table
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(table.c.totp_sealed, table.c.totp_pending_sealed, table.c.public_key)
                .where(table.c.id == signed_in.staff_id)
                .with_for_update()
            ).one()
            if row.totp_sealed is not None:
                raise LoginRefused()
            secret = None
            if row.totp_pending_sealed is not None:
                try:
                    secret = open_sealed(signed_in.private_key, row.totp_pending_sealed).decode()
                except (CryptoError, UnicodeDecodeError):
                    secret = None
            if secret is None:
                secret = pyotp.random_base32()
                conn.execute(
                    sa.update(table)
                    .where(table.c.id == signed_in.staff_id)
                    .values(totp_pending_sealed=seal_to(PublicKey(row.public_key), secret.encode()))
                )
        uri = pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS).provisioning_uri(
            name=signed_in.username, issuer_name=self.issuer
        )
        return Enrolment(secret, uri)

    def confirm_enrolment(self, signed_in: SignedIn, code: str) -> list[str]:
        """Activate the pending secret if ``code`` matches it; return the new
        recovery codes (shown once: only their hashes are kept).

        :raises LoginLocked: while locked, or when this failure locks.
        :raises LoginRefused: for a wrong code or no pending enrolment.
        """
        self._refuse_if_locked(signed_in.username)
        table = staff_table
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(table.c.totp_sealed, table.c.totp_pending_sealed).where(
                    table.c.id == signed_in.staff_id
                )
            ).one()
        step = None
        canonical = normalise_recovery_code(code)
        if row.totp_sealed is None and row.totp_pending_sealed is not None:
            try:
                secret = open_sealed(signed_in.private_key, row.totp_pending_sealed).decode()
            except (CryptoError, UnicodeDecodeError):
                secret = ""
            if secret and len(canonical) == 6 and canonical.isdigit():
                step = self._matching_step(secret, canonical)
        if step is None:
            self._fail(signed_in.username)
        codes: list[str] = []
        while len(codes) < RECOVERY_CODE_COUNT:
            code = "".join(secrets.choice(_CROCKFORD) for _ in range(_RECOVERY_CHARS))
            # Selectors pick the row, so they must differ: redraw the rare clash.
            if code[:_SELECTOR_CHARS] not in {c[:_SELECTOR_CHARS] for c in codes}:
                codes.append(code)
        hashes = [self.hasher.hash(c) for c in codes]
        with self.engine.begin() as conn:
            activated = conn.execute(
                sa.update(table)
                .where(
                    table.c.id == signed_in.staff_id,
                    table.c.totp_sealed.is_(None),
                    table.c.totp_pending_sealed == row.totp_pending_sealed,
                )
                .values(
                    totp_sealed=row.totp_pending_sealed,
                    totp_pending_sealed=None,
                    totp_last_step=step,
                )
            )
            if not activated.rowcount:
                raise LoginRefused()
            self._replace_recovery_codes(conn, signed_in.staff_id, codes, hashes)
        self._clear(signed_in.username)
        return [_display_code(c) for c in codes]

    @staticmethod
    def _replace_recovery_codes(
        conn: sa.Connection, staff_id: str, codes: list[str], hashes: list[str]
    ) -> None:
        table = staff_recovery_codes_table
        conn.execute(sa.delete(table).where(table.c.staff_id == staff_id))
        conn.execute(
            sa.insert(table),
            [
                {"staff_id": staff_id, "selector": c[:_SELECTOR_CHARS], "code_hash": h}
                for c, h in zip(codes, hashes, strict=True)
            ],
        )

    def is_enrolled(self, staff_id: str) -> bool:
        """Whether the account has a confirmed second factor."""
        with self.engine.connect() as conn:
            sealed = conn.execute(
                sa.select(staff_table.c.totp_sealed).where(staff_table.c.id == staff_id)
            ).scalar_one_or_none()
        return sealed is not None

    # -- passwords ---------------------------------------------------------------

    def change_password(self, staff_id: str, old_password: str, new_password: str) -> None:
        """Re-wrap the private key under ``new_password`` and re-hash it.

        A wrong old password counts as a failed sign-in (someone at an
        unattended, signed-in screen must not get unlimited guesses).

        :raises PasswordRejected: if the new password breaks the rules.
        :raises LoginLocked: while locked, or when this failure locks.
        :raises LoginRefused: if ``old_password`` is wrong.
        """
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(staff_table).where(staff_table.c.id == staff_id)).one()
        self._refuse_if_locked(row.username)
        if not self._verify(row.password_hash, old_password):
            self._fail(row.username)
        check_new_password(new_password)
        try:
            private = self._unwrap(row, old_password)
        except (CryptoError, ValueError):
            self._fail(row.username)
        with self.engine.begin() as conn:
            self._set_password(conn, staff_id, private, new_password)

    def recover_user(
        self,
        username: str,
        recovery_private: PrivateKey,
        new_password: str,
        *,
        reset_second_factor: bool = False,
    ) -> str:
        """Set a new password from the account's recovery copy; return the staff id.

        Every session of the account ends and its lock is lifted. With
        ``reset_second_factor`` the TOTP secret and recovery codes are
        removed too, and the member enrols again at the next sign-in.

        :raises RecoveryImpossible: for an unknown user, an account without a
            recovery copy, or a key that is not the organisation's.
        :raises PasswordRejected: if the new password breaks the rules.
        """
        check_new_password(new_password)
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(staff_table).where(staff_table.c.username == username)
            ).first()
        if row is None:
            raise RecoveryImpossible(f"no staff account named {username!r}")
        if row.recovery_sealed_key is None:
            raise RecoveryImpossible(
                f"{username!r} has no recovery copy of their key yet (it is made at their "
                "next sign-in); the account cannot be recovered"
            )
        try:
            private = PrivateKey(open_sealed(recovery_private, row.recovery_sealed_key))
        except CryptoError:
            raise RecoveryImpossible(
                "this recovery key does not open the account's recovery copy"
            ) from None
        if bytes(private.public_key) != row.public_key:
            raise RecoveryImpossible("the recovery copy does not match the account's key")
        with self.engine.begin() as conn:
            self._set_password(conn, row.id, private, new_password)
            conn.execute(
                sa.delete(staff_sessions_table).where(staff_sessions_table.c.staff_id == row.id)
            )
            if reset_second_factor:
                conn.execute(
                    sa.update(staff_table)
                    .where(staff_table.c.id == row.id)
                    .values(totp_sealed=None, totp_pending_sealed=None)
                )
                conn.execute(
                    sa.delete(staff_recovery_codes_table).where(
                        staff_recovery_codes_table.c.staff_id == row.id
                    )
                )
        self._clear(username)
        return str(row.id)

    @staticmethod
    def _unwrap(row: sa.Row[Any], password: str) -> PrivateKey:
        """The member's private key, derived with the cost stored beside it.

        :raises CryptoError: wrong password or a damaged row.
        :raises ValueError: a stored cost this code cannot read.
        """
        cost = KdfCost.from_text(row.key_kdf, KEY_SALT)
        return unwrap_private_key(row.wrapped_private_key, password, row.key_salt, cost)

    def _rewrap_if_cost_changed(self, row: sa.Row[Any], private: PrivateKey, password: str) -> None:
        """After a successful sign-in, move the key and the hash to the configured cost.

        argon2's ``check_needs_rehash`` pattern: only a sign-in knows the
        password, so this is when an old cost can be replaced. The update is
        a compare-and-set on the old wrapped key, so two instances signing
        the same member in at once re-wrap once and neither overwrites a
        password changed meanwhile.
        """
        if row.key_kdf == self.cost.to_text(KEY_SALT) and not self.hasher.check_needs_rehash(
            row.password_hash
        ):
            return
        with self.engine.begin() as conn:
            self._set_password(
                conn, row.id, private, password, only_if_wrapped=row.wrapped_private_key
            )

    def _set_password(
        self,
        conn: sa.Connection,
        staff_id: str,
        private: PrivateKey,
        password: str,
        *,
        only_if_wrapped: bytes | None = None,
    ) -> None:
        salt = secrets.token_bytes(16)
        query = sa.update(staff_table).where(staff_table.c.id == staff_id)
        if only_if_wrapped is not None:
            query = query.where(staff_table.c.wrapped_private_key == only_if_wrapped)
        conn.execute(
            query.values(
                password_hash=self.hasher.hash(normalise_password(password)),
                key_salt=salt,
                wrapped_private_key=wrap_private_key(private, password, salt, self.cost),
                key_kdf=self.cost.to_text(KEY_SALT),
            )
        )

    def ensure_recovery_copy(self, staff_id: str, private: PrivateKey) -> None:
        """Seal the key to the organisation recovery key if no copy exists yet.

        Accounts made before recovery copies existed get one the first time
        their key is unlocked; nothing happens if the deployment has no
        recorded recovery key.
        """
        table = staff_table
        with self.engine.begin() as conn:
            present = conn.execute(
                sa.select(table.c.recovery_sealed_key).where(table.c.id == staff_id)
            ).scalar_one_or_none()
            if present is not None:
                return
            recovery = recovery_public_key(conn)
            if recovery is None:
                return
            conn.execute(
                sa.update(table)
                .where(table.c.id == staff_id, table.c.recovery_sealed_key.is_(None))
                .values(recovery_sealed_key=seal_to(recovery, bytes(private)))
            )

    # -- throttling ----------------------------------------------------------------

    def _key(self, username: str) -> bytes:
        return hashlib.blake2b(
            _normalise_username(username).encode(),
            digest_size=32,
            key=self.throttle_key,
            person=b"vp.throttle.v1",
        ).digest()

    def _now(self) -> int:
        return int(self.clock().timestamp())

    def lock_remaining(self, username: str) -> int:
        """Seconds until ``username`` may try again (0 when not locked)."""
        with self.engine.connect() as conn:
            locked_until = conn.execute(
                sa.select(login_throttle_table.c.locked_until).where(
                    login_throttle_table.c.key_hash == self._key(username)
                )
            ).scalar_one_or_none()
        return max(0, (locked_until or 0) - self._now())

    def _refuse_if_locked(self, username: str) -> None:
        remaining = self.lock_remaining(username)
        if remaining:
            raise LoginLocked(remaining)

    def _fail(self, username: str) -> NoReturn:
        """Count a failure; raise LoginLocked if it locks, else LoginRefused."""
        table = login_throttle_table
        key, now = self._key(username), self._now()
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(table).where(table.c.key_hash == key).with_for_update()
            ).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            sa.insert(table).values(
                                key_hash=key, failures=0, lockouts=0, locked_until=0, updated_at=now
                            )
                        )
                except sa.exc.IntegrityError:
                    pass  # another instance inserted it first: count on its row
                row = conn.execute(
                    sa.select(table).where(table.c.key_hash == key).with_for_update()
                ).one()
            failures, lockouts = row.failures, row.lockouts
            if now - row.updated_at > self.throttle.max_lock_seconds:
                # A day without failures: old typos no longer count.
                failures, lockouts = 0, 0
            failures += 1
            locked_until = row.locked_until
            if failures >= self.throttle.max_failures:
                locked_until = now + self.throttle.lock_for(lockouts)
                failures, lockouts = 0, lockouts + 1
            conn.execute(
                sa.update(table)
                .where(table.c.key_hash == key)
                .values(
                    failures=failures,
                    lockouts=lockouts,
                    locked_until=locked_until,
                    updated_at=now,
                )
            )
        if locked_until > now:
            raise LoginLocked(locked_until - now)
        raise LoginRefused()

    def _clear(self, username: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(login_throttle_table).where(
                    login_throttle_table.c.key_hash == self._key(username)
                )
            )

    def sweep(self) -> int:
        """Forget counters untouched for longer than the longest lock."""
        cutoff = self._now() - self.throttle.max_lock_seconds
        table = login_throttle_table
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.delete(table).where(table.c.updated_at < cutoff, table.c.locked_until < cutoff)
            )
            return result.rowcount or 0

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(stored_hash, normalise_password(password)))
        except (VerificationError, InvalidHashError):
            return False
