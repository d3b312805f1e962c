"""Proofs of submission: sign from the stored report, verify offline, check against the log."""

from __future__ import annotations

import json

import pytest

from caseflow.service.proofs import (
    FORMAT,
    ProofInvalid,
    ProofMismatch,
    Proofs,
    SignedProof,
    canonical,
    check_against_log,
    commitment_of,
    verify_proof,
)
from caseflow.store import EventStore, NewEvent
from crypto.sealing import CaseKey, seal_item
from crypto.signing import Signer

CASE = "3f1c9a0e8b7d4c2a9e6f1b0d7c5a3e21"
DAY = "2026-11-24"


def _store_report(engine, case_id: str = CASE, day: str = DAY) -> bytes:
    """A ReportReceived event as the intake writes it: day-precision, sealed body."""
    body = seal_item(CaseKey.generate(), case_id, "report", b'{"what":"UNIQUE-MARKER-7731"}')
    EventStore(engine).append_now(
        case_id,
        0,
        [
            NewEvent(
                type="ReportReceived",
                actor="reporter",
                recorded_at=day,
                meta={"case_id": case_id, "category": "bribery", "received_on": day},
                body=body,
            )
        ],
    )
    return body


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture
def document(engine, signer) -> bytes:
    _store_report(engine)
    return Proofs(engine, signer).issue(CASE).document()


def test_a_proof_names_the_case_the_day_and_commits_to_the_sealed_report(engine, signer):
    body = _store_report(engine)
    proofs = Proofs(engine, signer)
    document = proofs.issue(CASE).document()

    fields = json.loads(document)
    assert set(fields) == {
        "format", "version", "case", "received_on", "commitment", "key_id", "signature",
    }  # fmt: skip
    assert fields["format"] == FORMAT and fields["version"] == 1
    assert fields["case"] == CASE and fields["received_on"] == DAY
    assert fields["commitment"] == commitment_of(body)
    assert fields["key_id"] == signer.key_id
    # The file is the canonical form itself, and issuing again gives the same bytes.
    assert document == canonical(fields) + b"\n"
    assert proofs.issue(CASE).document() == document

    verified = verify_proof(document, signer.public_key)
    assert (verified.case_id, verified.received_on.isoformat()) == (CASE, DAY)
    check_against_log(engine, verified)


def test_the_proof_carries_no_content_no_sequence_number_and_no_time_of_day(engine, signer):
    _store_report(engine)
    [event] = EventStore(engine).read_stream(CASE)
    document = Proofs(engine, signer).issue(CASE).document()
    assert b"UNIQUE-MARKER-7731" not in document
    assert event.hash.hex().encode() not in document
    assert b'"seq"' not in document and b"T00" not in document and b":00" not in document


@pytest.mark.parametrize("mask", [1 << bit for bit in range(8)])
def test_flipping_any_bit_of_any_byte_is_refused(document, signer, mask):
    for i in range(len(document)):
        tampered = bytearray(document)
        tampered[i] ^= mask
        with pytest.raises(ProofInvalid):
            verify_proof(bytes(tampered), signer.public_key)
            pytest.fail(f"byte {i} ({chr(document[i])!r}) ^ {mask:#x} still verified")


def test_reordered_keys_and_whitespace_verify_but_any_changed_value_does_not(document, signer):
    # Deliberate: the signature covers the fields, not the bytes of the file,
    # so a pretty-printed copy of the same proof still verifies.
    fields = json.loads(document)
    pretty = json.dumps(dict(reversed(list(fields.items()))), indent=4).encode()
    assert verify_proof(pretty, signer.public_key).case_id == CASE

    for name, value in {
        "received_on": "2026-11-23",
        "case": CASE[:-1] + "0",
        "commitment": "0" * 64,
    }.items():
        changed = canonical({**fields, name: value})
        with pytest.raises(ProofInvalid, match="altered"):
            verify_proof(changed, signer.public_key)


def test_another_key_does_not_verify(document, signer):
    with pytest.raises(ProofInvalid, match="signed with key"):
        verify_proof(document, Signer.generate().public_key)
    # Nor a proof made with another key that claims this key's id.
    other = Signer.generate()
    fields = {k: v for k, v in json.loads(document).items() if k != "signature"}
    forged = {**fields, "signature": other.sign("proof", canonical(fields)).hex()}
    with pytest.raises(ProofInvalid, match="altered"):
        verify_proof(canonical(forged), signer.public_key)


def test_a_signature_from_another_domain_does_not_verify(document, signer):
    fields = {k: v for k, v in json.loads(document).items() if k != "signature"}
    checkpoint = signer.sign("checkpoint", canonical(fields)).hex()
    with pytest.raises(ProofInvalid, match="altered"):
        verify_proof(canonical({**fields, "signature": checkpoint}), signer.public_key)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d, f: b"not json", "not valid JSON"),
        (lambda d, f: b"\xff\xfe", "not valid JSON"),
        (lambda d, f: b"[1, 2]", "not a JSON object"),
        (lambda d, f: canonical({**f, "format": "something-else"}), "format"),
        (lambda d, f: canonical({**f, "version": 3}), "version"),
        (lambda d, f: canonical({**f, "version": 2}), "missing fields .'event_hash'"),
        (lambda d, f: canonical({**f, "version": True}), "version"),
        (lambda d, f: canonical({k: v for k, v in f.items() if k != "key_id"}), "missing"),
        (lambda d, f: canonical({**f, "reporter": "x"}), "unknown"),
        (lambda d, f: canonical({**f, "signature": f["signature"].upper()}), "'signature'"),
        (lambda d, f: canonical({**f, "received_on": "2026-13-40"}), "not a date"),
        (lambda d, f: canonical({**f, "received_on": "20261124"}), "'received_on'"),
        (lambda d, f: d[:-2] + b',"case":"' + f["case"].encode() + b'"}', "twice"),
        (lambda d, f: d + b" " * 9000, "larger"),
    ],
)
def test_malformed_documents_are_refused_with_a_reason(document, signer, change, reason):
    with pytest.raises(ProofInvalid, match=reason):
        verify_proof(change(document, json.loads(document)), signer.public_key)


def test_the_database_check_finds_the_report_the_proof_commits_to(engine, signer):
    _store_report(engine)
    _store_report(engine, case_id="a" * 32)
    valid = verify_proof(Proofs(engine, signer).issue(CASE).document(), signer.public_key)
    check_against_log(engine, valid)

    def signed(**changes: str) -> SignedProof:
        fields = {
            "case_id": valid.case_id,
            "received_on": valid.received_on,
            "commitment": valid.commitment,
            "key_id": valid.key_id,
            **changes,
        }
        unsigned = SignedProof(signature="", **fields)  # type: ignore[arg-type]
        signature = signer.sign("proof", canonical(unsigned.signed_fields())).hex()
        return SignedProof(signature=signature, **fields)  # type: ignore[arg-type]

    # Validly signed by the deployment, but not what the database holds.
    for proof, reason in [
        (signed(commitment="ab" * 32), "commitment does not match"),
        (signed(case_id="a" * 32), "commitment does not match"),
        (signed(case_id="b" * 32), "no report"),
    ]:
        verified = verify_proof(proof.document(), signer.public_key)
        with pytest.raises(ProofMismatch, match=reason):
            check_against_log(engine, verified)


def test_a_case_without_a_report_gets_no_proof(engine, signer):
    with pytest.raises(LookupError):
        Proofs(engine, signer).issue("f" * 32)
