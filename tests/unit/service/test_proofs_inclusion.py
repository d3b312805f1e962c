"""Proofs of submission with an inclusion proof to a signed tree head (version 2).

The reporter's proof shows, with the deployment's public key alone, that the
log the deployment signs holds their report's event; it names other events
only by hashes.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from caseflow.clock import STOCKHOLM
from caseflow.service.proofs import (
    VERSION_WITH_INCLUSION,
    ProofInvalid,
    ProofMismatch,
    Proofs,
    canonical,
    check_against_log,
    verify_proof,
)
from caseflow.store import EventStore, NewEvent, sign_checkpoint
from crypto.signing import Signer
from tests.unit.service.test_proofs import CASE, _store_report

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=STOCKHOLM)
OTHER_CASES = [f"{n:032x}" for n in range(1, 6)]


def _busy_log(engine) -> None:  # type: ignore[no-untyped-def]
    """Other cases before and after ours, so the path has siblings of every kind."""
    for case in OTHER_CASES[:3]:
        _store_report(engine, case_id=case)
    _store_report(engine)
    for case in OTHER_CASES[3:]:
        _store_report(engine, case_id=case)
    EventStore(engine).append_now(
        "user-x", 0, [NewEvent(type="SignedIn", actor="staff:x", recorded_at="2026-11-24")]
    )


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


def test_before_a_head_covers_the_report_the_proof_has_no_inclusion(engine, signer):
    _busy_log(engine)
    proof = Proofs(engine, signer).issue(CASE)
    assert proof.inclusion is None and json.loads(proof.document())["version"] == 1


def test_after_a_head_the_proof_carries_an_inclusion_proof_checked_offline(engine, signer):
    _busy_log(engine)
    sign_checkpoint(engine, signer, T0)
    document = Proofs(engine, signer).issue(CASE).document()
    fields = json.loads(document)
    assert fields["version"] == VERSION_WITH_INCLUSION
    assert fields["leaf_index"] == 3  # three reports came before it
    assert fields["tree_head"]["tree_size"] == 7
    assert len(fields["inclusion"]) == 3

    verified = verify_proof(document, signer.public_key)  # the public key alone
    assert verified.inclusion is not None
    assert verified.inclusion.head.tree_size == 7
    assert verified.signed().document() == document
    check_against_log(engine, verified)
    # It names other events only by hashes: no case id, no type, no metadata.
    text = document.decode()
    for other in (*OTHER_CASES, "user-x", "SignedIn", "staff:x", "bribery"):
        assert other not in text


def test_every_single_bit_change_of_the_inclusion_path_fails(engine, signer):
    _busy_log(engine)
    sign_checkpoint(engine, signer, T0)
    fields = json.loads(Proofs(engine, signer).issue(CASE).document())
    for i, element in enumerate(fields["inclusion"]):
        raw = bytes.fromhex(element)
        for byte in range(len(raw)):
            for bit in range(8):
                changed = bytearray(raw)
                changed[byte] ^= 1 << bit
                path = list(fields["inclusion"])
                path[i] = changed.hex()
                with pytest.raises(ProofInvalid, match="inclusion proof does not lead"):
                    verify_proof(canonical({**fields, "inclusion": path}), signer.public_key)
    for path in (fields["inclusion"][:-1], [*fields["inclusion"], "00" * 32], []):
        with pytest.raises(ProofInvalid, match="inclusion"):
            verify_proof(canonical({**fields, "inclusion": path}), signer.public_key)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda f: {**f, "leaf_index": f["leaf_index"] + 1}, "inclusion proof does not lead"),
        (lambda f: {**f, "leaf_index": True}, "'leaf_index'"),
        (lambda f: {**f, "event_hash": "00" * 32}, "inclusion proof does not lead"),
        (lambda f: {**f, "tree_head": {**f["tree_head"], "tree_size": 8}}, "tree head"),
        (lambda f: {**f, "tree_head": {**f["tree_head"], "root_hash": "00" * 32}}, "tree head"),
        (lambda f: {**f, "tree_head": "x"}, "'tree_head'"),
        (lambda f: {**f, "inclusion": ["AB" * 32]}, "'inclusion'"),
        (lambda f: {k: v for k, v in f.items() if k != "tree_head"}, "missing"),
        (lambda f: {**f, "case": "a" * 32}, "altered"),
    ],
)
def test_a_changed_version_2_field_is_refused(engine, signer, change, reason):
    _busy_log(engine)
    sign_checkpoint(engine, signer, T0)
    fields = json.loads(Proofs(engine, signer).issue(CASE).document())
    with pytest.raises(ProofInvalid, match=reason):
        verify_proof(canonical(change(fields)), signer.public_key)


def test_a_proof_against_another_database_is_a_mismatch(engine, signer, tmp_path):
    _busy_log(engine)
    sign_checkpoint(engine, signer, T0)
    verified = verify_proof(Proofs(engine, signer).issue(CASE).document(), signer.public_key)
    from caseflow.store import create_engine, migrate

    other = create_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    migrate(other)
    try:
        _store_report(other)  # the same case id, another event
        with pytest.raises(ProofMismatch):
            check_against_log(other, verified)
    finally:
        other.dispose()


def test_a_damaged_tree_costs_the_inclusion_never_the_proof(engine, signer):
    _busy_log(engine)
    sign_checkpoint(engine, signer, T0)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE merkle_nodes SET hash = :z WHERE level = 0"), {"z": bytes(32)})
    proof = Proofs(engine, signer).issue(CASE)
    assert proof.inclusion is None
    verify_proof(proof.document(), signer.public_key)
