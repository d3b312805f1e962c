"""``/.well-known/visselpipa/tree-head``: the newest signed head, for anyone to keep."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

from app.cli import main
from caseflow.clock import STOCKHOLM
from caseflow.store import parse_head, sign_checkpoint
from crypto.signing import Signer
from tests.functional.pages import open_status, receipt_from, submit_report

HEAD_PATH = "/.well-known/visselpipa/tree-head"
KEY_PATH = "/.well-known/visselpipa-signing-key"


def test_the_newest_signed_head_is_published_and_verifies_a_copy(deployment, client, tmp_path):
    none_yet = client.get(HEAD_PATH)
    assert none_yet.status_code == 404 and none_yet.mimetype == "application/json"
    assert json.loads(none_yet.data) == {"error": "no signed tree head yet"}

    status, _page = submit_report(client, what="Ett rapporterat fall av jäv i upphandling.")
    assert status == 200
    signer = Signer(deployment.settings.signing_seed)
    sign_checkpoint(deployment.engine, signer, datetime(2026, 12, 1, 9, tzinfo=STOCKHOLM))

    response = client.get(HEAD_PATH)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    head = parse_head(response.data)
    key = bytes.fromhex(client.get(KEY_PATH).get_json()["public_key"])
    head.verify(key)
    assert head.signed_at == "2026-12-01T09:00:00+01:00"
    assert "tree-head" in client.get(KEY_PATH).get_json()["signs"]
    # It names the events before it, and nothing else: sizes, hashes, a time.
    assert set(json.loads(response.data)) == {
        "format", "version", "tree_size", "root_hash", "head_hash", "signed_at", "key_id",
        "signature",
    }  # fmt: skip

    # What was fetched is what an auditor passes to verify --expect.
    fetched = Path(tmp_path) / "head.json"
    fetched.write_bytes(response.data)
    result = CliRunner().invoke(
        main,
        [
            "verify", "--database-url", deployment.settings.database_url,
            "--public-key", key.hex(), "--expect", str(fetched),
        ],
        env={"VISSELPIPA_DATA_DIR": str(tmp_path / "nowhere")},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"holds the expected head of {head.tree_size} events" in result.output


def test_after_the_next_head_the_reporters_proof_shows_the_log_holds_their_report(
    deployment, client, tmp_path
):
    status, page = submit_report(client, what="Jäv vid tillsättning av en tjänst.")
    receipt = receipt_from(page)
    open_status(client, receipt)
    first = json.loads(client.get("/status/proof.json").data)
    assert first["version"] == 1
    assert 'id="proof-no-inclusion"' in client.get("/status/proof").get_data(as_text=True)

    signer = Signer(deployment.settings.signing_seed)
    sign_checkpoint(deployment.engine, signer, datetime(2026, 12, 1, 10, tzinfo=STOCKHOLM))
    document = client.get("/status/proof.json").data
    proof = json.loads(document)
    assert proof["version"] == 2 and proof["tree_head"] == json.loads(client.get(HEAD_PATH).data)
    page = client.get("/status/proof").get_data(as_text=True)
    assert 'id="proof-inclusion"' in page and proof["tree_head"]["root_hash"] in page

    saved = Path(tmp_path) / "proof.json"
    saved.write_bytes(document)
    key = client.get(KEY_PATH).get_json()["public_key"]
    offline = {"VISSELPIPA_DATA_DIR": str(tmp_path / "nowhere")}
    result = CliRunner().invoke(
        main, ["verify-proof", str(saved), "--public-key", key], env=offline
    )
    assert result.exit_code == 0, result.output
    assert "included: the report's event" in result.output
    assert f"tree head of {proof['tree_head']['tree_size']} events" in result.output

    changed = dict(proof, inclusion=["00" * 32, *proof["inclusion"][1:]])
    saved.write_text(json.dumps(changed), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["verify-proof", str(saved), "--public-key", key], env=offline
    )
    assert result.exit_code == 1 and "inclusion proof does not lead" in result.output
