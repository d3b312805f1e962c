"""Signed checkpoints: a rewrite the hash chain cannot see, the checkpoints do.

Every test runs on SQLite and PostgreSQL (the ``engine`` fixture). Tampering
goes behind the triggers' back the way an attacker with DDL rights would, and
then recomputes the chain so that the plain chain check passes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import nacl.signing
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from caseflow.store import (
    CHECKPOINT_STREAM,
    GENESIS,
    EventStore,
    NewEvent,
    RecordedEvent,
    checkpoint_if_due,
    event_hash,
    events_table,
    sign_checkpoint,
    verify_chain,
    verify_log,
)
from crypto.signing import Signer
from tests.unit.store.tampering import drop_append_only_triggers

STOCKHOLM = ZoneInfo("Europe/Stockholm")
T0 = datetime(2026, 11, 30, 12, 0, 0, tzinfo=STOCKHOLM)
HOUR = timedelta(hours=1)
SIGNER = Signer(bytes(range(32)))
PUBLIC_KEY = SIGNER.public_key


def add_events(engine: Engine, count: int, stream: str = "case-1") -> None:
    store = EventStore(engine)
    with engine.begin() as conn:
        version = store.stream_version(conn, stream)
        store.append(
            conn,
            stream,
            version,
            [
                NewEvent(
                    type="report.submitted",
                    actor="reporter",
                    recorded_at="2026-11-30",
                    meta={"category": "bribery", "n": version + i},
                )
                for i in range(count)
            ],
        )


def checkpoint(engine: Engine, now: datetime) -> RecordedEvent:
    made = checkpoint_if_due(engine, SIGNER, now, HOUR)
    assert made is not None
    return made


def rechain(engine: Engine) -> None:
    """Recompute every prev_hash and hash, as an attacker covering their tracks would."""
    with engine.begin() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT seq, stream_id, version, type, actor, recorded_at, meta, body "
                "FROM events ORDER BY seq"
            )
        ).all()
        prev = GENESIS
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


def rewrite_meta(engine: Engine, seq: int, change: Any) -> None:
    """Replace the stored meta text of event ``seq`` with ``change(meta dict)``."""
    with engine.begin() as conn:
        text = conn.execute(sa.text("SELECT meta FROM events WHERE seq = :s"), {"s": seq}).scalar()
        meta = json.loads(text)
        new = change(meta)
        stored = (
            new if isinstance(new, str) else json.dumps(meta, sort_keys=True, separators=(",", ":"))
        )
        conn.execute(sa.text("UPDATE events SET meta = :m WHERE seq = :s"), {"m": stored, "s": seq})


def remove_and_renumber(engine: Engine, removed: list[int]) -> None:
    """Delete events and close the gap by renumbering the later ones, in ascending order."""
    with engine.begin() as conn:
        for seq in removed:
            conn.execute(sa.text("DELETE FROM events WHERE seq = :s"), {"s": seq})
        later = conn.execute(
            sa.text("SELECT seq FROM events WHERE seq > :s ORDER BY seq"), {"s": min(removed)}
        ).scalars()
        for new_seq, old_seq in enumerate(list(later), start=min(removed)):
            conn.execute(
                sa.text("UPDATE events SET seq = :n WHERE seq = :o"), {"n": new_seq, "o": old_seq}
            )
    rechain(engine)


def two_checkpoints(engine: Engine) -> tuple[RecordedEvent, RecordedEvent]:
    """Events 1–5, checkpoint 6 (covers 5), events 7–10, checkpoint 11 (covers 10), 12–13."""
    add_events(engine, 5)
    first = checkpoint(engine, T0)
    add_events(engine, 4)
    second = checkpoint(engine, T0 + 2 * HOUR)
    add_events(engine, 2)
    assert (first.seq, second.seq) == (6, 11)
    return first, second


# --- signing ------------------------------------------------------------------------


def test_a_checkpoint_signs_the_head_just_before_it(engine: Engine) -> None:
    add_events(engine, 3)
    made = checkpoint(engine, T0)

    assert (made.stream_id, made.version, made.type, made.actor) == (
        CHECKPOINT_STREAM, 1, "CheckpointSigned", "system",
    )  # fmt: skip
    assert made.recorded_at == "2026-11-30T12:00:00+01:00"
    assert made.meta["tree_size"] == made.seq - 1 == 3
    assert bytes.fromhex(made.meta["head_hash"]) == made.prev_hash
    assert made.meta["signed_at"] == made.recorded_at
    assert made.meta["key_id"] == SIGNER.key_id
    assert made.body is None


def test_the_signature_is_over_the_bytes_security_md_documents(engine: Engine) -> None:
    """An independent check with PyNaCl alone, following SECURITY.md word for word."""
    add_events(engine, 2)
    made = checkpoint(engine, T0)
    meta = made.meta
    assert set(meta) == {
        "format", "version", "tree_size", "root_hash", "head_hash", "signed_at", "key_id",
        "signature",
    }  # fmt: skip
    assert (meta["format"], meta["version"], meta["tree_size"]) == ("visselpipa-tree-head", 1, 2)
    # The root: RFC 9162 over the two events' chain hashes, with hashlib alone.
    hashes = [e.hash for e in EventStore(engine).read_all()][:2]
    leaves = [hashlib.sha256(b"\x00" + h).digest() for h in hashes]
    assert meta["root_hash"] == hashlib.sha256(b"\x01" + leaves[0] + leaves[1]).hexdigest()
    assert meta["head_hash"] == hashes[1].hex() == made.prev_hash.hex()
    unsigned = {k: v for k, v in meta.items() if k != "signature"}
    message = json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()
    signed = b"visselpipa-signature-v1\x00tree-head\x00" + message
    nacl.signing.VerifyKey(PUBLIC_KEY).verify(signed, bytes.fromhex(meta["signature"]))


def test_a_checkpoint_is_due_only_after_the_interval_and_new_events(engine: Engine) -> None:
    assert checkpoint_if_due(engine, SIGNER, T0, HOUR) is None  # an empty log
    add_events(engine, 2)
    first = checkpoint(engine, T0)
    add_events(engine, 1)
    assert checkpoint_if_due(engine, SIGNER, T0 + HOUR - timedelta(seconds=1), HOUR) is None
    second = checkpoint(engine, T0 + HOUR)
    assert second.meta["tree_size"] == first.seq + 1
    # Nothing happened since: a third would prove nothing new, however late.
    assert checkpoint_if_due(engine, SIGNER, T0 + 10 * HOUR, HOUR) is None
    assert len(EventStore(engine).read_stream(CHECKPOINT_STREAM)) == 2


def test_forcing_a_checkpoint_ignores_the_interval(engine: Engine) -> None:
    add_events(engine, 1)
    checkpoint(engine, T0)
    forced = sign_checkpoint(engine, SIGNER, T0 + timedelta(minutes=1))
    assert forced.version == 2
    assert verify_log(engine, PUBLIC_KEY).ok


def test_two_ticks_at_the_same_moment_make_exactly_one_checkpoint(engine: Engine) -> None:
    add_events(engine, 3)
    both_ready = threading.Barrier(2, timeout=30)
    made: list[RecordedEvent | None] = []
    failures: list[BaseException] = []

    def tick() -> None:
        try:
            both_ready.wait()
            made.append(checkpoint_if_due(engine, SIGNER, T0, HOUR))
        except BaseException as e:  # surfaced in the test thread below
            failures.append(e)

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures
    assert sum(m is not None for m in made) == 1
    (stored,) = EventStore(engine).read_stream(CHECKPOINT_STREAM)
    assert stored.meta["tree_size"] == 3
    assert verify_log(engine, PUBLIC_KEY).ok


def test_naive_times_are_refused(engine: Engine) -> None:
    add_events(engine, 1)
    with pytest.raises(ValueError, match="timezone"):
        checkpoint_if_due(engine, SIGNER, datetime(2026, 11, 30, 12, 0), HOUR)


# --- verification -------------------------------------------------------------------


def test_an_untouched_log_verifies_with_its_checkpoints(engine: Engine) -> None:
    two_checkpoints(engine)
    report = verify_log(engine, PUBLIC_KEY)
    assert report.ok, report
    assert (report.events_checked, report.checkpoints_checked) == (13, 2)
    assert report.last_good is not None
    assert (report.last_good.seq, report.last_good.head_seq) == (11, 10)
    assert report.last_good.signed_at == "2026-11-30T14:00:00+01:00"


def test_a_rewritten_old_event_with_a_recomputed_chain_is_caught(engine: Engine) -> None:
    """The issue's test: the chain alone is fooled, the checkpoints are not."""
    two_checkpoints(engine)
    drop_append_only_triggers(engine)
    rewrite_meta(engine, 8, lambda meta: meta.update(category="fraud"))
    rechain(engine)

    chain = verify_chain(engine)
    assert chain.ok and chain.events_checked == 13  # the plain chain check is fooled

    report = verify_log(engine, PUBLIC_KEY)
    assert not report.ok
    # Seq 8 was rewritten; the checkpoint covering it (seq 11, head 10) names
    # seq 10 as the first hash that differs from a signed one.
    assert report.first_bad_seq == 10
    assert "seq 10" in (report.reason or "") and "rewritten" in (report.reason or "")
    assert report.last_good is not None
    assert (report.last_good.seq, report.last_good.head_seq) == (6, 5)
    assert report.last_good.signed_at == "2026-11-30T12:00:00+01:00"


