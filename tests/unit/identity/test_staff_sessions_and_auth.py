"""Staff sessions and sign-in at the service level: what the database alone holds."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
from nacl.public import PrivateKey

from caseflow.clock import STOCKHOLM
from caseflow.store.records import staff_sessions_table, staff_table
from identity import accounts
from identity.staff_auth import LoginLocked, LoginRefused, StaffAuth, Throttle
from identity.staff_sessions import StaffSessions


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 13, 37, tzinfo=STOCKHOLM)

    def __call__(self) -> datetime:
        return self.now


def _member(engine, cheap_kdf, username="anna", password="ett långt lösenord"):
    with engine.begin() as conn:
        return accounts.create_staff(conn, username, "investigator", password, cheap_kdf)


def test_the_row_alone_does_not_open_the_private_key(engine, cheap_kdf):
    member, private = _member(engine, cheap_kdf)
    sessions = StaffSessions(engine, idle_minutes=30, lifetime_hours=12)
    token = sessions.create(member.id, private)
    with engine.connect() as conn:
        row = conn.execute(sa.select(staff_sessions_table)).one()
    assert bytes(private) not in row.sealed_private_key
    assert token.encode() not in b"".join(
        v if isinstance(v, bytes) else str(v).encode() for v in row
    )
    # Any other cookie, including one with the right id and a guessed key, opens nothing.
    import base64

    session_id = base64.urlsafe_b64decode(token)[:32]
    forged = base64.urlsafe_b64encode(session_id + secrets.token_bytes(32)).decode()
    assert sessions.open(forged) is None
    assert sessions.open(token).private_key.encode() == bytes(private)


def test_promoting_a_row_in_the_database_breaks_it(engine, cheap_kdf):
    member, private = _member(engine, cheap_kdf)
    sessions = StaffSessions(engine, idle_minutes=30, lifetime_hours=12)
    token = sessions.create(member.id, private)
    with engine.begin() as conn:
        conn.execute(sa.update(staff_sessions_table).values(second_factor_done=True))
    assert sessions.open(token) is None


def test_idle_timeout_and_absolute_lifetime(engine, cheap_kdf):
    member, private = _member(engine, cheap_kdf)
    clock = FakeClock()
    sessions = StaffSessions(engine, idle_minutes=30, lifetime_hours=12, clock=clock)
    token = sessions.create(member.id, private)
    clock.now += timedelta(minutes=29)
    assert sessions.open(token) is not None  # activity slides the idle deadline
    clock.now += timedelta(minutes=31)
    assert sessions.open(token) is None

    # Active all day long: still ends 12 hours after sign-in.
    token = sessions.create(member.id, private)
    start = clock.now
    while clock.now + timedelta(minutes=20) < start + timedelta(hours=12):
        clock.now += timedelta(minutes=20)
        assert sessions.open(token) is not None
    clock.now = start + timedelta(hours=12)
    assert sessions.open(token) is None
    # Elevation keeps the absolute end.
    token = sessions.create(member.id, private)
    first = sessions.open(token)
    elevated = sessions.open(sessions.elevate(first))
    assert elevated.second_factor_done and elevated.expires_at == first.expires_at
    assert sessions.open(token) is None  # the pre-second-factor id is gone


def _auth(engine, cheap_kdf, clock=None, **throttle):
    return StaffAuth(
        engine, cheap_kdf, secrets.token_bytes(32), Throttle(**throttle), clock or FakeClock()
    )


def test_unknown_user_and_wrong_password_are_one_refusal(engine, cheap_kdf):
    _member(engine, cheap_kdf)
    auth = _auth(engine, cheap_kdf)
    with pytest.raises(LoginRefused) as wrong:
        auth.authenticate("anna", "fel lösenord helt")
    with pytest.raises(LoginRefused) as unknown:
        auth.authenticate("bertil", "fel lösenord helt")
    assert type(wrong.value) is type(unknown.value) and str(wrong.value) == str(unknown.value)


def test_locks_grow_and_a_full_sign_in_clears_them(engine, cheap_kdf):
    clock = FakeClock()
    _member(engine, cheap_kdf)
    auth = _auth(engine, cheap_kdf, clock, max_failures=3, lock_seconds=60)
    for _ in range(2):
        with pytest.raises(LoginRefused):
            auth.authenticate("anna", "fel lösenord helt")
    with pytest.raises(LoginLocked) as first:
        auth.authenticate("anna", "fel lösenord helt")
    assert first.value.retry_after == 60
    clock.now += timedelta(seconds=61)
    for _ in range(2):
        with pytest.raises(LoginRefused):
            auth.authenticate("anna", "fel lösenord helt")
    with pytest.raises(LoginLocked) as second:
        auth.authenticate("ANNA ", "fel lösenord helt")  # the same name, typed differently
    assert second.value.retry_after == 120


def test_totp_step_is_used_once_and_the_secret_is_sealed(engine, cheap_kdf):
    clock = FakeClock()
    member, _private = _member(engine, cheap_kdf)
    auth = _auth(engine, cheap_kdf, clock)
    signed_in = auth.authenticate("anna", "ett långt lösenord")
    enrolment = auth.begin_enrolment(signed_in)
    totp = pyotp.TOTP(enrolment.secret)
    codes = auth.confirm_enrolment(signed_in, totp.at(clock.now))
    assert len(codes) == 10
    with engine.connect() as conn:
        row = conn.execute(sa.select(staff_table)).one()
    assert enrolment.secret.encode() not in row.totp_sealed
    with pytest.raises(LoginRefused):
        auth.check_second_factor(signed_in, totp.at(clock.now))  # used at enrolment
    auth.check_second_factor(signed_in, totp.at(clock.now + timedelta(seconds=30)))
    with pytest.raises(LoginRefused):
        auth.check_second_factor(signed_in, totp.at(clock.now + timedelta(seconds=30)))
    auth.check_second_factor(signed_in, codes[0])
    with pytest.raises(LoginRefused):
        auth.check_second_factor(signed_in, codes[0])
    # The secret needs the member's private key: another key cannot read it.
    from crypto import CryptoError
    from crypto.sealing import open_sealed

    with pytest.raises(CryptoError):
        open_sealed(PrivateKey.generate(), row.totp_sealed)


# --- the stored cost of a staff key --------------------------------------------------


@pytest.mark.parametrize(
    "stored",
    [
        "argon2id$v=19$m=16,t=1,p=1$key_salt",  # another cost: the key does not open
        "argon2id$v=19$m=8,t=1,p=1$tenant_salt",  # the receipts' salt role
        "",  # what migration 0007's column default leaves
        "pbkdf2-sha256$600000",
    ],
)
def test_an_edited_stored_cost_refuses_the_sign_in_and_never_guesses(engine, cheap_kdf, stored):
    member, _ = _member(engine, cheap_kdf)
    with engine.begin() as conn:
        conn.execute(sa.update(staff_table).values(key_kdf=stored))
    auth = StaffAuth(engine, cheap_kdf, bytes(32))
    with pytest.raises(LoginRefused):
        auth.authenticate("anna", "ett långt lösenord")
    with engine.connect() as conn:
        assert conn.execute(sa.select(staff_table.c.key_kdf)).scalar_one() == stored


def test_a_sign_in_at_a_new_cost_rewraps_once_and_the_old_cost_fades(engine, cheap_kdf):
    from crypto.kdf import KdfCost

    member, private = _member(engine, cheap_kdf)
    new_cost = KdfCost(time_cost=2, memory_kib=16)
    with engine.connect() as conn:
        before = conn.execute(sa.select(staff_table)).one()
    signed_in = StaffAuth(engine, new_cost, bytes(32)).authenticate("anna", "ett långt lösenord")
    assert bytes(signed_in.private_key) == bytes(private)
    with engine.connect() as conn:
        after = conn.execute(sa.select(staff_table)).one()
    assert after.key_kdf == new_cost.to_text("key_salt")
    assert after.key_salt != before.key_salt  # a fresh salt with the new wrap
    assert "m=16,t=2,p=1" in after.password_hash  # the PHC hash moved too
    # Signing in again at the same cost changes nothing; the old cost's
    # service still opens the key (it reads the stored cost, not its own).
    StaffAuth(engine, new_cost, bytes(32)).authenticate("anna", "ett långt lösenord")
    with engine.connect() as conn:
        assert conn.execute(sa.select(staff_table)).one().wrapped_private_key == (
            after.wrapped_private_key
        )
    with pytest.raises(LoginRefused):
        StaffAuth(engine, new_cost, bytes(32)).authenticate("anna", "fel lösenord!!")
    old_service = StaffAuth(engine, cheap_kdf, bytes(32))
    assert bytes(old_service.authenticate("anna", "ett långt lösenord").private_key) == bytes(
        private
    )
