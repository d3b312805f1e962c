"""Desk keys and memberships are signed events in the log (identity/key_log.py).

The finding: ``UPDATE desks SET public_key = <attacker's key>`` made the next
report's grant open with the attacker's key, and an inserted ``desk_members``
row received the desk key at the next rotation, while `visselpipa verify`
noticed nothing. Each test changes the tables as someone with database write
access could, then uses the product as people do.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from nacl.public import PrivateKey

from app.cli import main
from caseflow.store.records import desk_members_table, desks_table, grants_table, staff_table
from crypto.sealing import open_grant
from crypto.signing import Signer
from identity import accounts
from identity.desk_keys import rotate_desk_key
from identity.key_log import (
    KEY_PUBLISHED,
    OPERATOR,
    DeskKeyMismatch,
    check_desk_tables,
    read_desk_log,
    stream_of,
)
from tests.functional.pages import hidden_fields, submit_report, text_of
from tests.functional.staff_pages import add_member, enrol, post_form, sign_in

DESK = "anticorruption"
TEXT = "Chefen tar emot mutor från en leverantör vid varje upphandling."


def _signer(deployment) -> Signer:
    return Signer(deployment.settings.signing_seed)


def _grant(deployment, recipient: str) -> tuple[str, bytes]:
    with deployment.engine.connect() as conn:
        row = conn.execute(
            sa.select(grants_table.c.case_id, grants_table.c.sealed_key).where(
                grants_table.c.recipient == recipient
            )
        ).first()
    assert row is not None
    return row.case_id, bytes(row.sealed_key)


def test_init_signs_each_desk_key_into_the_log(deployment):
    signer = _signer(deployment)
    with deployment.engine.connect() as conn:
        for desk_id, private in deployment.desk_keys.items():
            log = read_desk_log(conn, desk_id, signer.public_key)
            assert log.problems == []
            assert log.public_key == bytes(private.public_key) and log.key_version == 1
        assert check_desk_tables(conn, signer.public_key) == []
        # Another deployment's key verifies none of them.
        other = read_desk_log(conn, DESK, Signer.generate().public_key)
        assert other.public_key == b"" and other.problems


def test_a_desk_key_swapped_in_the_table_is_refused_at_intake_and_named_by_verify(deployment):
    attacker = PrivateKey.generate()
    with deployment.engine.begin() as conn:
        conn.execute(
            sa.update(desks_table)
            .where(desks_table.c.id == DESK)
            .values(public_key=bytes(attacker.public_key))
        )
    status, page = submit_report(deployment.client(), what=TEXT)
    # Refused loudly, and what the reporter wrote comes back to send later.
    assert status == 503
    assert TEXT in page and "Inget skickades" in text_of(page)
    with deployment.engine.connect() as conn:
        # Nothing was sealed to the attacker: no grant of any case exists.
        assert conn.execute(sa.select(sa.func.count()).select_from(grants_table)).scalar() == 0

    verify = deployment.cli("verify")
    assert verify.exit_code == 1, verify.output
    assert f"desk '{DESK}': the desks table holds a key the log does not name" in verify.output
    check = deployment.cli("check")
    assert check.exit_code == 1 and "the desks table holds a key" in check.output
    listing = deployment.cli("desk-keys")
    assert listing.exit_code == 1 and "PROBLEM" in listing.output


def test_the_genuine_key_still_seals_once_the_table_is_put_back(deployment):
    real = bytes(deployment.desk_keys[DESK].public_key)
    for value in (bytes(PrivateKey.generate().public_key), real):
        with deployment.engine.begin() as conn:
            conn.execute(
                sa.update(desks_table).where(desks_table.c.id == DESK).values(public_key=value)
            )
    status, _ = submit_report(deployment.client(), what=TEXT)
    assert status == 200
    case_id, sealed = _grant(deployment, f"desk:{DESK}")
    assert open_grant(sealed, case_id, deployment.desk_keys[DESK])  # the desk reads it


def test_an_old_signed_key_event_replayed_at_the_end_does_not_verify(deployment):
    """A key event copied to a later place in the stream: the signature binds its place."""
    signer = _signer(deployment)
    with deployment.engine.begin() as conn:
        old = PrivateKey.generate()  # stands for a key a removed member kept
        from caseflow.store.events import EventStore, NewEvent

        store = EventStore(deployment.engine)
        (first,) = [e for e in store.read_stream(stream_of(DESK), conn) if e.type == KEY_PUBLISHED]
        meta = dict(first.meta)
        meta["public_key"] = bytes(old.public_key).hex()  # the attacker's, with a stale signature
        version = store.stream_version(conn, stream_of(DESK))
        store.append(
            conn, stream_of(DESK), version, [NewEvent(KEY_PUBLISHED, "system", "2026-12-03", meta)]
        )
        copied = dict(first.meta)  # and a faithful copy of the first, at a new place
        store.append(
            conn,
            stream_of(DESK),
            version + 1,
            [NewEvent(KEY_PUBLISHED, "system", "2026-12-03", copied)],
        )
    with deployment.engine.connect() as conn:
        problems = check_desk_tables(conn, signer.public_key)
    assert sum("is not signed by this deployment's key" in p for p in problems) == 2, problems
    status, _ = submit_report(deployment.client(), what=TEXT)
    assert status == 503


def test_a_member_row_inserted_behind_the_log_gets_no_key_at_rotation(deployment):
    signer = _signer(deployment)
    lead = add_member(deployment, "lina", "desk_lead", (DESK,))
    with deployment.engine.begin() as conn:
        intruder, intruder_private = accounts.create_staff(
            conn, "inkräktare", "investigator", "ett långt lösenord", deployment.settings.kdf
        )
        # The row an attacker would write: any bytes will do as the sealed copy.
        conn.execute(
            sa.insert(desk_members_table).values(
                desk_id=DESK, staff_id=intruder.id, sealed_desk_key=b"\0" * 80
            )
        )
    verify = deployment.cli("verify")
    assert verify.exit_code == 1
    assert f"member {intruder.id} is in the desk_members table, not in the log" in verify.output

    with pytest.raises(DeskKeyMismatch, match="different members"), deployment.engine.begin() as c:
        rotate_desk_key(c, DESK, deployment.desk_keys[DESK], signer, OPERATOR)
    with deployment.engine.connect() as conn:
        sealed = conn.execute(
            sa.select(desk_members_table.c.sealed_desk_key).where(
                desk_members_table.c.staff_id == intruder.id
            )
        ).scalar_one()
    assert sealed == b"\0" * 80  # nothing of any desk key was sealed to the intruder
    assert lead.username == "lina"


def test_an_account_key_swapped_in_the_staff_table_does_not_receive_the_new_desk_key(deployment):
    """The rotation seals to the member key the log recorded, not to the staff table's."""
    signer = _signer(deployment)
    anna = add_member(deployment, "anna", "investigator", (DESK,))
    with deployment.engine.begin() as conn:
        conn.execute(
            sa.update(staff_table)
            .where(staff_table.c.id == anna.id)
            .values(public_key=bytes(PrivateKey.generate().public_key))
        )
        rotation = rotate_desk_key(conn, DESK, deployment.desk_keys[DESK], signer, OPERATOR)
        reopened = accounts.open_desk_key(conn, DESK, anna.id, anna.private_key)
    # Anna's own key, the one the log names, opens the new desk key.
    assert reopened is not None and bytes(reopened) == bytes(rotation.private_key)


