"""`visselpipa tick` and `visselpipa rebuild-projections` from the command line."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from app.cli import main
from caseflow.service.cases import CaseService
from caseflow.service.intake import Intake, Report
from caseflow.store import EventStore, create_engine
from caseflow.store.projections import case_index_table
from config.settings import load_settings
from tests.functional.conftest import cli_env


def test_tick_escalates_an_unacknowledged_report_once_and_rebuild_agrees(database_url, tmp_path):
    env = cli_env(database_url, tmp_path / "data")
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    settings = load_settings(environ=env)
    engine = create_engine(database_url)
    intake = Intake(engine, settings, CaseService(engine, settings.rules))
    intake.submit(intake.begin(), Report(category="bribery", agency="tullverket", what="Mutor."))
    with engine.connect() as conn:
        (case_id, received_on) = conn.execute(
            sa.select(case_index_table.c.case_id, case_index_table.c.received_on)
        ).one()
    later = received_on.replace(year=received_on.year + 1).isoformat()

    first = runner.invoke(main, ["tick", "--now", later], env=env)
    assert first.exit_code == 0, first.output
    assert "1 cases due" in first.output and "1 changed" in first.output
    assert "checkpoint signed" in first.output  # the log's head, signed
    again = runner.invoke(main, ["tick", "--now", later], env=env)
    assert "0 events appended" in again.output
    assert "checkpoint" not in again.output  # nothing new, and within the hour
    steps = [
        (e.meta["deadline"], e.meta["level"])
        for e in EventStore(engine).read_stream(case_id)
        if e.type == "CaseEscalated"
    ]
    # Both the acknowledgement and the feedback deadline climbed the whole
    # ladder, each step once.
    assert sorted(steps) == sorted(
        (deadline, level)
        for deadline in ("acknowledgement", "feedback")
        for level in ("assignee", "desk_lead", "oversight")
    )

    with engine.connect() as conn:
        before = conn.execute(sa.select(case_index_table)).all()
    rebuilt = runner.invoke(main, ["rebuild-projections"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "1 cases" in rebuilt.output
    with engine.connect() as conn:
        assert conn.execute(sa.select(case_index_table)).all() == before
    engine.dispose()


def test_a_malformed_now_is_refused_with_the_option_named(tmp_path):
    result = CliRunner().invoke(main, ["tick", "--now", "next tuesday"])
    assert result.exit_code == 2
    assert "--now" in result.output and "ISO" in result.output
