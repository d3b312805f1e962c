"""The hash chain over the event log, and its verification.

Every event carries ``prev_hash`` (the ``hash`` of the event with the previous
``seq``; 32 zero bytes for seq 1) and its own ``hash``, which covers every
column of the row. Rewriting, removing or reordering any stored event therefore
changes a hash that every later event depends on; a signed checkpoint of the
head (seq, hash) then lets an auditor prove that nothing before it changed.

Hash encoding (version 1)
-------------------------

An independent verifier recomputes, for each row in ``seq`` order::

    hash = BLAKE2b(digest_size = 32,
                   key         = none,
                   salt        = none,
                   person      = "vp.events.v1" padded with zero bytes to 16 bytes,
                   message     = F(seq) || F(stream_id) || F(version) || F(type)
                                 || F(actor) || F(recorded_at) || F(meta)
                                 || F(body) || F(prev_hash))

    F(x) = len(x) as an 8-byte unsigned big-endian integer || x

where the content ``x`` of each field is:

- ``seq``, ``version``: the integer as 8 bytes, unsigned big-endian (so F is
  always 16 bytes);
- ``stream_id``, ``type``, ``actor``, ``recorded_at``: the text as UTF-8;
- ``meta``: the stored JSON text, byte for byte as stored, as UTF-8 (the store
  writes canonical JSON: keys sorted, separators ``,`` and ``:``, no ASCII
  escaping, but the hash covers the stored text, not a re-serialisation);
- ``body``: one byte ``0x00`` when the column is NULL, otherwise the byte
  ``0x01`` followed by the body bytes (so NULL and empty differ);
- ``prev_hash``: its 32 bytes.

The chain is valid when the rows have ``seq`` 1, 2, 3, … without a gap, the
first ``prev_hash`` is 32 zero bytes, every other ``prev_hash`` equals the
previous row's ``hash``, and every ``hash`` equals the recomputed value.

.. warning::
   The chain detects edits to stored events; it cannot by itself detect
   removal of the newest events (truncating the tail leaves a valid, shorter
   chain). Compare the head with a signed checkpoint for that.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from caseflow.store.errors import ChainBroken

#: ``prev_hash`` of the first event.
GENESIS = bytes(32)

#: BLAKE2b personalisation: separates these hashes from every other BLAKE2b
#: use in Visselpipa, and names the encoding version.
PERSON = b"vp.events.v1"

HASH_SIZE = 32
_U64_MAX = 2**64 - 1


_EIGHT = (8).to_bytes(8, "big")
_THIRTY_TWO = HASH_SIZE.to_bytes(8, "big")


def _uint(value: int, name: str) -> bytes:
    if not 0 <= value <= _U64_MAX:
        raise ValueError(f"{name} must fit an unsigned 64-bit integer, got {value}")
    return value.to_bytes(8, "big")


def event_hash(
    seq: int,
    stream_id: str,
    version: int,
    type: str,
    actor: str,
    recorded_at: str,
    meta_json: str,
    body: bytes | None,
    prev_hash: bytes,
) -> bytes:
    """Return the 32-byte chain hash of one event (encoding: see the module docstring)."""
    if len(prev_hash) != HASH_SIZE:
        raise ValueError(f"prev_hash must be {HASH_SIZE} bytes, got {len(prev_hash)}")
    # One buffer and one hash call: the verifier runs this for every event,
    # and nine update() calls with a helper each cost twice as much.
    texts = [
        stream_id.encode("utf-8"),
        type.encode("utf-8"),
        actor.encode("utf-8"),
        recorded_at.encode("utf-8"),
        meta_json.encode("utf-8"),
        b"\x00" if body is None else b"\x01" + body,
    ]
    stream, type_, actor_, recorded, meta, stored_body = texts
    message = b"".join(
        (
            _EIGHT, _uint(seq, "seq"),
            len(stream).to_bytes(8, "big"), stream,
            _EIGHT, _uint(version, "version"),
            len(type_).to_bytes(8, "big"), type_,
            len(actor_).to_bytes(8, "big"), actor_,
            len(recorded).to_bytes(8, "big"), recorded,
            len(meta).to_bytes(8, "big"), meta,
            len(stored_body).to_bytes(8, "big"), stored_body,
            _THIRTY_TWO, prev_hash,
        )
    )  # fmt: skip
    return hashlib.blake2b(message, digest_size=HASH_SIZE, person=PERSON).digest()


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of walking the chain.

    ``events_checked`` counts the events that verified before the walk
    stopped; ``last_hash`` is the hash of the last of them (``GENESIS`` when
    none did), to compare with a signed checkpoint.
    """

    ok: bool
    events_checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    last_hash: bytes = GENESIS

    def raise_if_broken(self) -> None:
        """Raise :class:`ChainBroken` unless the chain verified."""
        if not self.ok:
            assert self.first_broken_seq is not None  # set whenever ok is False
            raise ChainBroken(self.first_broken_seq, self.reason or "")


def verify_rows(rows: Iterable[Any]) -> VerifyReport:
    """Verify rows given in ``seq`` order, each a sequence in table column order.

    The column order is: seq, stream_id, version, type, actor, recorded_at,
    meta (the stored JSON text), body, prev_hash, hash. Stops at the first
    broken link.
    """
    expected_seq = 1
    prev = GENESIS
    checked = 0

    def broken(seq: int, reason: str) -> VerifyReport:
        return VerifyReport(False, checked, seq, reason, prev)

    for row in rows:
        seq, stream_id, version, type_, actor, recorded_at, meta, body, prev_hash, hash_ = row
        if seq != expected_seq:
            if seq > expected_seq:
                return broken(expected_seq, f"seq {expected_seq} is missing (next is {seq})")
            return broken(seq, f"seq {seq} is out of order (expected {expected_seq})")
        if bytes(prev_hash) != prev:
            return broken(seq, "prev_hash does not match the previous event's hash")
        try:
            computed = event_hash(
                seq, stream_id, version, type_, actor, recorded_at, meta,
                None if body is None else bytes(body), bytes(prev_hash),
            )  # fmt: skip
        except (ValueError, TypeError, AttributeError) as e:
            # A column holding something no honest writer stores (wrong type,
            # undecodable text) is a break, not a crash of the verifier.
            return broken(seq, f"row cannot be hashed: {e}")
        if computed != bytes(hash_):
            return broken(seq, "hash does not match the event's contents")
        prev = computed
        checked += 1
        expected_seq += 1
    return VerifyReport(True, checked, None, None, prev)


def verify_chain(engine: Engine, batch: int = 1000) -> VerifyReport:
    """Walk every stored event in ``seq`` order and check the hash chain.

    Reads in batches of ``batch`` rows, each in its own short read
    transaction, so memory stays constant and writers are not held up.
    """
    # Imported here, not at the top: events.py imports this module for
    # event_hash, and this module's hashing part stays free of the table.
    from caseflow.store.events import scan_rows

    return verify_rows(scan_rows(engine, after_seq=0, batch=batch))