def test_changes_made_by_people_are_attributed_to_them(deployment):
    lead = add_member(deployment, "lina", "desk_lead", (DESK,))
    admin = add_member(deployment, "admin", "administrator", ())
    bo = add_member(deployment, "bo", "investigator", ())
    as_lead, as_admin = deployment.client(), deployment.client()
    for client, member in ((as_lead, lead), (as_admin, admin)):
        sign_in(client, member.username, member.password)
        enrol(client)
    added = post_form(as_lead, f"/staff/desks/{DESK}/members", username="bo")
    assert added.status_code == 303, added.get_data(as_text=True)
    token = hidden_fields(as_admin.get("/staff/admin").get_data(as_text=True))["csrf_token"]
    removed = as_admin.post(
        f"/staff/admin/desks/{DESK}/remove", data={"csrf_token": token, "staff_id": bo.id}
    )
    assert removed.status_code == 303
    with deployment.engine.connect() as conn:
        events = conn.execute(
            sa.text("SELECT type, actor, meta FROM events WHERE stream_id = :s ORDER BY version"),
            {"s": stream_of(DESK)},
        ).all()
        log = read_desk_log(conn, DESK, _signer(deployment).public_key)
    about_bo = [(e.type, e.actor) for e in events if json.loads(e.meta).get("staff") == bo.id]
    assert about_bo == [("DeskMemberAdded", lead.id), ("DeskMemberRemoved", admin.id)]
    assert bo.id not in log.members and lead.id in log.members and log.problems == []
    listing = deployment.cli("desk-keys")
    assert listing.exit_code == 0, listing.output
    # The removal in the browser rotated the desk key at once, as the admin.
    assert [e.actor for e in events if e.type == "DeskKeyPublished"][-1] == admin.id
    assert f"{DESK}: key version 2" in listing.output and "  lina: key " in listing.output
    assert "  bo: key " not in listing.output