def test_a_rewrite_before_the_first_checkpoint_leaves_no_good_checkpoint(engine: Engine) -> None:
    two_checkpoints(engine)
    drop_append_only_triggers(engine)
    rewrite_meta(engine, 2, lambda meta: meta.update(n=99))
    rechain(engine)
    report = verify_log(engine, PUBLIC_KEY)
    assert (report.ok, report.first_bad_seq, report.last_good) == (False, 5, None)


def test_an_edit_without_rechaining_is_named_by_the_chain(engine: Engine) -> None:
    two_checkpoints(engine)
    drop_append_only_triggers(engine)
    rewrite_meta(engine, 8, lambda meta: meta.update(category="fraud"))
    report = verify_log(engine, PUBLIC_KEY)
    assert (report.ok, report.first_bad_seq) == (False, 8)
    assert "chain" in (report.reason or "")
    assert report.last_good is not None and report.last_good.seq == 6


def test_a_checkpoint_signed_by_another_key_is_refused(engine: Engine) -> None:
    add_events(engine, 3)
    checkpoint(engine, T0)
    add_events(engine, 2)
    forged = sign_checkpoint(engine, Signer(bytes(32)), T0 + 2 * HOUR)
    report = verify_log(engine, PUBLIC_KEY)
    assert (report.ok, report.first_bad_seq) == (False, forged.seq)
    assert "key" in (report.reason or "")
    assert report.last_good is not None and report.last_good.seq == 4


