"""Witnesses countersign heads that extend the last one they saw, and catch forks.

An outside party runs `visselpipa witness`; the deployment serves consistency
proofs and shows the countersignatures it recorded with `countersignature add`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

from click.testing import CliRunner, Result

from app import create_app
from app.cli import main
from caseflow.service.cases import CaseService
from caseflow.service.intake import Intake, Report
from caseflow.store import create_engine
from config.settings import load_settings
from tests.functional.conftest import cli_env
from tests.live_server import start_live_server


def _env(database_url: str, data_dir: Path) -> dict[str, str | None]:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("VISSELPIPA_")}
    env.update(cli_env(database_url, data_dir))
    return env


def _run(args: list[str], env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


class Deployment:
    def __init__(self, database_url: str, data_dir: Path, *, init: bool = True) -> None:
        self.url, self.data_dir = database_url, data_dir
        self.env = _env(database_url, data_dir)
        if init:
            assert _run(["init"], self.env).exit_code == 0
        self.settings = load_settings(environ={k: v for k, v in self.env.items() if v})

    def report(self, what: str) -> None:
        engine = create_engine(self.url)
        try:
            intake = Intake(engine, self.settings, CaseService(engine, self.settings.rules))
            intake.submit(
                intake.begin(), Report(category="bribery", agency="tullverket", what=what)
            )
        finally:
            engine.dispose()

    def head(self, path: Path) -> Path:
        assert _run(["checkpoint"], self.env).exit_code == 0
        path.write_text(_run(["head"], self.env).output, encoding="ascii")
        return path

    def key(self) -> str:
        found = re.search(r"public key: ([0-9a-f]{64})", _run(["signing-key"], self.env).output)
        assert found
        return found.group(1)

    def get(self, path: str):
        app = create_app(self.settings, {"TESTING": True})
        try:
            return app.test_client().get(path, base_url="https://localhost")
        finally:
            app.extensions["visselpipa.engine"].dispose()

    def proof(self, old: int, new: int, path: Path) -> Path:
        answer = self.get(f"/.well-known/visselpipa/consistency?old={old}&new={new}")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        path.write_bytes(answer.get_data())
        return path


def _size(head: Path) -> int:
    return int(json.loads(head.read_text(encoding="ascii"))["tree_size"])


def _witness(tmp_path: Path, deployment: Deployment) -> Path:
    state = tmp_path / "witness"
    result = _run(["witness", "init", state, "--deployment-key", deployment.key()], {})
    assert result.exit_code == 0, result.output
    assert (state / "witness.key").stat().st_mode & 0o777 == 0o600
    return state


def test_a_witness_countersigns_each_head_that_extends_the_last(database_url, tmp_path):
    d = Deployment(database_url, tmp_path / "data")
    state = _witness(tmp_path, d)
    d.report("Första rapporten om mutor.")
    first = d.head(tmp_path / "h1.json")
    result = _run(["witness", "check", state, "--head", first], {})
    assert result.exit_code == 0, result.output
    assert f"countersigned the head of {_size(first)} events" in result.output
    again = _run(["witness", "check", state, "--head", first], {})
    assert again.exit_code == 0 and "nothing new" in again.output

    for what in ("Andra rapporten.", "Tredje rapporten."):
        d.report(what)
    second = d.head(tmp_path / "h2.json")
    # A newer head without the proof from the last one: the witness cannot tell.
    assert _run(["witness", "check", state, "--head", second], {}).exit_code == 2
    proof = d.proof(_size(first), _size(second), tmp_path / "p.json")
    result = _run(["witness", "check", state, "--head", second, "--proof", proof], {})
    assert result.exit_code == 0, result.output

    # The deployment records both and shows them; twice is once.
    signed = sorted((state / "countersignatures").iterdir())
    assert len(signed) == 2
    added = _run(["countersignature", "add", *signed], d.env)
    assert added.exit_code == 0, added.output
    assert added.output.count("recorded: witness") == 2
    assert "already recorded" in _run(["countersignature", "add", signed[0]], d.env).output
    shown = json.loads(d.get("/.well-known/visselpipa/countersignatures").get_data())
    sizes = [c["head"]["tree_size"] for c in shown["countersignatures"]]
    assert sizes == [_size(second), _size(first)]
    # The log still verifies, countersignatures and all.
    assert _run(["verify", "--expect", second], d.env).exit_code == 0


def test_a_changed_countersignature_or_head_is_refused(database_url, tmp_path):
    d = Deployment(database_url, tmp_path / "data")
    state = _witness(tmp_path, d)
    d.report("En rapport.")
    head = d.head(tmp_path / "h.json")
    assert _run(["witness", "check", state, "--head", head], {}).exit_code == 0
    (signed,) = (state / "countersignatures").iterdir()
    document = json.loads(signed.read_text(encoding="ascii"))
    document["witnessed_on"] = "2020-01-01"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document), encoding="ascii")
    result = _run(["countersignature", "add", forged], d.env)
    assert result.exit_code == 1 and "does not verify" in result.output

    altered = json.loads(head.read_text(encoding="ascii"))
    root = altered["root_hash"]
    altered["root_hash"] = ("0" if root[0] != "0" else "1") + root[1:]  # one digit
    bad = tmp_path / "bad-head.json"
    bad.write_text(json.dumps(altered), encoding="ascii")
    result = _run(["witness", "check", state, "--head", bad], {})
    assert result.exit_code == 1 and "REFUSED" in result.output


def test_bad_consistency_requests_are_400(database_url, tmp_path):
    d = Deployment(database_url, tmp_path / "data")
    d.report("En rapport.")
    size = _size(d.head(tmp_path / "h.json"))
    for query in ("old=2&new=1", "old=a&new=2", f"old=1&new={size + 5}", "old=-1&new=1", ""):
        answer = d.get(f"/.well-known/visselpipa/consistency?{query}")
        assert answer.status_code == 400, query
        assert "error" in json.loads(answer.get_data())


def _copy_sqlite(source: Deployment, data_dir: Path) -> Deployment:
    data_dir.mkdir()
    shutil.copy2(source.data_dir / "secrets.toml", data_dir / "secrets.toml")
    target_file = data_dir / "visselpipa.sqlite3"
    src = sqlite3.connect(source.url[len("sqlite:///") :])
    dst = sqlite3.connect(target_file)
    src.backup(dst)
    src.close()
    dst.close()
    return Deployment(f"sqlite:///{target_file}", data_dir, init=False)


def test_a_forked_log_is_caught_with_both_signed_heads_as_evidence(tmp_path):
    a = Deployment(f"sqlite:///{tmp_path / 'a' / 'visselpipa.sqlite3'}", tmp_path / "a")
    state = _witness(tmp_path, a)
    a.report("Rapporten alla ser.")
    common = a.head(tmp_path / "common.json")
    assert _run(["witness", "check", state, "--head", common], {}).exit_code == 0
    # The same deployment, key and all, goes on in two copies: one shown to
    # the witness, the other to someone else.
    b = _copy_sqlite(a, tmp_path / "b")
    a.report("Version A av det som hände sedan.")
    b.report("Version B av det som hände sedan.")
    head_a, head_b = a.head(tmp_path / "a.json"), b.head(tmp_path / "b.json")
    assert _size(head_a) == _size(head_b)
    proof_a = a.proof(_size(common), _size(head_a), tmp_path / "pa.json")
    assert (
        _run(["witness", "check", state, "--head", head_a, "--proof", proof_a], {}).exit_code == 0
    )

    result = _run(["witness", "check", state, "--head", head_b], {})
    assert result.exit_code == 4, result.output
    assert "two heads of the same size have different roots" in result.output
    (evidence,) = (state / "evidence").iterdir()
    checked = _run(["witness", "check-evidence", evidence, "--deployment-key", a.key()], {})
    assert checked.exit_code == 0 and "FORK PROVEN" in checked.output, checked.output
    # The evidence is two heads the deployment signed: the same key checks both.
    saved = json.loads(evidence.read_text(encoding="ascii"))
    assert {saved["seen"]["root_hash"], saved["now"]["root_hash"]} == {
        json.loads(head_a.read_text())["root_hash"],
        json.loads(head_b.read_text())["root_hash"],
    }
    other = _run(["witness", "check-evidence", evidence, "--deployment-key", "ab" * 32], {})
    assert other.exit_code == 1

    # A larger head from copy B does not extend A's either: its own proof fails.
    b.report("Mer i version B.")
    bigger = b.head(tmp_path / "b2.json")
    b_from_a = b.proof(_size(head_a), _size(bigger), tmp_path / "pba.json")
    result = _run(["witness", "check", state, "--head", bigger, "--proof", b_from_a], {})
    assert result.exit_code == 4 and "does not extend" in result.output
    evidence = state / "evidence" / f"fork-{_size(head_a)}-{_size(bigger)}.json"
    checked = _run(["witness", "check-evidence", evidence, "--deployment-key", a.key()], {})
    assert checked.exit_code == 3 and "NOT PROVEN" in checked.output  # ask for a proof


def test_a_witness_fetches_from_the_running_deployment(tmp_path):
    with start_live_server(tmp_path) as server:
        database = server.env.get(
            "VISSELPIPA_DATABASE_URL", f"sqlite:///{server.data_dir / 'visselpipa.sqlite3'}"
        )
        d = Deployment(database, server.data_dir, init=False)
        state = _witness(tmp_path, d)
        d.report("Första.")
        d.head(tmp_path / "h1.json")
        first = _run(["witness", "check", state, "--url", server.url], {})
        assert first.exit_code == 0, first.output
        d.report("Andra.")
        d.head(tmp_path / "h2.json")
        second = _run(["witness", "check", state, "--url", server.url], {})
        assert second.exit_code == 0, second.output
        assert len(list((state / "countersignatures").iterdir())) == 2
