"""Signed tree heads: the stored tree, verify against a head kept outside, old checkpoints.

Every test runs on SQLite and PostgreSQL. The attacker has DDL rights: they
drop the triggers, delete or rewrite rows and recompute the chain.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from caseflow.store import (
    CHECKPOINT_STREAM,
    EventStore,
    NewEvent,
    alembic_config,
    event_hash,
    migrate,
    newest_head,
    parse_head,
    sign_checkpoint,
    verify_log,
)
from caseflow.store.checkpoints import Checkpoint, checkpoint_message
from caseflow.store.heads import HeadInvalid, TreeHead, sign_head
from caseflow.store.merkle import ProofFailed, root_of, verify_consistency, verify_inclusion
from caseflow.store.tree import consistency_proof, inclusion_proof, root_at
from crypto.signing import Signer
from tests.unit.store.tampering import drop_append_only_triggers
from tests.unit.store.test_checkpoints import (
    HOUR,
    PUBLIC_KEY,
    SIGNER,
    T0,
    add_events,
    rechain,
)


def chain_hashes(engine: Engine) -> list[bytes]:
    return [e.hash for e in EventStore(engine).read_all()]


def head_now(engine: Engine, when=T0) -> TreeHead:  # type: ignore[no-untyped-def]
    made = sign_checkpoint(engine, SIGNER, when)
    head = Checkpoint.from_event(made).head()
    assert head is not None
    return head


# --- the stored tree ----------------------------------------------------------------


def test_the_stored_tree_grows_with_every_append_and_gives_valid_proofs(engine: Engine) -> None:
    for count in (1, 2, 5, 1, 9):  # appends of several sizes, so batches cross subtrees
        add_events(engine, count)
    hashes = chain_hashes(engine)
    size = len(hashes)
    with engine.connect() as conn:
        for n in range(size + 1):
            assert root_at(conn, n) == root_of(hashes[:n])
        for index in range(size):
            leaf, proof = inclusion_proof(conn, index, size)
            verify_inclusion(leaf, index, size, proof, root_of(hashes))
        for old in range(size + 1):
            proof = consistency_proof(conn, old, size)
            verify_consistency(old, size, root_of(hashes[:old]), root_of(hashes), proof)


def test_an_older_database_gets_its_tree_from_the_migration(engine: Engine) -> None:
    """Events written at revision 0006 (no tree yet) are in the tree after the upgrade."""
    command.downgrade(alembic_config(engine), "0006")
    prev, rows = bytes(32), []
    for seq in range(1, 12):
        meta = json.dumps({"n": seq})
        digest = event_hash(seq, "case-1", seq, "Old", "system", "2026-01-01", meta, None, prev)
        rows.append(
            {"seq": seq, "stream_id": "case-1", "version": seq, "type": "Old", "actor": "system",
             "recorded_at": "2026-01-01", "meta": meta, "body": None, "prev_hash": prev,
             "hash": digest}
        )  # fmt: skip
        prev = digest
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO events (seq, stream_id, version, type, actor, recorded_at, meta, "
                "body, prev_hash, hash) VALUES (:seq, :stream_id, :version, :type, :actor, "
                ":recorded_at, :meta, :body, :prev_hash, :hash)"
            ),
            rows,
        )
    migrate(engine)
    add_events(engine, 3, stream="case-2")  # appends go on from the migrated tree
    hashes = chain_hashes(engine)
    assert len(hashes) == 14
    with engine.connect() as conn:
        assert root_at(conn, 11) == root_of(hashes[:11])
        assert root_at(conn, 14) == root_of(hashes)
    head = head_now(engine)
    assert verify_log(engine, PUBLIC_KEY, expected=head).anchored


# --- verify against a head kept outside the database -----------------------------


def test_a_log_that_holds_the_expected_head_is_anchored(engine: Engine) -> None:
    add_events(engine, 5)
    published = head_now(engine)
    add_events(engine, 7)
    head_now(engine, T0 + HOUR)
    add_events(engine, 2)
    report = verify_log(engine, PUBLIC_KEY, expected=published)
    assert report.ok and report.anchored, report
    assert report.root_hash == root_of(chain_hashes(engine))
    # Without the outside head the log verifies, but is anchored to nothing.
    alone = verify_log(engine, PUBLIC_KEY)
    assert alone.ok and not alone.anchored


def test_an_empty_log_holds_the_empty_head(engine: Engine) -> None:
    empty = sign_head(SIGNER, 0, root_of([]), bytes(32), "2026-11-30T12:00:00+01:00")
    report = verify_log(engine, PUBLIC_KEY, expected=empty)
    assert report.ok and report.anchored and report.events_checked == 0


def test_a_log_cut_short_is_refused_against_the_published_head(engine: Engine) -> None:
    """The issue's (b): the newest events and the newest checkpoint deleted, triggers dropped."""
    add_events(engine, 5)
    head_now(engine)
    add_events(engine, 4)
    published = head_now(engine, T0 + HOUR)  # seq 11, covers 10
    drop_append_only_triggers(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM events WHERE seq > 8")
    assert verify_log(engine, PUBLIC_KEY).ok  # alone, a shorter log looks whole
    report = verify_log(engine, PUBLIC_KEY, expected=published)
    assert not report.ok and not report.anchored
    assert "more events than this log holds (8)" in (report.reason or "")
    assert "-wal" in (report.reason or "")


def test_a_rewritten_history_with_its_own_checkpoints_is_refused(engine: Engine) -> None:
    """A fork: the log rewritten and re-signed (the key leaked), the published head is not."""
    add_events(engine, 6)
    published = head_now(engine)
    drop_append_only_triggers(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM events WHERE seq >= 4")
        conn.exec_driver_sql("DELETE FROM merkle_nodes")
    rechain(engine)
    # Rebuild a tree and checkpoints over the forged history, as the key holder could.
    from caseflow.store.merkle import Frontier

    with engine.begin() as conn:
        rows = Frontier().extend(chain_hashes(engine), collect=True)
        conn.execute(
            sa.text("INSERT INTO merkle_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
            [{"l": lv, "i": ix, "h": h} for lv, ix, h in rows],
        )
    add_events(engine, 3, stream="case-forged")  # now 3 + 3 events: the same size
    head_now(engine, T0 + HOUR)
    assert verify_log(engine, PUBLIC_KEY).ok  # the forged log is consistent in itself
    report = verify_log(engine, PUBLIC_KEY, expected=published)
    assert not report.ok
    assert "rewritten or forked" in (report.reason or "")


def test_a_head_that_is_not_the_deployments_is_refused(engine: Engine) -> None:
    add_events(engine, 3)
    published = head_now(engine)
    forged = sign_head(Signer(bytes(32)), 3, published.root_hash, published.head_hash, "x")
    report = verify_log(engine, PUBLIC_KEY, expected=forged)
    assert not report.ok and "names signing key" in (report.reason or "")
    bent = TreeHead(4, published.root_hash, published.head_hash, published.signed_at,
                    published.key_id, published.signature)  # fmt: skip
    report = verify_log(engine, PUBLIC_KEY, expected=bent)
    assert not report.ok and "does not verify" in (report.reason or "")


def test_a_damaged_stored_tree_gives_no_consistency_proof(engine: Engine) -> None:
    add_events(engine, 5)
    published = head_now(engine)
    add_events(engine, 6)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE merkle_nodes SET hash = :h WHERE level = 1 AND idx = 3"),
            {"h": bytes(32)},
        )
    report = verify_log(engine, PUBLIC_KEY, expected=published)
    assert not report.ok and "merkle_nodes" in (report.reason or "")


def test_a_signed_root_that_is_not_the_logs_is_caught(engine: Engine) -> None:
    """A checkpoint whose chain hash is right but whose root is not (a bad tree when signed)."""
    add_events(engine, 4)
    store = EventStore(engine)
    seq, head_hash = store.head()
    wrong = sign_head(SIGNER, seq, bytes(32), head_hash, "2026-11-30T12:00:00+01:00")
    store.append_now(
        CHECKPOINT_STREAM, 0,
        [NewEvent(type="CheckpointSigned", actor="system", recorded_at=wrong.signed_at,
                  meta=wrong.fields())],
    )  # fmt: skip
    report = verify_log(engine, PUBLIC_KEY)
    assert (report.ok, report.first_bad_seq) == (False, 5)
    assert "Merkle root" in (report.reason or "")


# --- checkpoints signed before the tree ----------------------------------------------


def _legacy_checkpoint(engine: Engine) -> None:
    """A version 1 checkpoint, exactly as the code before signed tree heads wrote it."""
    store = EventStore(engine)
    with engine.begin() as conn:
        seq, head_hash = store.head(conn)
        signed_at = "2026-11-30T12:00:00+01:00"
        message = checkpoint_message(seq, head_hash.hex(), signed_at)
        meta = {
            "head_seq": seq, "head_hash": head_hash.hex(), "signed_at": signed_at,
            "key_id": SIGNER.key_id, "signature": SIGNER.sign("checkpoint", message).hex(),
        }  # fmt: skip
        version = store.stream_version(conn, CHECKPOINT_STREAM)
        store.append(conn, CHECKPOINT_STREAM, version, [
            NewEvent(type="CheckpointSigned", actor="system", recorded_at=signed_at, meta=meta)
        ])  # fmt: skip


def test_version_1_checkpoints_still_verify_and_are_upcast(engine: Engine) -> None:
    add_events(engine, 3)
    _legacy_checkpoint(engine)
    assert newest_head(engine) is None  # a version 1 checkpoint is no tree head
    add_events(engine, 2)
    head = head_now(engine, T0 + HOUR)
    report = verify_log(engine, PUBLIC_KEY, expected=head)
    assert report.ok and report.anchored and report.checkpoints_checked == 2
    (first, second) = [Checkpoint.from_event(e) for e in EventStore(engine).read_stream(
        CHECKPOINT_STREAM)]  # fmt: skip
    assert (first.version, first.root_hash, second.version) == (1, None, 2)
    assert newest_head(engine) == head


def test_a_version_1_checkpoint_still_catches_a_rewrite(engine: Engine) -> None:
    add_events(engine, 3)
    _legacy_checkpoint(engine)
    drop_append_only_triggers(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE events SET meta = '{\"n\":7}' WHERE seq = 2")
    rechain(engine)
    report = verify_log(engine, PUBLIC_KEY)
    assert (report.ok, report.first_bad_seq) == (False, 3)


# --- the published document -----------------------------------------------------------


def test_a_head_document_round_trips_and_refuses_every_change(engine: Engine) -> None:
    add_events(engine, 3)
    head = head_now(engine)
    document = head.document()
    assert document.endswith(b"\n") and b" " not in document
    assert parse_head(document) == head
    # Pretty-printed, with keys in another order: the same head.
    pretty = json.dumps(dict(reversed(list(head.fields().items()))), indent=2).encode()
    parse_head(pretty).verify(PUBLIC_KEY)
    fields = head.fields()
    for name, value in fields.items():
        changed = dict(fields)
        if isinstance(value, int):
            changed[name] = value + 1
        else:
            changed[name] = ("1" if value[0] == "0" else "0") + value[1:]
        try:
            parse_head(json.dumps(changed).encode()).verify(PUBLIC_KEY)
        except HeadInvalid:
            continue
        pytest.fail(f"a head with {name} changed verified")
    for bad in (b"[]", b"{", b'{"format":"visselpipa-tree-head","format":"x"}', b"x" * 5000):
        with pytest.raises(HeadInvalid):
            parse_head(bad)


def test_proofs_from_the_tree_fail_for_another_head(engine: Engine) -> None:
    add_events(engine, 6)
    head = head_now(engine)
    with engine.connect() as conn:
        leaf, proof = inclusion_proof(conn, 2, head.tree_size)
    verify_inclusion(leaf, 2, head.tree_size, proof, head.root_hash)
    with pytest.raises(ProofFailed):
        verify_inclusion(leaf, 3, head.tree_size, proof, head.root_hash)
