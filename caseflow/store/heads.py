"""Signed tree heads: the size and Merkle root of the log, signed by the deployment.

A tree head is a small canonical JSON document (the checkpoint events of
version 2 store exactly these fields in ``meta``; ``visselpipa head`` prints
it; ``/.well-known/visselpipa/tree-head`` serves the newest)::

    {"format":"visselpipa-tree-head","head_hash":"<64 hex>","key_id":"<16 hex>",
     "root_hash":"<64 hex>","signature":"<128 hex>","signed_at":"<ISO 8601>",
     "tree_size":<integer>,"version":1}

- ``tree_size``: the number of events the head covers, seqs 1..tree_size;
- ``root_hash``: MTH of those events' chain hashes (:mod:`caseflow.store.merkle`);
- ``head_hash``: the chain hash of event ``tree_size`` (32 zero bytes for 0),
  so a verifier without Merkle code can still check the head against the chain;
- ``signed_at``: ISO 8601 to the second, Europe/Stockholm (no finer than the
  version 1 checkpoints);
- ``key_id``: the signing key's id (:func:`crypto.signing.key_id`);
- ``signature``: Ed25519 in domain ``tree-head`` over the canonical JSON of
  every other field (keys sorted, separators ``,`` ``:``, no spaces, UTF-8).

Hex is lower case. A reader parses the JSON and checks the signature over the
canonical form of the fields, so whitespace and key order do not matter;
every value must be exactly as above.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caseflow.store.errors import StoreError
from caseflow.store.merkle import HASH_SIZE
from crypto.errors import CryptoError
from crypto.signing import Signer, key_id, verify_signature

__all__ = [
    "HEAD_DOMAIN",
    "HEAD_FIELDS",
    "HEAD_FORMAT",
    "HEAD_VERSION",
    "HeadInvalid",
    "TreeHead",
    "canonical_json_bytes",
    "head_from_fields",
    "no_duplicate_keys",
    "parse_head",
    "sign_head",
]

HEAD_FORMAT = "visselpipa-tree-head"
HEAD_VERSION = 1
#: The signing domain: a head's signature never passes for a proof or a v1 checkpoint.
HEAD_DOMAIN = "tree-head"
HEAD_FIELDS = frozenset(
    {"format", "version", "tree_size", "root_hash", "head_hash", "signed_at", "key_id", "signature"}
)
#: Far above a real head (about 330 bytes).
MAX_HEAD_BYTES = 4096

_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_SIGNATURE = re.compile(r"[0-9a-f]{128}")
_SIGNED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", re.ASCII)


class HeadInvalid(StoreError):
    """A document is not a valid signed tree head; the message says why."""


def canonical_json_bytes(fields: dict[str, Any]) -> bytes:
    """Keys sorted, separators ``,`` and ``:`` without spaces, UTF-8."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


@dataclass(frozen=True)
class TreeHead:
    """A signed tree head (the signature is not checked by constructing one)."""

    tree_size: int
    root_hash: bytes
    head_hash: bytes
    signed_at: str
    key_id: str
    signature: bytes

    def signed_fields(self) -> dict[str, Any]:
        """Every field but the signature: what the signature covers."""
        return {
            "format": HEAD_FORMAT,
            "head_hash": self.head_hash.hex(),
            "key_id": self.key_id,
            "root_hash": self.root_hash.hex(),
            "signed_at": self.signed_at,
            "tree_size": self.tree_size,
            "version": HEAD_VERSION,
        }

    @property
    def message(self) -> bytes:
        """The bytes signed in domain ``tree-head``."""
        return canonical_json_bytes(self.signed_fields())

    def fields(self) -> dict[str, Any]:
        return {**self.signed_fields(), "signature": self.signature.hex()}

    def document(self) -> bytes:
        """The head as published: canonical JSON and a newline."""
        return canonical_json_bytes(self.fields()) + b"\n"

    def verify(self, public_key: bytes) -> None:
        """Raise :class:`HeadInvalid` unless ``public_key`` signed this head."""
        try:
            expected = key_id(public_key)
        except CryptoError:
            raise HeadInvalid("the public key is not an Ed25519 key (32 bytes)") from None
        if self.key_id != expected:
            raise HeadInvalid(f"the head names signing key {self.key_id}, not {expected}")
        try:
            verify_signature(public_key, HEAD_DOMAIN, self.message, self.signature)
        except CryptoError:
            raise HeadInvalid(
                f"the head's signature by key {expected} does not verify: it was altered"
            ) from None


