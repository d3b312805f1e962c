"""Signed checkpoints (tree heads) of the event log, and the verification of the whole log.

The hash chain (:mod:`caseflow.store.chain`) shows that the stored events
agree with each other. It cannot show that they are the events that were
written: someone who gets past the triggers can rewrite an old event and
recompute every later hash. A *checkpoint* closes that gap: the deployment's
Ed25519 key (:class:`crypto.signing.Signer`) signs the head of the log, and
the signature is stored as an event of its own in the stream
``"checkpoints"``. A rewrite behind a checkpoint changes the stored hash at
the checkpoint's ``head_seq``, and the attacker cannot sign a new one without
the key.

Checkpoint format (version 2: a signed tree head)
-------------------------------------------------

An event of stream ``"checkpoints"``, type ``"CheckpointSigned"``, actor
``"system"``, whose ``meta`` holds exactly the fields of a signed tree head
(:mod:`caseflow.store.heads`): ``format``, ``version``, ``tree_size`` (the
events it covers, seqs 1..tree_size, always the checkpoint's seq − 1),
``root_hash`` (their Merkle root, :mod:`caseflow.store.merkle`), ``head_hash``
(the hash of event ``tree_size``), ``signed_at`` (ISO 8601 to the second,
Europe/Stockholm), ``key_id`` and ``signature`` (domain ``tree-head``).

Checkpoint format (version 1, read as it is)
--------------------------------------------

Checkpoints signed before the tree existed have ``meta`` keys ``head_seq``,
``head_hash``, ``signed_at``, ``key_id`` and ``signature``, the signature by
``Signer.sign("checkpoint", message)`` over the ASCII text
``"<head_seq>:<head_hash>:<signed_at>"``. :meth:`Checkpoint.from_event` upcasts
both to one :class:`Checkpoint` (``root_hash`` None for version 1).

.. warning::
   The database alone cannot show that it is complete. Events appended
   after the newest checkpoint, or the newest events together with every
   later checkpoint, can be removed, and a SQLite file copied without its
   ``-wal`` is an older log: all verify without damage. Only a head kept
   outside the database (``verify_log(expected=…)``; published at the
   well-known URL and in every report) catches that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from caseflow.store.chain import _cursor, verify_chain
from caseflow.store.engine import read_only
from caseflow.store.errors import ConcurrencyConflict
from caseflow.store.events import (
    APPEND_LOCK_KEY,
    EventStore,
    NewEvent,
    RecordedEvent,
    _recorded,
    events_table,
)
from caseflow.store.hashing import GENESIS, HASH_SIZE
from caseflow.store.heads import HEAD_DOMAIN, HeadInvalid, TreeHead, head_from_fields, sign_head
from caseflow.store.merkle import EMPTY_ROOT, Frontier, ProofFailed, verify_consistency
from caseflow.store.tree import TreeIncomplete, consistency_proof, root_at
from crypto.errors import CryptoError
from crypto.signing import Signer, key_id, verify_signature

__all__ = [
    "CHECKPOINT_DOMAIN",
    "CHECKPOINT_STREAM",
    "CHECKPOINT_TYPE",
    "Checkpoint",
    "LogReport",
    "checkpoint_if_due",
    "checkpoint_message",
    "newest_checkpoint",
    "newest_head",
    "sign_checkpoint",
    "verify_log",
]

CHECKPOINT_STREAM = "checkpoints"
CHECKPOINT_TYPE = "CheckpointSigned"
#: The signing domain: a checkpoint signature can never pass for a proof of
#: submission, nor the other way round (see crypto.signing).
CHECKPOINT_DOMAIN = "checkpoint"
#: The actor of events the clock causes; the same text as
#: caseflow.domain.vocabulary.SYSTEM_ACTOR (the store does not import the domain).
SYSTEM_ACTOR = "system"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
_META_KEYS = {"head_seq", "head_hash", "signed_at", "key_id", "signature"}
#: Seqs looked up per query: well under every driver's bound-parameter limit.
_LOOKUP_BATCH = 500
#: Chain hashes fetched per round trip when the tree is recomputed.
_TREE_FETCH = 20_000


def checkpoint_message(head_seq: int, head_hash_hex: str, signed_at: str) -> bytes:
    """The bytes a checkpoint signs (format: see the module docstring)."""
    return f"{head_seq}:{head_hash_hex}:{signed_at}".encode("ascii")


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint as read from the log: where it is and what it covers.

    Version 2 (a signed tree head, :mod:`caseflow.store.heads`) carries the
    Merkle ``root_hash`` of the events it covers; version 1, signed before
    the tree existed, is upcast with ``root_hash`` None and still verifies by
    its chain hash, as it always did.
    """

    seq: int
    head_seq: int
    head_hash: bytes
    signed_at: str
    key_id: str
    signature: bytes
    root_hash: bytes | None = None

    @property
    def version(self) -> int:
        return 1 if self.root_hash is None else 2

    @classmethod
    def from_event(cls, event: RecordedEvent) -> Checkpoint:
        """Parse a ``CheckpointSigned`` event; raise ValueError if its meta is malformed."""
        if event.type != CHECKPOINT_TYPE:
            raise ValueError(f"an event of type {event.type!r} in the checkpoints stream")
        meta: Mapping[str, Any] = event.meta
        if "format" in meta:
            try:
                head = head_from_fields(dict(meta))
            except HeadInvalid as e:
                raise ValueError(str(e)) from None
            return cls(
                event.seq, head.tree_size, head.head_hash, head.signed_at, head.key_id,
                head.signature, head.root_hash,
            )  # fmt: skip
        if set(meta) != _META_KEYS:
            raise ValueError(f"checkpoint meta has keys {sorted(meta)}")
        head_seq, head_hash, signed_at = meta["head_seq"], meta["head_hash"], meta["signed_at"]
        ident, signature = meta["key_id"], meta["signature"]
        # bool is an int in Python; a checkpoint with head_seq true is forged.
        if type(head_seq) is not int or head_seq < 0:
            raise ValueError("checkpoint head_seq is not a whole number")
        if not all(isinstance(v, str) for v in (head_hash, signed_at, ident, signature)):
            raise ValueError("checkpoint meta holds a non-text value")
        # Only the canonical (lower-case) hex is accepted: the signature is
        # over the text as stored, and two spellings of one hash would let a
        # checkpoint's meta change while its signature still verifies.
        if head_hash != head_hash.lower() or signature != signature.lower():
            raise ValueError("checkpoint hex is not lower case")
        try:
            hash_bytes, signature_bytes = bytes.fromhex(head_hash), bytes.fromhex(signature)
            datetime.fromisoformat(signed_at)
        except ValueError:
            raise ValueError("checkpoint hash, signature or time is malformed") from None
        if len(hash_bytes) != HASH_SIZE:
            raise ValueError("checkpoint head_hash is not 32 bytes")
        return cls(event.seq, head_seq, hash_bytes, signed_at, ident, signature_bytes)

    def head(self) -> TreeHead | None:
        """The signed tree head this checkpoint is (None for a version 1 checkpoint)."""
        if self.root_hash is None:
            return None
        return TreeHead(
            self.head_seq, self.root_hash, self.head_hash, self.signed_at, self.key_id,
            self.signature,
        )  # fmt: skip

    @property
    def domain(self) -> str:
        return CHECKPOINT_DOMAIN if self.root_hash is None else HEAD_DOMAIN

    @property
    def message(self) -> bytes:
        head = self.head()
        if head is not None:
            return head.message
        return checkpoint_message(self.head_seq, self.head_hash.hex(), self.signed_at)


