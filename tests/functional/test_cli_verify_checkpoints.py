"""`visselpipa checkpoint`, `signing-key` and `verify` as an operator and an auditor use them."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner, Result

from app.cli import main
from caseflow.service.cases import CaseService
from caseflow.service.intake import Intake, Report
from caseflow.store import GENESIS, create_engine, event_hash
from config.settings import load_settings
from tests.functional.conftest import cli_env
from tests.unit.store.tampering import drop_append_only_triggers

#: Events `init` writes: the signed keys of the three desks (identity/key_log.py).
B = 3


def _env(database_url: str, data_dir: Path) -> dict[str, str | None]:
    # Start from nothing the outer environment might hold for Visselpipa.
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("VISSELPIPA_")}
    env.update(cli_env(database_url, data_dir))
    return env


def _run(args: list[str], env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(main, args, env=env)


def _deployment_with_two_checkpoints(database_url: str, data_dir: Path) -> dict[str, str | None]:
    """The desks' B key events, three reports, checkpoint B+4 (covers B+3), two reports,
    checkpoint B+7 (covers B+6)."""
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
    assert first.output.startswith(f"checkpoint at seq {B + 4} covers seq {B + 3}, signed ")
    (data_dir / "head-at-3.json").write_text(_run(["head"], env).output, encoding="ascii")
    for what in ("Fjärde rapporten.", "Femte rapporten."):
        report(what)
    second = _run(["checkpoint"], env)
    assert second.exit_code == 0, second.output
    assert second.output.startswith(f"checkpoint at seq {B + 7} covers seq {B + 6}, signed ")
    (data_dir / "head-at-6.json").write_text(_run(["head"], env).output, encoding="ascii")
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


def test_verify_without_a_head_finds_no_damage_but_never_says_ok(database_url, tmp_path):
    env = _deployment_with_two_checkpoints(database_url, tmp_path / "data")
    _, ident = _published_key(env)
    result = _run(["verify"], env)
    assert result.exit_code == 3, result.output
    assert re.search(
        rf"no damage found: {B + 7} events, 2 checkpoints, last checkpoint at seq {B + 6} signed "
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00 \(root [0-9a-f]{64}, key " + ident + r"\)",
        result.stdout,
    ), result.output
    assert "ok" not in result.stdout.split()
    assert "NOT PROVEN COMPLETE" in result.stderr and "--expect" in result.stderr
    # The progress bar goes to stderr, so the verdict on stdout stays parseable.
    assert "verifying" in result.stderr and "verifying" not in result.stdout


def test_verify_with_the_published_head_says_ok(database_url, tmp_path):
    env = _deployment_with_two_checkpoints(database_url, tmp_path / "data")
    for name, size in (("head-at-3.json", B + 3), ("head-at-6.json", B + 6)):
        head = json.loads((tmp_path / "data" / name).read_text(encoding="ascii"))
        assert head["format"] == "visselpipa-tree-head" and head["tree_size"] == size
        result = _run(["verify", "--expect", str(tmp_path / "data" / name)], env)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"ok: {B + 7} events, 2 checkpoints")
        assert f"holds the expected head of {size} events" in result.stdout


def test_a_fresh_installation_says_so(database_url, tmp_path):
    env = _env(database_url, tmp_path / "data")
    assert _run(["init"], env).exit_code == 0
    result = _run(["verify"], env)
    assert result.exit_code == 3, result.output
    assert result.stdout.startswith(
        f"fresh installation: the log holds only the desks' signed keys and members "
        f"({B} events), no report yet"
    )
    assert "ok" not in result.stdout.split() and "NOT PROVEN COMPLETE" in result.stderr
    head = _run(["head"], env)
    assert head.exit_code == 1 and "no signed tree head yet" in head.output


def test_an_auditor_verifies_a_copy_with_only_the_published_key(database_url, tmp_path):
    env = _deployment_with_two_checkpoints(database_url, tmp_path / "data")
    key, _ = _published_key(env)
    published = str(tmp_path / "data" / "head-at-6.json")
    if database_url.startswith("sqlite:///"):
        copy = tmp_path / "auditor" / "copy.sqlite3"
        copy.parent.mkdir()
        # A consistent copy, as the online backup API makes it.
        source = sqlite3.connect(database_url[len("sqlite:///") :])
        target = sqlite3.connect(copy)
        source.backup(target)
        source.close()
        target.close()
        database_url = f"sqlite:///{copy}"
    # No data directory, no secrets, and a setting that would make any
    # settings load fail: verify must read none of it.
    auditor = {k: None for k in env}
    auditor["VISSELPIPA_DATA_DIR"] = str(tmp_path / "nowhere")
    auditor["VISSELPIPA_NOT_A_SETTING"] = "1"
    assert _run(["verify"], auditor).exit_code != 0  # without the options it needs settings

    args = ["verify", "--database-url", database_url, "--public-key", key]
    result = _run([*args, "--expect", published], auditor)
    assert result.exit_code == 0, result.output
    assert f"ok: {B + 7} events, 2 checkpoints, last checkpoint at seq {B + 6}" in result.output
    result = _run(args, auditor)
    assert result.exit_code == 3 and "NOT PROVEN COMPLETE" in result.output
    assert not (tmp_path / "nowhere").exists()

    other = "ab" * 32  # someone else's key: every checkpoint fails
    result = _run(["verify", "--database-url", database_url, "--public-key", other], auditor)
    assert result.exit_code == 1
    assert f"BROKEN at sequence number {B + 4}" in result.output
    assert "no checkpoint verified before the damage" in result.output

    result = _run(["verify", "--database-url", database_url, "--public-key", "12zz"], auditor)
    assert result.exit_code == 2 and "--public-key" in result.output
    not_a_head = tmp_path / "not-a-head.json"
    not_a_head.write_text("{}", encoding="ascii")
    result = _run([*args, "--expect", str(not_a_head)], auditor)
    assert result.exit_code == 2 and "not a signed tree head" in result.output


def test_a_log_cut_short_is_refused_with_the_published_head(database_url, tmp_path):
    """The issue's (b): the last events and the last checkpoint deleted behind the triggers."""
    env = _deployment_with_two_checkpoints(database_url, tmp_path / "data")
    engine = create_engine(database_url)
    drop_append_only_triggers(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM events WHERE seq > {B + 4}")
    engine.dispose()
    assert _run(["verify"], env).exit_code == 3  # alone, a shorter log shows no damage
    result = _run(["verify", "--expect", str(tmp_path / "data" / "head-at-6.json")], env)
    assert result.exit_code == 1, result.output
    assert f"BROKEN at sequence number {B + 5}" in result.output
    assert f"more events than this log holds ({B + 4})" in result.output


def test_a_sqlite_copy_without_its_wal_is_refused(tmp_path):
    """The issue's (a): a plain copy of the live file, without the -wal beside it."""
    data = tmp_path / "data"
    live = data / "visselpipa.sqlite3"
    database_url = f"sqlite:///{live}"
    env = _deployment_with_two_checkpoints(database_url, data)
    # While a connection stays open, SQLite does not fold the WAL back into
    # the file on close: the newest transactions exist only in the -wal, as
    # on a running deployment.
    holder = sqlite3.connect(live)
    holder.execute("SELECT count(*) FROM events").fetchone()
    try:
        settings = load_settings(environ={k: v for k, v in env.items() if v is not None})
        engine = create_engine(database_url)
        intake = Intake(engine, settings, CaseService(engine, settings.rules))
        intake.submit(intake.begin(), Report(category="bribery", agency="tullverket", what="Sex."))
        engine.dispose()
        assert _run(["checkpoint"], env).exit_code == 0
        head = _run(["head"], env).output
        assert json.loads(head)["tree_size"] == B + 8
        (data / "head-at-8.json").write_text(head, encoding="ascii")
        assert live.with_name("visselpipa.sqlite3-wal").stat().st_size > 0

        copy = tmp_path / "copy" / "visselpipa.sqlite3"
        copy.parent.mkdir()
        shutil.copyfile(live, copy)  # the file alone: its -wal is left behind
        key, _ = _published_key(env)
        args = ["verify", "--database-url", f"sqlite:///{copy}", "--public-key", key]
        alone = _run(args, {})
        assert alone.exit_code == 3, alone.output  # what the copy holds shows no damage
        result = _run([*args, "--expect", str(data / "head-at-8.json")], {})
        assert result.exit_code == 1, result.output
        assert "more events than this log holds" in result.output and "-wal" in result.output
        # The live database, read with its -wal, holds the head.
        assert _run(["verify", "--expect", str(data / "head-at-8.json")], env).exit_code == 0
    finally:
        holder.close()


def test_verify_names_the_rewrite_and_the_last_good_checkpoint(database_url, tmp_path):
    env = _deployment_with_two_checkpoints(database_url, tmp_path / "data")
    _rewrite_and_rechain(database_url, seq=B + 5)
    result = _run(["verify", "--expect", str(tmp_path / "data" / "head-at-3.json")], env)
    assert result.exit_code == 1, result.output
    assert f"BROKEN at sequence number {B + 6}" in result.output
    assert "rewritten" in result.output
    assert re.search(
        rf"last good checkpoint: seq {B + 4} covers seq {B + 3}, signed \S+: "
        rf"the log is proven up to seq {B + 3}",
        result.output,
    ), result.output