def test_a_forgery_that_names_the_real_key_is_refused(engine: Engine) -> None:
    add_events(engine, 3)
    forged = sign_checkpoint(engine, Signer(bytes(32)), T0)
    drop_append_only_triggers(engine)
    rewrite_meta(engine, forged.seq, lambda meta: meta.update(key_id=SIGNER.key_id))
    rechain(engine)
    report = verify_log(engine, PUBLIC_KEY)
    assert (report.ok, report.first_bad_seq) == (False, forged.seq)
    assert "signature" in (report.reason or "")


def _flip_hex(text: str) -> str:
    return ("1" if text[0] == "0" else "0") + text[1:]


META_TAMPERS: list[tuple[str, Any]] = [
    ("tree_size", lambda meta: meta.update(tree_size=meta["tree_size"] - 1)),
    ("head_hash", lambda meta: meta.update(head_hash=_flip_hex(meta["head_hash"]))),
    ("root_hash", lambda meta: meta.update(root_hash=_flip_hex(meta["root_hash"]))),
    ("format", lambda meta: meta.update(format="visselpipa-checkpoint")),
    ("version", lambda meta: meta.update(version=2)),
    ("signed_at", lambda meta: meta.update(signed_at=meta["signed_at"].replace(":00+", ":01+"))),
    ("signature", lambda meta: meta.update(signature=_flip_hex(meta["signature"]))),
    ("key_id", lambda meta: meta.update(key_id=_flip_hex(meta["key_id"]))),
    ("upper-case hex", lambda meta: meta.update(head_hash=meta["head_hash"].upper())),
    ("missing key", lambda meta: meta.pop("signature") and None),
    ("extra key", lambda meta: meta.update(note="x")),
    ("tree_size as text", lambda meta: meta.update(tree_size=str(meta["tree_size"]))),
    ("tree_size as true", lambda meta: meta.update(tree_size=True)),
    ("not an object", lambda meta: "[]"),
]


