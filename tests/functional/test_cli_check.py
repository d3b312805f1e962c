"""`visselpipa check`: the operator's monitor learns when tick has not run for a day."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from click.testing import CliRunner

from app.cli import main
from caseflow.clock import reporter_day, system_clock
from caseflow.store import create_engine
from caseflow.store.operations import TICK, last_run
from tests.functional.conftest import cli_env


def _setup(database_url, tmp_path):
    env = cli_env(database_url, tmp_path / "data")
    runner = CliRunner()
    result = runner.invoke(main, ["init"], env=env)
    assert result.exit_code == 0, result.output
    return runner, env


def test_check_fails_until_tick_runs_and_again_when_it_stops(database_url, tmp_path):
    runner, env = _setup(database_url, tmp_path)
    never = runner.invoke(main, ["check"], env=env)
    assert never.exit_code == 1 and "tick has never succeeded" in never.output

    assert runner.invoke(main, ["tick"], env=env).exit_code == 0
    today = reporter_day(system_clock())
    ok = runner.invoke(main, ["check"], env=env)
    assert ok.exit_code == 0, ok.output
    assert f"tick succeeded on {today.isoformat()}" in ok.output

    tomorrow = (today + timedelta(days=1)).isoformat()
    assert runner.invoke(main, ["check", "--now", tomorrow], env=env).exit_code == 0
    two_days_on = (today + timedelta(days=2)).isoformat()
    stale = runner.invoke(main, ["check", "--now", two_days_on], env=env)
    assert stale.exit_code == 1
    assert f"tick last succeeded on {today.isoformat()}" in stale.output


def test_a_failed_tick_is_reported_until_the_next_success(database_url, tmp_path):
    runner, env = _setup(database_url, tmp_path)
    assert runner.invoke(main, ["tick"], env=env).exit_code == 0
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:  # a read model gone: tick cannot run
            conn.execute(sa.text("ALTER TABLE case_index RENAME TO case_index_away"))
        assert runner.invoke(main, ["tick"], env=env).exit_code != 0
        assert last_run(engine, TICK).last_failure_on == reporter_day(system_clock())
        failed = runner.invoke(main, ["check"], env=env)
        assert failed.exit_code == 1 and "tick failed on" in failed.output

        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE case_index_away RENAME TO case_index"))
        assert runner.invoke(main, ["tick"], env=env).exit_code == 0
        assert runner.invoke(main, ["check"], env=env).exit_code == 0
        assert last_run(engine, TICK).last_seconds is not None
    finally:
        engine.dispose()


def test_check_names_a_pending_migration(database_url, tmp_path):
    runner, env = _setup(database_url, tmp_path)
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0006'"))
    finally:
        engine.dispose()
    result = runner.invoke(main, ["check"], env=env)
    assert result.exit_code == 1 and "visselpipa migrate" in result.output
    tick = runner.invoke(main, ["tick"], env=env)
    assert tick.exit_code == 1 and "visselpipa migrate" in tick.output
