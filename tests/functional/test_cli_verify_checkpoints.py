"""`visselpipa checkpoint`, `signing-key` and `verify` as an operator and an auditor use them."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner, Result

from app.cli import main
from caseflow.service.cases import CaseService
from caseflow.service.intake import Intake, Report
from caseflow.store import GENESIS, create_engine, event_hash
from config.settings import load_settings
from tests.functional.conftest import cli_env


def _env(database_url: str, data_dir: Path) -> dict[str, str | None]:
    # Start from nothing the outer environment might hold for Visselpipa.
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("VISSELPIPA_")}
    env.update(cli_env(database_url, data_dir))
    return env


def _run(args: list[str], env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(main, args, env=env)


def _deployment_with_two_checkpoints(database_url: str, data_dir: Path) -> dict[str, str | None]:
    """Three reports, checkpoint 4 (covers seq 3), two reports, checkpoint 7 (covers seq 6)."""
    env = _env(database_url, data_dir)
    assert _run(["init"], env).exit_code == 0
    settings = load_settings(environ={k: v for k, v in env.items() if v is not None})
    engine = create_engine(database_url)
    intake = Intake(engine, settings, CaseService(engine, settings.rules))

    def report(what: str) -> None:
        intake.submit(intake.begin(), Report(category="bribery", agency="tullverket", what=what))

    for what in ("Första rapporten om mutor.", "Andra rapporten om jäv.", "Tredje rapporten."):
        report(what)
    first = _run(["checkpoint"], env)
    assert first.exit_code == 0, first.output
    assert first.output.startswith("checkpoint at seq 4 covers seq 3, signed ")
    for what in ("Fjärde rapporten.", "Femte rapporten."):
        report(what)
    second = _run(["checkpoint"], env)
    assert second.exit_code == 0, second.output
    assert second.output.startswith("checkpoint at seq 7 covers seq 6, signed ")
    engine.dispose()
    return env


def _published_key(env: dict[str, str | None]) -> tuple[str, str]:
    result = _run(["signing-key"], env)
    assert result.exit_code == 0, result.output
    key = re.search(r"public key: ([0-9a-f]{64})\n", result.output)
    ident = re.search(r"key id: +([0-9a-f]{16})\n", result.output)
    assert key and ident, result.output
    return key.group(1), ident.group(1)


def _rewrite_and_rechain(database_url: str, seq: int) -> None:
    """Edit one event behind the triggers' back and recompute every later hash."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER events_no_update")
        else:
            conn.exec_driver_sql("DROP TRIGGER events_no_update_or_delete ON events")
        conn.execute(
            sa.text("UPDATE events SET meta = replace(meta, 'bribery', 'fraud') WHERE seq = :s"),
            {"s": seq},
        )
        prev = GENESIS
        rows = conn.execute(
            sa.text(
                "SELECT seq, stream_id, version, type, actor, recorded_at, meta, body "
                "FROM events ORDER BY seq"
            )
        ).all()
        for r in rows:
            body = None if r.body is None else bytes(r.body)
            digest = event_hash(
                r.seq, r.stream_id, r.version, r.type, r.actor, r.recorded_at, r.meta, body, prev
            )
            conn.execute(
                sa.text("UPDATE events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": digest, "s": r.seq},
            )
            prev = digest
    engine.dispose()


def test_verify_reports_events_checkpoints_and_the_newest_one(database_url, tmp_path):
    env = _deployment_with_two_checkpoints(database_url, tmp_path / "data")
    _, ident = _published_key(env)
    result = _run(["verify"], env)
    assert result.exit_code == 0, result.output
    assert re.search(
        r"ok: 7 events, 2 checkpoints, last checkpoint at seq 6 signed "
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00 \(key " + ident + r"\)",
        result.stdout,
    ), result.output
    # The progress bar goes to stderr, so the verdict on stdout stays parseable.
    assert "verifying" in result.stderr and "verifying" not in result.stdout


def test_an_auditor_verifies_a_copy_with_only_the_published_key(database_url, tmp_path):
    env = _deployment_with_two_checkpoints(database_url, tmp_path / "data")
    key, _ = _published_key(env)
    if database_url.startswith("sqlite:///"):
        copy = tmp_path / "auditor" / "copy.sqlite3"
        copy.parent.mkdir()
        shutil.copy(database_url[len("sqlite:///") :], copy)
        database_url = f"sqlite:///{copy}"
    # No data directory, no secrets, and a setting that would make any
    # settings load fail: verify must read none of it.
    auditor = {k: None for k in env}
    auditor["VISSELPIPA_DATA_DIR"] = str(tmp_path / "nowhere")
    auditor["VISSELPIPA_NOT_A_SETTING"] = "1"
    assert _run(["verify"], auditor).exit_code != 0  # without the options it needs settings

    args = ["verify", "--database-url", database_url, "--public-key", key]
    result = _run(args, auditor)
    assert result.exit_code == 0, result.output
    assert "ok: 7 events, 2 checkpoints, last checkpoint at seq 6" in result.output
    assert not (tmp_path / "nowhere").exists()

    other = "ab" * 32  # someone else's key: every checkpoint fails
    result = _run(["verify", "--database-url", database_url, "--public-key", other], auditor)
    assert result.exit_code == 1
    assert "BROKEN at sequence number 4" in result.output
    assert "no checkpoint verified before the damage" in result.output

    result = _run(["verify", "--database-url", database_url, "--public-key", "12zz"], auditor)
    assert result.exit_code == 2 and "--public-key" in result.output


def test_verify_names_the_rewrite_and_the_last_good_checkpoint(database_url, tmp_path):
    env = _deployment_with_two_checkpoints(database_url, tmp_path / "data")
    _rewrite_and_rechain(database_url, seq=5)
    result = _run(["verify"], env)
    assert result.exit_code == 1, result.output
    assert "BROKEN at sequence number 6" in result.output
    assert "rewritten" in result.output
    assert re.search(
        r"last good checkpoint: seq 4 covers seq 3, signed \S+: the log is proven up to seq 3",
        result.output,
    ), result.output
