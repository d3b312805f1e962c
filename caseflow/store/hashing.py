"""The chain hash of one event: the encoding an independent verifier recomputes.

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
"""

from __future__ import annotations

import hashlib

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
