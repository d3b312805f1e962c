"""The `visselpipa` command: init, verify (and its verdict on a tampered log)."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from app.cli import main
from caseflow.service.cases import CaseService
from caseflow.service.intake import Intake, Report
from caseflow.store import create_engine
from caseflow.store.records import desks_table, staff_table
from config.settings import load_settings
from tests.functional.conftest import cli_env


def test_init_demo_creates_secrets_desks_staff_and_prints_credentials(database_url, tmp_path):
    env = cli_env(database_url, tmp_path / "data")
    runner = CliRunner()
    result = runner.invoke(main, ["init", "--demo"], env=env)
    assert result.exit_code == 0, result.output
    assert "utredare" in result.output and "investigator" in result.output
    secrets_file = tmp_path / "data" / "secrets.toml"
    assert secrets_file.stat().st_mode & 0o077 == 0  # readable by the owner only
    assert (tmp_path / "data" / "recovery-key.txt").stat().st_mode & 0o077 == 0
    engine = create_engine(database_url)
    with engine.connect() as conn:
        desks = set(conn.execute(sa.select(desks_table.c.id)).scalars())
        staff = set(conn.execute(sa.select(staff_table.c.username)).scalars())
    engine.dispose()
    assert desks == {"anticorruption", "ethics", "oversight"}
    assert staff == {"utredare", "ledamot", "tillsyn", "admin"}

    again = runner.invoke(main, ["init", "--demo", "--if-missing"], env=env)
    assert again.exit_code == 0, again.output
    assert "created desks" not in again.output


def test_init_adds_a_signing_key_to_an_older_secrets_file_and_keeps_the_rest(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    old = 'secret_key = "{}"\ntenant_salt = "{}"\n'.format("k" * 48, "ab" * 16)
    (data / "secrets.toml").write_text(old, encoding="utf-8")
    env = cli_env(f"sqlite:///{data / 'db.sqlite3'}", data)
    result = CliRunner().invoke(main, ["init"], env=env)
    assert result.exit_code == 0, result.output
    assert "added a signing key" in result.output
    settings = load_settings(environ=env)
    assert settings.secret_key == "k" * 48 and settings.tenant_salt == bytes.fromhex("ab" * 16)
    assert len(settings.signing_seed) == 32
    again = CliRunner().invoke(main, ["init", "--if-missing"], env=env)
    assert again.exit_code == 0 and "added a signing key" not in again.output
    assert load_settings(environ=env).signing_seed == settings.signing_seed


def test_a_missing_secret_stops_with_its_name(tmp_path):
    env = {"VISSELPIPA_DATA_DIR": str(tmp_path), "VISSELPIPA_SECRET_KEY": ""}
    result = CliRunner().invoke(main, ["verify"], env=env)
    assert result.exit_code != 0
    assert "secret_key" in result.output


def test_verify_passes_then_names_the_row_edited_behind_the_triggers_back(database_url, tmp_path):
    env = cli_env(database_url, tmp_path / "data")
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    settings = load_settings(environ=env)
    engine = create_engine(database_url)
    intake = Intake(engine, settings, CaseService(engine, settings.rules))
    for what in ("Första rapporten om mutor.", "Andra rapporten om jäv.", "Tredje rapporten."):
        intake.submit(intake.begin(), Report(category="bribery", agency="tullverket", what=what))

    result = runner.invoke(main, ["verify"], env=env)
    # No damage, but no outside head either: never a plain "ok" (exit 3).
    assert result.exit_code == 3, result.output
    # The three desks' signed keys (identity/key_log.py), then the three reports.
    assert "no damage found: 6 events" in result.output

    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER events_no_update")
        else:
            conn.exec_driver_sql("DROP TRIGGER events_no_update_or_delete ON events")
        conn.exec_driver_sql(
            "UPDATE events SET meta = replace(meta, 'bribery', 'fraud') WHERE seq = 5"
        )
    engine.dispose()

    result = runner.invoke(main, ["verify"], env=env)
    assert result.exit_code == 1
    assert "sequence number 5" in result.output