def test_a_database_from_before_the_key_log_is_adopted_by_migrate(database_url, tmp_path):
    """Desks made by earlier code have no key events: serve refuses, migrate signs them."""
    from app import create_app
    from caseflow.store import create_engine, migrate
    from crypto.sealing import seal_to
    from tests.functional.conftest import Deployment, make_settings

    settings = make_settings(database_url, tmp_path / "data")
    engine = create_engine(database_url)
    migrate(engine)
    recovery = PrivateKey.generate()
    keys = {}
    with engine.begin() as conn:  # what `init` wrote before the key log
        accounts.remember_recovery_key(conn, recovery.public_key)
        for desk in settings.desks:
            keys[desk.id] = PrivateKey.generate()
            conn.execute(
                sa.insert(desks_table).values(
                    id=desk.id,
                    public_key=bytes(keys[desk.id].public_key),
                    key_version=2,  # rotated once already
                    recovery_sealed_key=seal_to(recovery.public_key, bytes(keys[desk.id])),
                )
            )
        anna, _ = accounts.create_staff(conn, "anna", "investigator", "x" * 16, settings.kdf)
        conn.execute(
            sa.insert(desk_members_table).values(
                desk_id=DESK,
                staff_id=anna.id,
                sealed_desk_key=seal_to(accounts_public(conn, anna.id), bytes(keys[DESK])),
            )
        )
    app = create_app(settings, {"TESTING": True})
    deployment = Deployment(app, settings, engine, keys)
    try:
        status, _ = submit_report(deployment.client(), what=TEXT)
        assert status == 503  # not sealed to a key the log does not name
        serve = deployment.cli("serve", "--port", "1")
        assert serve.exit_code != 0 and "run `visselpipa migrate`" in serve.output
        check = deployment.cli("check")
        assert check.exit_code == 1 and "its key is not in the signed log" in check.output

        migrated = deployment.cli("migrate")
        assert migrated.exit_code == 0, migrated.output
        assert "recorded the keys and members of desk(s) anticorruption" in migrated.output
        with engine.connect() as conn:
            assert check_desk_tables(conn, _signer(deployment).public_key) == []
            log = read_desk_log(conn, DESK, _signer(deployment).public_key)
        assert log.key_version == 2 and set(log.members) == {anna.id}
        assert submit_report(deployment.client(), what=TEXT)[0] == 200
        case_id, sealed = _grant(deployment, f"desk:{DESK}")
        assert open_grant(sealed, case_id, keys[DESK])
        again = deployment.cli("migrate")
        assert again.exit_code == 0 and "recorded the keys" not in again.output  # once only
        assert deployment.cli("verify").exit_code == 3  # no damage; no outside head given
    finally:
        app.extensions["visselpipa.engine"].dispose()
        engine.dispose()


def accounts_public(conn, staff_id):
    from nacl.public import PublicKey

    return PublicKey(
        conn.execute(
            sa.select(staff_table.c.public_key).where(staff_table.c.id == staff_id)
        ).scalar_one()
    )


def test_verify_says_empty_for_a_log_without_events(database_url, tmp_path):
    from caseflow.store import create_engine, migrate

    engine = create_engine(database_url)
    migrate(engine)
    engine.dispose()
    key = Signer.generate().public_key.hex()
    result = CliRunner().invoke(
        main, ["verify", "--database-url", database_url, "--public-key", key], env={}
    )
    assert result.exit_code == 3, result.output
    assert result.stdout.startswith("empty: the log holds no events")