# --- signing ------------------------------------------------------------------------


def _stockholm_seconds(now: datetime) -> str:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(STOCKHOLM).isoformat(timespec="seconds")


def _hold_append_lock(conn: Connection) -> None:
    # The head must not move between reading it and appending the checkpoint,
    # or the checkpoint would not cover the event just before it. Take the
    # appenders' lock first (EventStore.append takes it again: PostgreSQL
    # advisory locks stack within a transaction). On SQLite the transaction
    # began with BEGIN IMMEDIATE and already holds the write lock.
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))


def _last_checkpoint(conn: Connection, version: int) -> RecordedEvent | None:
    if version == 0:
        return None
    t = events_table
    row = conn.execute(
        select(t).where(t.c.stream_id == CHECKPOINT_STREAM, t.c.version == version)
    ).first()
    return None if row is None else _recorded(row)


def newest_checkpoint(engine: Engine) -> Checkpoint | None:
    """The newest checkpoint of the log, parsed; None if there is none or it is malformed.

    For printing (the quarterly report publishes it): a malformed one is not
    returned, since :func:`verify_log` reports it and nothing that does not
    verify should be published.
    """
    with engine.connect() as conn:
        version = EventStore(engine).stream_version(read_only(conn), CHECKPOINT_STREAM)
        record = _last_checkpoint(conn, version)
    if record is None:
        return None
    try:
        return Checkpoint.from_event(record)
    except ValueError:
        return None


