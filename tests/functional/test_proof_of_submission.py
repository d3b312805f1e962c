"""The reporter downloads a signed proof of submission; anyone checks it, offline.

From the receipt page (no session: the proof rides in the page and is posted
back) and from the status page (an open session); the published key checks
it; `visselpipa verify-proof` says valid or why not.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from html import unescape

from click.testing import CliRunner

from app.cli import main
from caseflow.clock import STOCKHOLM
from caseflow.service.proofs import check_against_log, verify_proof
from crypto.signing import Signer
from tests.functional.pages import hidden_fields, open_status, receipt_from, submit_report

MARKER = "ZQX-PROOF-MARKER-5521"
KEY_PATH = "/.well-known/visselpipa-signing-key"


def _report(client) -> tuple[str, str]:
    status, page = submit_report(
        client, what=f"Upphandlingen styrdes till en vän. {MARKER}", persons=MARKER
    )
    assert status == 200, page
    return receipt_from(page), page


def _published_key(client) -> bytes:
    response = client.get(KEY_PATH)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    published = json.loads(response.data)
    return bytes.fromhex(published["public_key"])


def _today() -> str:
    return datetime.now(STOCKHOLM).date().isoformat()


def _assert_reveals_nothing(document: bytes, receipt: str) -> None:
    text = document.decode()
    for secret in (receipt, receipt.replace("-", ""), MARKER, "Upphandlingen"):
        assert secret not in text
    # No time of day anywhere: the only date-like value is the day itself.
    assert not re.search(r"\d{2}:\d{2}", text)
    assert re.findall(r"\d{4}-\d{2}-\d{2}", text) == [_today()]


def test_the_receipt_page_offers_the_proof_and_it_verifies_with_the_published_key(
    deployment, client
):
    receipt, page = _report(client)
    assert 'action="/receipt/proof"' in page
    response = client.post("/receipt/proof", data={**hidden_fields(page), "show": "file"})

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="visselpipa-proof-[0-9a-f]{8}\.json"', disposition)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"

    document = response.data
    key = _published_key(client)
    assert key == Signer(deployment.settings.signing_seed).public_key
    proof = verify_proof(document, key)
    assert proof.received_on.isoformat() == _today()
    assert disposition.endswith(f'-{proof.case_id[:8]}.json"')
    check_against_log(deployment.engine, proof)  # it commits to the stored report
    _assert_reveals_nothing(document, receipt)
    assert MARKER not in page.split('action="/receipt/proof"')[1]


def test_the_receipt_download_refuses_anything_this_deployment_did_not_sign(client):
    _receipt, page = _report(client)
    fields = hidden_fields(page)
    genuine = fields["document"]
    proof = json.loads(genuine)
    other_key = Signer.generate()
    unsigned = {k: v for k, v in proof.items() if k != "signature"}
    tampered = {
        "a changed day": genuine.replace(proof["received_on"], "2020-01-01"),
        "a changed signature byte": genuine.replace(
            proof["signature"],
            proof["signature"][:-1] + ("0" if proof["signature"][-1] != "0" else "1"),
        ),
        "arbitrary content": "<script>alert(1)</script>",
        "another key": json.dumps(
            {
                **unsigned,
                "key_id": other_key.key_id,
                "signature": other_key.sign(
                    "proof",
                    json.dumps(
                        {**unsigned, "key_id": other_key.key_id},
                        sort_keys=True,
                        separators=(",", ":"),
                    ).encode(),
                ).hex(),
            }
        ),
        "nothing": "",
    }
    for what, document in tampered.items():
        response = client.post(
            "/receipt/proof", data={**fields, "document": document, "show": "file"}
        )
        assert response.status_code == 400, what
        assert response.mimetype == "text/html", what
        assert "<script>" not in response.get_data(as_text=True), what

    # Without the CSRF token the form is refused too.
    response = client.post("/receipt/proof", data={"document": genuine})
    assert response.status_code == 400
    # The genuine one still works.
    response = client.post("/receipt/proof", data={**fields, "show": "file"})
    assert response.status_code == 200


def test_the_receipt_page_also_shows_a_printable_page_that_can_download_the_file(client):
    receipt, page = _report(client)
    response = client.post("/receipt/proof", data={**hidden_fields(page), "show": "page"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    key = _published_key(client)
    assert key.hex() in html
    assert "Inlämningsbevis" in html  # Swedish first
    assert "verify-proof" in html and KEY_PATH in html
    assert receipt not in html and MARKER not in html
    # CSP holds: no inline script or style on the page.
    assert "<script" not in html and "style=" not in html and "<style" not in html
    again = client.post("/receipt/proof", data={**hidden_fields(html), "show": "file"})
    assert again.status_code == 200
    verify_proof(again.data, key)


def test_the_status_page_offers_the_same_proof_for_the_open_session_only(deployment, client):
    receipt, page = _report(client)
    from_receipt = client.post("/receipt/proof", data={**hidden_fields(page), "show": "file"}).data

    # No session yet: no proof, only the way to the receipt form.
    for path in ("/status/proof.json", "/status/proof"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["Location"] == "/status"

    status, status_page = open_status(client, receipt)
    assert status == 200
    assert 'href="/status/proof.json"' in status_page and 'href="/status/proof"' in status_page

    response = client.get("/status/proof.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="visselpipa-proof-'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data == from_receipt  # one case, one proof
    proof = verify_proof(response.data, _published_key(client))
    check_against_log(deployment.engine, proof)
    _assert_reveals_nothing(response.data, receipt)

    readable = client.get("/status/proof")
    assert readable.status_code == 200
    html = unescape(readable.get_data(as_text=True))
    assert proof.case_id in html and proof.received_on.isoformat() in html
    assert proof.commitment in html and proof.key_id in html
    assert "<script" not in html and "style=" not in html
    assert receipt not in html and MARKER not in html

    client.post("/status/leave", data=hidden_fields(status_page))
    assert client.get("/status/proof.json").status_code == 303


def test_a_second_reporter_session_gets_its_own_case_only(deployment):
    first, second = deployment.client(), deployment.client()
    receipt_one, _ = _report(first)
    receipt_two, _ = _report(second)
    open_status(first, receipt_one)
    open_status(second, receipt_two)
    one = json.loads(first.get("/status/proof.json").data)
    two = json.loads(second.get("/status/proof.json").data)
    assert one["case"] != two["case"] and one["commitment"] != two["commitment"]


def _cli_env(deployment) -> dict[str, str]:
    settings = deployment.settings
    return {
        "VISSELPIPA_DATA_DIR": str(settings.data_dir),
        "VISSELPIPA_DATABASE_URL": settings.database_url,
        "VISSELPIPA_SECRET_KEY": settings.secret_key,
        "VISSELPIPA_TENANT_SALT": settings.tenant_salt.hex(),
        "VISSELPIPA_SIGNING_SEED": settings.signing_seed.hex(),
    }


def test_verify_proof_command_valid_invalid_offline_and_against_the_database(
    deployment, client, tmp_path
):
    _receipt, page = _report(client)
    document = client.post("/receipt/proof", data={**hidden_fields(page), "show": "file"}).data
    proof = json.loads(document)
    good = tmp_path / "proof.json"
    good.write_bytes(document)
    runner = CliRunner()

    # With the deployment's settings: its own key, and its database.
    env = _cli_env(deployment)
    result = runner.invoke(main, ["verify-proof", str(good), "--database"], env=env)
    assert result.exit_code == 0, result.output
    assert f"valid: case {proof['case']} received on {proof['received_on']}" in result.output
    assert "matches the report stored" in result.output

    # Offline: only the published key, and settings that could not even load.
    key = client.get(KEY_PATH).get_json()["public_key"]
    offline = {"VISSELPIPA_DATA_DIR": str(tmp_path / "nowhere"), "VISSELPIPA_SECRET_KEY": ""}
    assert runner.invoke(main, ["verify"], env=offline).exit_code != 0  # no settings here
    result = runner.invoke(main, ["verify-proof", str(good), "--public-key", key], env=offline)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"valid: case {proof['case']}")

    bad = tmp_path / "bad.json"
    bad.write_bytes(document.replace(proof["received_on"].encode(), b"2019-05-01"))
    result = runner.invoke(main, ["verify-proof", str(bad), "--public-key", key], env=offline)
    assert result.exit_code == 1
    assert "invalid" in result.output and "altered" in result.output

    other = Signer.generate().public_key.hex()
    result = runner.invoke(main, ["verify-proof", str(good), "--public-key", other], env=offline)
    assert result.exit_code == 1 and "signed with key" in result.output

    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"hello")
    result = runner.invoke(main, ["verify-proof", str(garbage)], env=env)
    assert result.exit_code == 1 and "not valid JSON" in result.output

    result = runner.invoke(main, ["verify-proof", str(good), "--public-key", "abc"], env=offline)
    assert result.exit_code == 2 and "--public-key" in result.output


def test_verify_proof_database_check_fails_for_a_proof_from_another_deployment_database(
    deployment, client, tmp_path
):
    """The same key, but a database that never received this report: the signature
    is fine and the database check says so."""
    from caseflow.store import create_engine, migrate

    _receipt, page = _report(client)
    path = tmp_path / "proof.json"
    path.write_bytes(
        client.post("/receipt/proof", data={**hidden_fields(page), "show": "file"}).data
    )
    empty_url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    engine = create_engine(empty_url)
    migrate(engine)
    engine.dispose()
    env = {**_cli_env(deployment), "VISSELPIPA_DATABASE_URL": empty_url}
    result = CliRunner().invoke(main, ["verify-proof", str(path), "--database"], env=env)
    assert result.exit_code == 1
    assert "invalid: this database holds no report" in result.output