def sign_head(
    signer: Signer, tree_size: int, root_hash: bytes, head_hash: bytes, signed_at: str
) -> TreeHead:
    """Sign a head of ``tree_size`` events."""
    unsigned = TreeHead(tree_size, root_hash, head_hash, signed_at, signer.key_id, b"")
    return TreeHead(
        tree_size, root_hash, head_hash, signed_at, signer.key_id,
        signer.sign(HEAD_DOMAIN, unsigned.message),
    )  # fmt: skip


def head_from_fields(fields: dict[str, Any]) -> TreeHead:
    """Parse the fields of a head (from a document or a checkpoint's meta); no signature check.

    Raises :class:`HeadInvalid` naming what is wrong.
    """
    if fields.get("format") != HEAD_FORMAT:
        raise HeadInvalid(f"not a signed tree head (format is not {HEAD_FORMAT!r})")
    version = fields.get("version")
    if type(version) is not int or version != HEAD_VERSION:
        raise HeadInvalid(f"unsupported tree head version {version!r} (this reads {HEAD_VERSION})")
    if set(fields) != HEAD_FIELDS:
        missing, extra = sorted(HEAD_FIELDS - set(fields)), sorted(set(fields) - HEAD_FIELDS)
        raise HeadInvalid(f"the head has missing fields {missing} or unknown fields {extra}")
    size = fields["tree_size"]
    # bool is an int in Python: a head with tree_size true is forged.
    if type(size) is not int or size < 0:
        raise HeadInvalid("the head's tree_size is not a whole number")
    for name, pattern in (
        ("root_hash", _HEX64),
        ("head_hash", _HEX64),
        ("key_id", _KEY_ID),
        ("signature", _SIGNATURE),
        ("signed_at", _SIGNED_AT),
    ):
        value = fields[name]
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise HeadInvalid(f"the head's field {name!r} is malformed")
    try:
        datetime.fromisoformat(fields["signed_at"])
    except ValueError:
        raise HeadInvalid("the head's signed_at is not a time") from None
    root, head = bytes.fromhex(fields["root_hash"]), bytes.fromhex(fields["head_hash"])
    assert len(root) == len(head) == HASH_SIZE  # the patterns say 64 hex digits
    return TreeHead(
        size, root, head, fields["signed_at"], fields["key_id"], bytes.fromhex(fields["signature"])
    )


def parse_head(document: bytes) -> TreeHead:
    """Parse a published head document (no signature check: see :meth:`TreeHead.verify`)."""
    if len(document) > MAX_HEAD_BYTES:
        raise HeadInvalid(f"the file is larger than a tree head can be ({MAX_HEAD_BYTES} bytes)")
    try:
        parsed = json.loads(document.decode("utf-8"), object_pairs_hook=no_duplicate_keys)
    except (UnicodeDecodeError, ValueError) as e:
        raise HeadInvalid(f"the file is not valid JSON ({e})") from None
    if not isinstance(parsed, dict):
        raise HeadInvalid("not a signed tree head (not a JSON object)")
    return head_from_fields(parsed)


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A ``json.loads`` object hook that refuses a key given twice."""
    # A repeated key is refused: readers keeping the first or the last value
    # would see two different heads.
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"the key {name!r} appears twice")
        result[name] = value
    return result