def newest_head(engine: Engine) -> TreeHead | None:
    """The newest signed tree head in the log (None before the first version 2 checkpoint).

    What ``visselpipa head`` prints and ``/.well-known/visselpipa/tree-head``
    serves. A malformed newest checkpoint gives None, as for
    :func:`newest_checkpoint`: nothing that does not verify is published.
    """
    checkpoint = newest_checkpoint(engine)
    return None if checkpoint is None else checkpoint.head()


def _append_checkpoint(
    engine: Engine,
    signer: Signer,
    now: datetime,
    due: Callable[[RecordedEvent | None, int], bool],
) -> RecordedEvent | None:
    store = EventStore(engine)
    signed_at = _stockholm_seconds(now)
    with engine.begin() as conn:
        _hold_append_lock(conn)
        version = store.stream_version(conn, CHECKPOINT_STREAM)
        head_seq, head_hash = store.head(conn)
        if not due(_last_checkpoint(conn, version), head_seq):
            return None
        # The root from the stored tree, under the lock: O(log n) rows. verify
        # recomputes it from the events, so a damaged table makes a head that
        # fails there, never one that passes for the wrong events.
        head = sign_head(signer, head_seq, root_at(conn, head_seq), head_hash, signed_at)
        event = NewEvent(
            type=CHECKPOINT_TYPE, actor=SYSTEM_ACTOR, recorded_at=signed_at, meta=head.fields()
        )
        (recorded,) = store.append(conn, CHECKPOINT_STREAM, version, [event])
        return recorded


def sign_checkpoint(engine: Engine, signer: Signer, now: datetime) -> RecordedEvent:
    """Append a checkpoint of the current head now, whatever the interval.

    Used by ``visselpipa checkpoint``. Raises :class:`ConcurrencyConflict` if
    another checkpoint won a race (possible only above READ COMMITTED, since
    the append lock is held from the first read).
    """
    recorded = _append_checkpoint(engine, signer, now, lambda _last, _head: True)
    assert recorded is not None  # always due
    return recorded


def checkpoint_if_due(
    engine: Engine, signer: Signer, now: datetime, interval: timedelta
) -> RecordedEvent | None:
    """Append a checkpoint if one is due; return it, or None if none was due.

    Due means: the log holds events after the last checkpoint, and that
    checkpoint was signed at least ``interval`` before ``now`` (or there is
    none). Idempotent and safe when several processes call it at once (each
    ``tick`` on each instance): the check and the append happen under the
    appenders' lock, so exactly one of them signs.
    """

    def due(last: RecordedEvent | None, head_seq: int) -> bool:
        if last is None:
            return head_seq > 0
        if head_seq <= last.seq:
            return False  # nothing happened since: signing again proves nothing new
        try:
            signed_at = datetime.fromisoformat(str(last.meta.get("signed_at")))
            return now - signed_at >= interval
        except (ValueError, TypeError):
            # Fail towards signing: an extra checkpoint costs one event, a
            # missing one leaves history unprotected (verify reports the bad one).
            return True

    try:
        return _append_checkpoint(engine, signer, now, due)
    except ConcurrencyConflict:
        # Another process appended a checkpoint between our read of the
        # stream's version and our append (possible only above READ
        # COMMITTED, since the append lock is held): theirs covers the head.
        return None


# --- verification -------------------------------------------------------------------


@dataclass(frozen=True)
class LogReport:
    """The outcome of verifying the chain, the tree and every checkpoint.

    ``first_bad_seq`` is the first sequence number shown to be wrong: where
    the chain breaks, the checkpoint event that does not verify, or the
    covered event whose hash differs from the signed one (the rewrite is then
    somewhere after ``last_good``'s ``head_seq`` and at or before it).
    ``last_good`` is the newest checkpoint that verified before the damage:
    the log is proven up to its ``head_seq``.

    ``root_hash`` is the Merkle root of the ``events_checked`` events,
    recomputed from them. ``expected`` is the head given from outside the
    database, if any; ``anchored`` says the log was checked against it and
    holds it (same root at its size, current tree consistent with it). Without
    an outside head nobody can tell a complete log from one cut short.
    """

    ok: bool
    events_checked: int
    checkpoints_checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    last_good: Checkpoint | None = None
    root_hash: bytes = EMPTY_ROOT
    expected: TreeHead | None = None
    anchored: bool = False


def _outside_the_chain(engine: Engine) -> tuple[int, str] | None:
    """Rows stored with a sequence number below 1: inserted behind the store's back."""
    t = events_table
    with engine.connect() as conn:
        count, lowest = (
            read_only(conn)
            .execute(select(func.count(), func.min(t.c.seq)).where(t.c.seq < 1))
            .one()
        )
    if not count:
        return None
    return int(lowest), (
        f"{count} event(s) stored with a sequence number below 1, outside the chain "
        "(inserted behind the store's back)"
    )


