"""The staff commands of `visselpipa`: add-user, desk membership, recover-user."""

from __future__ import annotations

import pyotp
import sqlalchemy as sa
from click.testing import CliRunner

from app.cli import main
from caseflow.store import create_engine
from caseflow.store.records import desk_members_table, desks_table
from config.settings import load_settings
from identity import accounts
from identity.staff_auth import LoginRefused, StaffAuth
from tests.conftest import CHEAP_KDF
from tests.functional.conftest import cli_env


def _auth(engine):
    return StaffAuth(engine, CHEAP_KDF, bytes(32))


def test_add_user_join_and_leave_a_desk_then_recover(database_url, tmp_path):
    env = cli_env(database_url, tmp_path / "data")
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    recovery_file = tmp_path / "data" / "recovery-key.txt"
    password_file = tmp_path / "pw"
    password_file.write_text("första långa lösenordet\n")

    result = runner.invoke(
        main,
        ["add-user", "karin", "--role", "investigator", "--password-file", str(password_file)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    prompted = runner.invoke(
        main,
        ["add-user", "lars", "--role", "desk_lead"],
        env=env,
        input="ett annat långt lösen\nett annat långt lösen\n",
    )
    assert prompted.exit_code == 0, prompted.output
    short = runner.invoke(
        main, ["add-user", "mia", "--role", "auditor"], env=env, input="kort\nkort\n"
    )
    assert short.exit_code != 0 and "at least 12" in short.output
    assert (
        runner.invoke(
            main,
            ["add-user", "nils", "--role", "king", "--password-file", str(password_file)],
            env=env,
        ).exit_code
        != 0
    )

    joined = runner.invoke(
        main, ["add-desk-member", "ethics", "karin", "--recovery-key", str(recovery_file)], env=env
    )
    assert joined.exit_code == 0, joined.output
    engine = create_engine(database_url)
    try:
        signed_in = _auth(engine).authenticate("karin", "första långa lösenordet")
        with engine.connect() as conn:
            desk_key = accounts.open_desk_key(
                conn, "ethics", signed_in.staff_id, signed_in.private_key
            )
            public = conn.execute(
                sa.text("SELECT public_key FROM desks WHERE id='ethics'")
            ).scalar()
        assert bytes(desk_key.public_key) == bytes(public)

        new_password = tmp_path / "pw2"
        new_password.write_text("det nya återställda lösenordet\n")
        recovered = runner.invoke(
            main,
            [
                "recover-user",
                "karin",
                "--recovery-key",
                str(recovery_file),
                "--password-file",
                str(new_password),
            ],
            env=env,
        )
        assert recovered.exit_code == 0, recovered.output
        try:
            _auth(engine).authenticate("karin", "första långa lösenordet")
            raise AssertionError("the old password still works")
        except LoginRefused:
            pass
        again = _auth(engine).authenticate("karin", "det nya återställda lösenordet")
        assert bytes(again.private_key) == bytes(signed_in.private_key)

        wrong_key = tmp_path / "wrong.txt"
        wrong_key.write_text("# not ours\n" + "11" * 32 + "\n")
        refused = runner.invoke(
            main,
            [
                "recover-user",
                "karin",
                "--recovery-key",
                str(wrong_key),
                "--password-file",
                str(new_password),
            ],
            env=env,
        )
        assert refused.exit_code != 0 and "does not open" in refused.output

        left = runner.invoke(main, ["remove-desk-member", "ethics", "karin"], env=env)
        assert left.exit_code == 0, left.output
        with engine.connect() as conn:
            assert accounts.open_desk_key(conn, "ethics", again.staff_id, again.private_key) is None
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(desk_members_table)).scalar()
                == 0
            )
        assert (
            runner.invoke(main, ["remove-desk-member", "ethics", "karin"], env=env).exit_code != 0
        )
    finally:
        engine.dispose()


def test_recover_user_can_reset_a_lost_second_factor(database_url, tmp_path):
    env = cli_env(database_url, tmp_path / "data")
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    password_file = tmp_path / "pw"
    password_file.write_text("första långa lösenordet\n")
    runner.invoke(
        main,
        ["add-user", "karin", "--role", "investigator", "--password-file", str(password_file)],
        env=env,
    )
    engine = create_engine(database_url)
    try:
        auth = _auth(engine)
        signed_in = auth.authenticate("karin", "första långa lösenordet")
        auth.confirm_enrolment(signed_in, pyotp.TOTP(auth.begin_enrolment(signed_in).secret).now())
        assert auth.is_enrolled(signed_in.staff_id)
        result = runner.invoke(
            main,
            [
                "recover-user",
                "karin",
                "--recovery-key",
                str(tmp_path / "data" / "recovery-key.txt"),
                "--password-file",
                str(password_file),
                "--reset-second-factor",
            ],
            env=env,
        )
        assert result.exit_code == 0, result.output
        assert not auth.is_enrolled(signed_in.staff_id)
        assert auth.recovery_codes_left(signed_in.staff_id) == 0
    finally:
        engine.dispose()
    load_settings(environ=env)  # the deployment still loads


def test_removing_a_member_with_the_recovery_key_rotates_the_desk_key(database_url, tmp_path):
    env = cli_env(database_url, tmp_path / "data")
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    recovery_file = tmp_path / "data" / "recovery-key.txt"
    password_file = tmp_path / "pw"
    password_file.write_text("ett långt lösenord för test\n", encoding="utf-8")
    for name in ("karin", "lars"):
        added = runner.invoke(
            main,
            ["add-user", name, "--role", "investigator", "--password-file", str(password_file)],
            env=env,
        )
        assert added.exit_code == 0, added.output
        joined = runner.invoke(
            main,
            ["add-desk-member", "ethics", name, "--recovery-key", str(recovery_file)],
            env=env,
        )
        assert joined.exit_code == 0, joined.output
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            old = conn.execute(
                sa.select(desks_table.c.public_key).where(desks_table.c.id == "ethics")
            ).scalar_one()
        left = runner.invoke(
            main,
            ["remove-desk-member", "ethics", "karin", "--recovery-key", str(recovery_file)],
            env=env,
        )
        assert left.exit_code == 0, left.output
        assert "desk key rotated (version 2)" in left.output and "1 members" in left.output
        with engine.connect() as conn:
            desk = conn.execute(sa.select(desks_table).where(desks_table.c.id == "ethics")).one()
        assert desk.public_key != old and not desk.rotation_due
        lars = _auth(engine).authenticate("lars", "ett långt lösenord för test")
        with engine.connect() as conn:
            key = accounts.open_desk_key(conn, "ethics", lars.staff_id, lars.private_key)
        assert key is not None and bytes(key.public_key) == desk.public_key
    finally:
        engine.dispose()