@pytest.mark.parametrize("change", [c for _, c in META_TAMPERS], ids=[n for n, _ in META_TAMPERS])
def test_a_changed_byte_in_a_checkpoint_is_caught(engine: Engine, change: Any) -> None:
    add_events(engine, 3)
    first = checkpoint(engine, T0)
    add_events(engine, 2)
    second = checkpoint(engine, T0 + HOUR)
    drop_append_only_triggers(engine)
    rewrite_meta(engine, second.seq, change)
    rechain(engine)
    assert verify_chain(engine).ok

    report = verify_log(engine, PUBLIC_KEY)
    assert (report.ok, report.first_bad_seq) == (False, second.seq)
    assert report.last_good is not None and report.last_good.seq == first.seq


def test_removed_events_behind_a_checkpoint_are_caught(engine: Engine) -> None:
    """The newest covered events go, the checkpoint is renumbered to close the gap."""
    two_checkpoints(engine)  # checkpoint 11 covers 10
    drop_append_only_triggers(engine)
    with engine.begin() as conn:  # the two events after the last checkpoint go first
        conn.exec_driver_sql("DELETE FROM events WHERE seq > 11")
    remove_and_renumber(engine, [9, 10])  # checkpoint 11 becomes seq 9, still "covering 10"
    assert verify_chain(engine).ok

    report = verify_log(engine, PUBLIC_KEY)
    assert (report.ok, report.first_bad_seq) == (False, 9)
    assert "removed" in (report.reason or "")
    assert "ends at seq 9" in (report.reason or "")
    assert report.last_good is not None and report.last_good.seq == 6


def test_removed_events_before_a_checkpoint_are_caught(engine: Engine) -> None:
    two_checkpoints(engine)
    drop_append_only_triggers(engine)
    remove_and_renumber(engine, [3, 4])  # checkpoint 6 becomes seq 4, "covering 5"
    assert verify_chain(engine).ok
    report = verify_log(engine, PUBLIC_KEY)
    assert (report.ok, report.first_bad_seq, report.last_good) == (False, 4, None)
    assert "removed" in (report.reason or "")


def test_an_event_slipped_in_before_the_newest_checkpoint_is_caught(engine: Engine) -> None:
    """Inserting before a checkpoint keeps the hash at its head_seq: its position tells."""
    two_checkpoints(engine)
    drop_append_only_triggers(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM events WHERE seq > 11")
        conn.exec_driver_sql("UPDATE events SET seq = 12 WHERE seq = 11")
        conn.execute(
            sa.text(
                "INSERT INTO events (seq, stream_id, version, type, actor, recorded_at, meta, "
                "body, prev_hash, hash) VALUES (11, 'case-9', 1, 'report.submitted', 'reporter', "
                "'2026-11-30', '{}', NULL, :z, :z)"
            ),
            {"z": GENESIS},
        )
    rechain(engine)
    assert verify_chain(engine).ok
    report = verify_log(engine, PUBLIC_KEY)
    assert (report.ok, report.first_bad_seq) == (False, 12)
    assert "inserted" in (report.reason or "")
    assert report.last_good is not None and report.last_good.seq == 6


def test_the_limit_events_after_the_newest_checkpoint_can_vanish_unnoticed(
    engine: Engine,
) -> None:
    """Documented in SECURITY.md: only a published checkpoint makes the newest ones stick."""
    two_checkpoints(engine)
    drop_append_only_triggers(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM events WHERE seq > 11")
    report = verify_log(engine, PUBLIC_KEY)
    assert report.ok and report.events_checked == 11


def test_progress_reports_reach_the_number_of_events(engine: Engine) -> None:
    two_checkpoints(engine)
    seen: list[int] = []
    assert verify_log(engine, PUBLIC_KEY, progress=seen.append).ok
    assert seen and seen[-1] == 13 and seen == sorted(seen)


def test_a_row_slipped_in_below_seq_1_is_reported(engine: Engine) -> None:
    # The chain walk starts at seq 1, but the application reads streams by
    # stream id: a row at seq 0 would join a case unseen by the chain.
    add_events(engine, 3)
    checkpoint(engine, T0)
    assert verify_log(engine, PUBLIC_KEY).ok
    with engine.begin() as conn:
        conn.execute(
            sa.insert(events_table).values(
                seq=0, stream_id="case-1", version=99, type="CaseConcluded", actor="x",
                recorded_at="2026-01-01", meta="{}", body=None,
                prev_hash=b"\0" * 32, hash=b"\0" * 32,
            )
        )  # fmt: skip
    report = verify_log(engine, PUBLIC_KEY)
    assert not report.ok and report.first_bad_seq == 0
    assert "below 1" in (report.reason or "")
