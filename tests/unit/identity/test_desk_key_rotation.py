"""A member leaves a desk: the desk key is rotated and a kept copy of the old one is worthless."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
import sqlalchemy as sa
from nacl.public import PrivateKey

from caseflow.clock import STOCKHOLM
from caseflow.service.cases import CaseService
from caseflow.service.intake import Intake, Report
from caseflow.store import create_engine, migrate
from caseflow.store.records import desks_table, grants_table, retired_desk_keys_table
from crypto import DecryptionFailed
from crypto.sealing import open_grant
from crypto.signing import Signer
from identity import accounts, desk_keys
from identity.bootstrap import bootstrap
from identity.desk_keys import RotationRefused, open_or_rotate, rotate_desk_key
from identity.key_log import OPERATOR
from tests.functional.conftest import make_settings

DESK = "anticorruption"


def desk_grants(engine: sa.Engine) -> dict[tuple[str, int], bytes]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                grants_table.c.case_id, grants_table.c.epoch, grants_table.c.sealed_key
            ).where(grants_table.c.recipient == f"desk:{DESK}")
        )
        return {(case_id, epoch): bytes(sealed) for case_id, epoch, sealed in rows}


SIGNER: Signer


@pytest.fixture
def deployment(database_url, tmp_path, cheap_kdf):
    settings = make_settings(database_url, tmp_path)
    engine = create_engine(database_url)
    migrate(engine)
    made = bootstrap(engine, settings)
    global SIGNER
    SIGNER = Signer(settings.signing_seed)
    recovery = made.recovery_key
    assert recovery is not None
    members = {}
    with engine.begin() as conn:
        desk_key = accounts.open_desk_key_for_recovery(conn, DESK, recovery)
        assert desk_key is not None
        for name in ("ana", "bo"):
            member, private = accounts.create_staff(conn, name, "investigator", "x" * 16, cheap_kdf)
            accounts.add_desk_member(conn, DESK, member.id, desk_key, SIGNER, OPERATOR)
            members[name] = (member.id, private)
    now = datetime(2026, 11, 2, 10, 0, tzinfo=STOCKHOLM)
    intake = Intake(engine, settings, CaseService(engine, settings.rules), clock=lambda: now)
    yield engine, intake, recovery, members, desk_key
    engine.dispose()


def report(intake: Intake, what: str) -> str:
    submission = intake.begin()
    intake.submit(submission, Report("bribery", "tullverket", what))
    return submission.case_id


def test_removing_a_member_rotates_the_key_at_once_and_the_next_member_cleans_up(deployment):
    engine, intake, _recovery, members, old_key = deployment
    before = report(intake, "Mutor vid upphandling.")
    bo_id, bo_private = members["bo"]
    with engine.begin() as conn:
        rotation = desk_keys.remove_desk_member(conn, DESK, bo_id, SIGNER, OPERATOR)
    assert rotation is not None and rotation.cases == 1 and rotation.members == 1
    with engine.connect() as conn:
        desk = conn.execute(sa.select(desks_table).where(desks_table.c.id == DESK)).one()
    # The desk has a new key at once: version 2, and the log names it.
    assert desk.key_version == 2 and desk.public_key == bytes(rotation.private_key.public_key)
    assert desk.rotation_due is True  # older grants are still sealed to version 1
    grants = desk_grants(engine)
    # The epoch-2 grant of the old case is sealed to the new key only.
    assert open_grant(grants[(before, 2)], before, rotation.private_key)
    with pytest.raises(DecryptionFailed):
        open_grant(grants[(before, 2)], before, old_key)

    after = report(intake, "Jäv vid tillsättning.")
    with pytest.raises(DecryptionFailed):
        open_grant(desk_grants(engine)[(after, 1)], after, old_key)

    ana_id, ana_private = members["ana"]
    new_key = open_or_rotate(engine, DESK, ana_id, ana_private, SIGNER)
    assert new_key is not None and bytes(new_key) == bytes(rotation.private_key)
    with engine.connect() as conn:
        desk = conn.execute(sa.select(desks_table).where(desks_table.c.id == DESK)).one()
        retired = conn.execute(sa.select(retired_desk_keys_table)).all()
    assert desk.rotation_due is False and retired == []
    for (case_id, _epoch), sealed in desk_grants(engine).items():
        # The desk reads every grant, old epoch and new, with the new key only…
        assert open_grant(sealed, case_id, new_key)
        # …and the copy of the desk key Bo kept opens none of them.
        with pytest.raises(DecryptionFailed):
            open_grant(sealed, case_id, old_key)
    assert open_or_rotate(engine, DESK, bo_id, bo_private, SIGNER) is None
    # A second opening changes nothing.
    again = open_or_rotate(engine, DESK, ana_id, ana_private, SIGNER)
    assert again is not None and bytes(again) == bytes(new_key)


def test_the_recovery_key_opens_the_rotated_desk_key(deployment):
    engine, _intake, recovery, members, old_key = deployment
    with engine.begin() as conn:
        rotation = desk_keys.remove_desk_member(conn, DESK, members["bo"][0], SIGNER, OPERATOR)
        assert rotation is not None
        assert rotation.members == 1 and "private" not in repr(rotation)
        reopened = accounts.open_desk_key_for_recovery(conn, DESK, recovery)
        # The recovery key also holds the retired version, for a clean-up.
        old = desk_keys.retired_keys(conn, DESK, desk_keys.RECOVERY_HOLDER, recovery)
    assert reopened is not None and bytes(reopened) == bytes(rotation.private_key)
    assert {v: bytes(k) for v, k in old.items()} == {1: bytes(old_key)}


def test_a_wrong_key_cannot_rotate(deployment):
    engine, *_ = deployment
    with pytest.raises(RotationRefused, match="not the current key"), engine.begin() as conn:
        rotate_desk_key(conn, DESK, PrivateKey.generate(), SIGNER, OPERATOR)


def test_two_members_at_once_clean_up_once(deployment, database_url, cheap_kdf):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: the two cannot overlap there")
    engine, intake, _recovery, members, _old = deployment
    report(intake, "Mutor.")
    with engine.begin() as conn:
        carl, carl_private = accounts.create_staff(
            conn, "carl", "investigator", "y" * 16, cheap_kdf
        )
        accounts.add_desk_member(conn, DESK, carl.id, _old, SIGNER, OPERATOR)
        rotation = desk_keys.remove_desk_member(conn, DESK, members["bo"][0], SIGNER, OPERATOR)
    assert rotation is not None and rotation.members == 2
    keys: list[PrivateKey | None] = []
    barrier = threading.Barrier(2)

    def open_as(staff_id: str, private: PrivateKey) -> None:
        barrier.wait()
        keys.append(open_or_rotate(engine, DESK, staff_id, private, SIGNER))

    threads = [
        threading.Thread(target=open_as, args=members["ana"]),
        threading.Thread(target=open_as, args=(carl.id, carl_private)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {bytes(k) for k in keys if k is not None} == {bytes(rotation.private_key)}
    with engine.connect() as conn:
        desk = conn.execute(sa.select(desks_table).where(desks_table.c.id == DESK)).one()
    assert desk.key_version == 2 and desk.rotation_due is False
    for (case_id, _epoch), sealed in desk_grants(engine).items():
        assert open_grant(sealed, case_id, rotation.private_key)
