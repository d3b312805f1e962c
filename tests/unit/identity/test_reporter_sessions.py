"""Reporter sessions: neither the cookie nor the database row opens a case alone."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import sqlalchemy as sa
from nacl.public import PrivateKey

from caseflow.clock import STOCKHOLM
from caseflow.store.records import grants_table, reporter_sessions_table
from crypto.sealing import CaseKey, CaseKeys, seal_grant
from identity.reporter_sessions import CaseAccess, ReporterSessions


def granted(engine: sa.Engine, case_id: str) -> CaseAccess:
    """A case with a reporter grant, as a receipt would open it."""
    reporter, key = PrivateKey.generate(), CaseKey.generate()
    with engine.begin() as conn:
        conn.execute(
            sa.insert(grants_table).values(
                case_id=case_id,
                recipient="reporter",
                epoch=1,
                sealed_key=seal_grant(key, case_id, reporter.public_key),
            )
        )
    return CaseAccess(case_id, CaseKeys({1: key}), reporter)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 13, 37, tzinfo=STOCKHOLM)

    def __call__(self) -> datetime:
        return self.now


def test_session_round_trip_idle_timeout_and_end(engine):
    clock = FakeClock()
    sessions = ReporterSessions(engine, idle_minutes=20, clock=clock)
    access = granted(engine, "case-1")
    token = sessions.start(access)
    resumed = sessions.resume(token)
    assert resumed is not None and resumed.key.raw == access.key.raw

    clock.now += timedelta(minutes=19)
    assert sessions.resume(token) is not None  # activity slides the deadline
    clock.now += timedelta(minutes=21)
    assert sessions.resume(token) is None  # idle too long
    assert sessions.resume(token) is None

    token = sessions.start(access)
    sessions.end(token)
    assert sessions.resume(token) is None


def test_database_row_holds_no_key_no_case_and_no_time(engine):
    clock = FakeClock()
    sessions = ReporterSessions(engine, idle_minutes=20, clock=clock)
    access = granted(engine, "case-abc")
    sessions.start(access)
    with engine.connect() as conn:
        row = conn.execute(sa.select(reporter_sessions_table)).one()
    assert access.key.raw not in row.sealed and b"case-abc" not in row.sealed
    assert access.key.raw.hex().encode() not in row.sealed
    assert bytes(access.private_key) not in row.sealed
    assert bytes(access.private_key).hex().encode() not in row.sealed
    assert row.purge_after_day == clock.now.date().toordinal() + 1  # a day, not a minute


def test_forged_or_tampered_tokens_open_nothing(engine):
    sessions = ReporterSessions(engine, idle_minutes=20, clock=FakeClock())
    token = sessions.start(granted(engine, "case-1"))
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[40] ^= 1  # a wrong session key for a real session id
    for bad in (
        None,
        "",
        "%%%",
        base64.urlsafe_b64encode(bytes(raw)).decode(),
        base64.urlsafe_b64encode(b"short").decode(),
    ):
        assert sessions.resume(bad) is None


def test_sweep_removes_rows_past_their_day(engine):
    clock = FakeClock()
    sessions = ReporterSessions(engine, idle_minutes=20, clock=clock)
    sessions.start(granted(engine, "case-1"))
    assert sessions.sweep() == 0
    clock.now += timedelta(days=2)
    assert sessions.sweep() == 1