def _stored_hashes(engine: Engine, seqs: list[int]) -> dict[int, bytes]:
    t = events_table
    found: dict[int, bytes] = {}
    with engine.connect() as conn:
        conn = read_only(conn)
        for start in range(0, len(seqs), _LOOKUP_BATCH):
            wanted = seqs[start : start + _LOOKUP_BATCH]
            rows = conn.execute(select(t.c.seq, t.c.hash).where(t.c.seq.in_(wanted)))
            found.update((int(r.seq), bytes(r.hash)) for r in rows)
    return found


def _fault(
    checkpoint: Checkpoint,
    end: int,
    stored: Mapping[int, bytes],
    roots: Mapping[int, bytes],
    public_key: bytes,
) -> tuple[int, str] | None:
    """What is wrong with one parsed checkpoint: (bad seq, reason), or None."""
    here = f"the checkpoint at seq {checkpoint.seq}"
    if checkpoint.key_id != key_id(public_key):
        return checkpoint.seq, (
            f"{here} names signing key {checkpoint.key_id}, not the given key {key_id(public_key)}"
        )
    try:
        verify_signature(public_key, checkpoint.domain, checkpoint.message, checkpoint.signature)
    except CryptoError:
        return checkpoint.seq, f"{here} has no valid signature by key {key_id(public_key)}"
    if checkpoint.head_seq > end:
        return checkpoint.seq, (
            f"{here} covers seq {checkpoint.head_seq}, but the log ends at seq {end}: "
            "events were removed"
        )
    if checkpoint.head_seq >= checkpoint.seq:
        return checkpoint.seq, (
            f"{here} covers seq {checkpoint.head_seq}, which is not before it: "
            "events before it were removed"
        )
    if checkpoint.head_seq != checkpoint.seq - 1:
        # Signing holds the appenders' lock, so nothing can come between the
        # head and its checkpoint: events there were inserted afterwards.
        return checkpoint.seq, (
            f"{here} covers seq {checkpoint.head_seq}, not the event just before it: "
            "events were inserted before it"
        )
    expected = GENESIS if checkpoint.head_seq == 0 else stored.get(checkpoint.head_seq)
    if expected != checkpoint.head_hash:
        return checkpoint.head_seq, (
            f"the hash of seq {checkpoint.head_seq} differs from the one signed at "
            f"{checkpoint.signed_at} ({here}): an event up to seq {checkpoint.head_seq} "
            "was rewritten"
        )
    if checkpoint.root_hash is not None and roots.get(checkpoint.head_seq) != checkpoint.root_hash:
        return checkpoint.seq, (
            f"the Merkle root of seqs 1..{checkpoint.head_seq} differs from the one signed at "
            f"{checkpoint.signed_at} ({here}): an event up to seq {checkpoint.head_seq} "
            "was rewritten"
        )
    return None


def _roots(engine: Engine, sizes: set[int], end: int) -> dict[int, bytes]:
    """The Merkle root of seqs 1..size for each of ``sizes`` (all ≤ ``end``), from the events.

    One pass over the (seq, hash) column pairs the chain walk vouched for,
    the tree grown in batches (:class:`Frontier`): it trusts nothing of the
    stored tree.
    """
    wanted = sorted(size for size in sizes if 0 <= size <= end)
    roots: dict[int, bytes] = {}
    frontier = Frontier()
    pending = iter(wanted)
    target = next(pending, None)

    def reached() -> None:
        nonlocal target
        while target is not None and target == frontier.size:
            roots[target] = frontier.root()
            target = next(pending, None)

    reached()
    with engine.connect() as conn:
        read_only(conn)
        # The raw driver cursor (server-side on PostgreSQL), as the chain walk
        # reads: a million Row objects would cost more than the hashing.
        placeholder = "?" if conn.dialect.name == "sqlite" else "%s"
        cursor = _cursor(conn)
        try:
            cursor.execute(
                f"SELECT hash FROM events WHERE seq >= 1 AND seq <= {placeholder} ORDER BY seq",  # noqa: S608 - constant text
                (end,),
            )
            while part := cursor.fetchmany(_TREE_FETCH):
                hashes = [bytes(row[0]) for row in part]
                while hashes:
                    room = len(hashes) if target is None else target - frontier.size
                    frontier.extend(hashes[:room])
                    hashes = hashes[room:]
                    reached()
        finally:
            cursor.close()
    return roots


def _against_expected(
    engine: Engine,
    expected: TreeHead,
    end: int,
    stored: Mapping[int, bytes],
    roots: Mapping[int, bytes],
    public_key: bytes,
) -> tuple[int | None, str] | None:
    """What stops the log from holding the outside head ``expected``, or None."""
    signed = f"the expected head ({expected.tree_size} events, signed {expected.signed_at})"
    try:
        expected.verify(public_key)
    except HeadInvalid as e:
        return None, str(e)
    if expected.tree_size > end:
        return end + 1, (
            f"{signed} covers more events than this log holds ({end}): events were removed "
            "from the end, or this is a copy of a SQLite database without its -wal file"
        )
    at = GENESIS if expected.tree_size == 0 else stored.get(expected.tree_size)
    if roots.get(expected.tree_size) != expected.root_hash or at != expected.head_hash:
        return expected.tree_size, (
            f"the log's first {expected.tree_size} events are not the ones {signed} covers: "
            "history was rewritten or forked"
        )
    with engine.connect() as conn:
        try:
            proof = consistency_proof(read_only(conn), expected.tree_size, end)
            verify_consistency(expected.tree_size, end, expected.root_hash, roots[end], proof)
        except (TreeIncomplete, ProofFailed) as e:
            return None, (
                f"the stored Merkle tree gives no valid consistency proof from {signed} to "
                f"the log's {end} events ({e}): the merkle_nodes table was altered"
            )
    return None


def verify_log(
    engine: Engine,
    public_key: bytes,
    progress: Callable[[int], None] | None = None,
    expected: TreeHead | None = None,
) -> LogReport:
    """Verify the hash chain, the Merkle tree, every checkpoint, and ``expected`` if given.

    ``progress``, if given, is called with the number of events checked so
    far while the chain is walked. Needs only the database and the public
    key: an auditor runs it on a copy, without the deployment's secrets.

    ``expected`` is a signed tree head kept outside the database (published,
    printed in a report): the log must hold it — its events up to the head's
    size have the head's root, and the stored tree proves the current log
    consistent with it. This is what catches a log cut short, which no check
    of the database alone can.

    Checkpoints appended after the chain walk passed their position are left
    for the next run: the walk and the checkpoint read are separate
    transactions, and a running deployment keeps appending.
    """
    chain = verify_chain(engine, progress=progress)
    # Seqs 1..end verified; the chain is contiguous from 1, so the count is
    # also the last seq the walk vouched for.
    end = chain.events_checked
    records = EventStore(engine).read_stream(CHECKPOINT_STREAM)
    records = [r for r in records if r.seq <= end]

    parsed: list[Checkpoint | tuple[int, str]] = []
    for record in records:
        try:
            parsed.append(Checkpoint.from_event(record))
        except ValueError as e:
            parsed.append((record.seq, f"the checkpoint at seq {record.seq} is malformed: {e}"))
    heads = {c.head_seq for c in parsed if isinstance(c, Checkpoint)}
    if expected is not None:
        heads.add(expected.tree_size)
    stored = _stored_hashes(engine, sorted(heads - {0}))
    roots = _roots(
        engine,
        {c.head_seq for c in parsed if isinstance(c, Checkpoint) and c.root_hash is not None}
        | ({expected.tree_size} if expected is not None else set())
        | {end},
        end,
    )

    last_good: Checkpoint | None = None
    checked = 0
    bad: tuple[int | None, str] | None = None
    for item in parsed:
        checked += 1
        fault = item if isinstance(item, tuple) else _fault(item, end, stored, roots, public_key)
        if fault is not None:
            bad = fault
            break
        assert isinstance(item, Checkpoint)  # a tuple is always a fault
        last_good = item

    if not chain.ok:
        assert chain.first_broken_seq is not None  # set whenever ok is False
        broken = (chain.first_broken_seq, f"hash chain broken: {chain.reason}")
        bad = broken if bad is None or bad[0] is None or broken[0] < bad[0] else bad
    outside = _outside_the_chain(engine)
    if outside is not None:
        # The walk starts at seq 1; a row below it is in no chain, yet the
        # application would read it as part of its stream.
        bad = outside
    if bad is None and expected is not None:
        bad = _against_expected(engine, expected, end, stored, roots, public_key)
    first_bad, reason = (None, None) if bad is None else bad
    return LogReport(
        ok=bad is None,
        events_checked=chain.events_checked,
        checkpoints_checked=checked,
        first_bad_seq=first_bad,
        reason=reason,
        last_good=last_good,
        root_hash=roots[end],
        expected=expected,
        anchored=bad is None and expected is not None,
    )
