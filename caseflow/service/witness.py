"""Witnesses: an outside party checks each published head against the last one it saw.

A signed tree head says "the log held these N events"; a deployment that
showed one head to an auditor and another, not extending it, to a reporter
would have forked its log, and each head alone verifies. A witness (the
supervising authority, the national audit office) closes that gap, as in
Certificate Transparency's gossip and Sigstore's witnesses:

1. it keeps the newest head it accepted (its *state*), and the deployment's
   public key, pinned when it started witnessing;
2. given a newer head and the deployment's consistency proof from the old
   size to the new one (``/.well-known/visselpipa/consistency``), it checks
   the head's signature and the proof (RFC 9162, section 2.1.4);
3. if both hold, it **countersigns** the new head with its own Ed25519 key
   (domain ``witness-cosign``) and keeps it as its state; the deployment
   records the countersignature in its log and shows it at
   ``/.well-known/visselpipa/countersignatures``;
4. if they do not — a head of the same size with another root, a smaller
   head than before, a proof that fails — it writes **fork evidence**: both
   heads, each with the deployment's valid signature, and the proof given.
   Two validly signed heads that cannot both be true are proof enough.

Everything here works on documents and runs offline; fetching them is the
command's job (``visselpipa witness check``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from caseflow.store.heads import (
    HeadInvalid,
    TreeHead,
    canonical_json_bytes,
    head_from_fields,
    no_duplicate_keys,
    parse_head,
)
from caseflow.store.merkle import ProofFailed, verify_consistency
from crypto.errors import CryptoError
from crypto.signing import Signer, key_id, verify_signature

COSIGN_DOMAIN = "witness-cosign"
COUNTERSIGNATURE_FORMAT = "visselpipa-countersignature"
EVIDENCE_FORMAT = "visselpipa-fork-evidence"
PROOF_FORMAT = "visselpipa-consistency-proof"
VERSION = 1
MAX_DOCUMENT_BYTES = 64 * 1024


class WitnessRefused(ValueError):
    """A document is malformed or not signed by the key it must be signed by."""


@dataclass(frozen=True)
class Fork:
    """Two validly signed heads that cannot both be true, and why."""

    reason: str
    seen: TreeHead
    now: TreeHead
    proof: list[bytes]

    def document(self) -> bytes:
        return (
            canonical_json_bytes(
                {
                    "format": EVIDENCE_FORMAT,
                    "version": VERSION,
                    "reason": self.reason,
                    "seen": self.seen.fields(),
                    "now": self.now.fields(),
                    "proof": [h.hex() for h in self.proof],
                }
            )
            + b"\n"
        )


@dataclass(frozen=True)
class Countersignature:
    head: TreeHead
    witness_key: bytes
    witnessed_on: str
    signature: bytes

    def signed_fields(self) -> dict[str, Any]:
        return {
            "format": COUNTERSIGNATURE_FORMAT,
            "version": VERSION,
            "head": self.head.fields(),
            "witness_key": self.witness_key.hex(),
            "witness_key_id": key_id(self.witness_key),
            "witnessed_on": self.witnessed_on,
        }

    def document(self) -> bytes:
        fields = {**self.signed_fields(), "signature": self.signature.hex()}
        return canonical_json_bytes(fields) + b"\n"

    def verify(self) -> None:
        """Raise :class:`WitnessRefused` unless the witness key signed this."""
        try:
            verify_signature(
                self.witness_key,
                COSIGN_DOMAIN,
                canonical_json_bytes(self.signed_fields()),
                self.signature,
            )
        except CryptoError:
            raise WitnessRefused("the countersignature does not verify") from None


def _json(document: bytes, what: str) -> dict[str, Any]:
    if len(document) > MAX_DOCUMENT_BYTES:
        raise WitnessRefused(f"the {what} is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        parsed = json.loads(document.decode("utf-8"), object_pairs_hook=no_duplicate_keys)
    except (UnicodeDecodeError, ValueError) as e:
        raise WitnessRefused(f"the {what} is not valid JSON ({e})") from None
    if not isinstance(parsed, dict):
        raise WitnessRefused(f"the {what} is not a JSON object")
    return parsed


def _hashes(values: Any, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise WitnessRefused(f"the {what} is not a list of hashes")
    try:
        hashes = [bytes.fromhex(v) for v in values if isinstance(v, str)]
    except ValueError:
        raise WitnessRefused(f"the {what} holds something that is not hex") from None
    if len(hashes) != len(values) or any(len(h) != 32 for h in hashes):
        raise WitnessRefused(f"the {what} holds something that is not a 32-byte hash")
    return hashes


def proof_document(old_size: int, new_size: int, proof: list[bytes]) -> bytes:
    """What the deployment serves: the consistency proof between two sizes."""
    fields = {
        "format": PROOF_FORMAT,
        "version": VERSION,
        "old_size": old_size,
        "new_size": new_size,
        "proof": [h.hex() for h in proof],
    }
    return canonical_json_bytes(fields) + b"\n"


def parse_proof(document: bytes, old_size: int, new_size: int) -> list[bytes]:
    parsed = _json(document, "consistency proof")
    if parsed.get("format") != PROOF_FORMAT or parsed.get("version") != VERSION:
        raise WitnessRefused("not a consistency proof of this format")
    if parsed.get("old_size") != old_size or parsed.get("new_size") != new_size:
        raise WitnessRefused(
            f"the proof is between sizes {parsed.get('old_size')} and {parsed.get('new_size')}, "
            f"not {old_size} and {new_size}"
        )
    return _hashes(parsed.get("proof"), "consistency proof")


def parse_countersignature(document: bytes) -> Countersignature:
    parsed = _json(document, "countersignature")
    if parsed.get("format") != COUNTERSIGNATURE_FORMAT or parsed.get("version") != VERSION:
        raise WitnessRefused("not a countersignature of this format")
    try:
        head = head_from_fields(parsed["head"])
        witness_key = bytes.fromhex(parsed["witness_key"])
        signature = bytes.fromhex(parsed["signature"])
        witnessed_on = str(parsed["witnessed_on"])
        named = key_id(witness_key)
    except (KeyError, TypeError, ValueError, HeadInvalid, CryptoError) as e:
        raise WitnessRefused(f"the countersignature is malformed ({e})") from None
    if parsed.get("witness_key_id") != named:
        raise WitnessRefused("the countersignature names another witness key id")
    signed = Countersignature(head, witness_key, witnessed_on, signature)
    signed.verify()
    return signed


def check_head(document: bytes, deployment_key: bytes) -> TreeHead:
    """A published head, its deployment signature checked."""
    try:
        head = parse_head(document)
        head.verify(deployment_key)
    except HeadInvalid as e:
        raise WitnessRefused(str(e)) from None
    return head


def conflict(seen: TreeHead | None, new: TreeHead, proof: list[bytes]) -> str | None:
    """Why ``new`` cannot extend ``seen`` (both heads' signatures already checked), or None."""
    if seen is None:
        return None
    if new.tree_size < seen.tree_size:
        return "the new head is smaller than one seen before"
    if new.tree_size == seen.tree_size and new.root_hash != seen.root_hash:
        return "two heads of the same size have different roots"
    try:
        verify_consistency(seen.tree_size, new.tree_size, seen.root_hash, new.root_hash, proof)
    except ProofFailed as e:
        return f"the new head does not extend the one seen: {e}"
    return None


def witness(
    seen: TreeHead | None, new: TreeHead, proof: list[bytes], signer: Signer, today: str
) -> Countersignature | Fork:
    """Countersign ``new`` if it extends ``seen`` (both heads' signatures already checked)."""
    reason = conflict(seen, new, proof)
    if reason is not None:
        assert seen is not None  # no conflict without a head seen before
        return Fork(reason, seen, new, proof)
    fields = Countersignature(new, signer.public_key, today, b"").signed_fields()
    signature = signer.sign(COSIGN_DOMAIN, canonical_json_bytes(fields))
    return Countersignature(new, signer.public_key, today, signature)


def check_evidence(document: bytes, deployment_key: bytes) -> tuple[Fork, bool]:
    """Re-check fork evidence: both heads signed by the deployment, and in conflict.

    Returns the fork and whether the evidence is conclusive on its own: two
    signed heads of the same size with different roots are; a proof that
    failed is not (a garbled proof fails too), so for those ask the
    deployment for a consistency proof between the two sizes: a log that
    is not forked can always give one.
    """
    parsed = _json(document, "fork evidence")
    if parsed.get("format") != EVIDENCE_FORMAT or parsed.get("version") != VERSION:
        raise WitnessRefused("not fork evidence of this format")
    heads = []
    for name in ("seen", "now"):
        try:
            head = head_from_fields(parsed[name])
            head.verify(deployment_key)
        except (KeyError, TypeError, HeadInvalid) as e:
            raise WitnessRefused(f"the evidence's {name!r} head does not hold ({e})") from None
        heads.append(head)
    proof = _hashes(parsed.get("proof", []), "proof")
    seen, now = heads
    reason = conflict(seen, now, proof)
    if reason is None:
        raise WitnessRefused("the two heads are consistent: this is no fork")
    conclusive = seen.tree_size == now.tree_size and seen.root_hash != now.root_hash
    return Fork(reason, seen, now, proof), conclusive


# -- the deployment's side -------------------------------------------------------------

COUNTERSIGNED = "HeadCountersigned"
STREAM_PREFIX = "witness:"


def consistency_between(engine: Any, old_size: int, new_size: int) -> list[bytes]:
    """The proof that the log of ``new_size`` events extends that of ``old_size``.

    :raises WitnessRefused: unless ``0 <= old_size <= new_size <= events in the log``.
    """
    import sqlalchemy as sa

    from caseflow.store.engine import read_only
    from caseflow.store.tree import consistency_proof

    with engine.connect() as conn:
        size = read_only(conn).execute(sa.text("SELECT max(seq) FROM events")).scalar() or 0
        if not 0 <= old_size <= new_size <= size:
            raise WitnessRefused(f"sizes must satisfy 0 <= old <= new <= {size}")
        if old_size in (0, new_size):
            return []
        return consistency_proof(conn, old_size, new_size)


def record_countersignature(
    engine: Any, document: bytes, deployment_key: bytes, today: str
) -> tuple[Countersignature, bool]:
    """Check a witness's countersignature and record it in the log.

    It must countersign a head this deployment signed, of this log (its root
    is this log's root at that size). Returns it and whether it was new
    (the same countersignature twice is recorded once).
    """
    from caseflow.store.events import EventStore, NewEvent
    from caseflow.store.tree import root_at

    signed = parse_countersignature(document)
    try:
        signed.head.verify(deployment_key)
    except HeadInvalid as e:
        raise WitnessRefused(f"it countersigns a head this deployment did not sign: {e}") from None
    store = EventStore(engine)
    stream = STREAM_PREFIX + key_id(signed.witness_key)
    with engine.begin() as conn:
        size = store.head(conn)[0]
        if signed.head.tree_size > size or root_at(conn, signed.head.tree_size) != (
            signed.head.root_hash
        ):
            raise WitnessRefused("it countersigns a head that is not of this log")
        existing = store.read_stream(stream, conn)
        if any(e.meta.get("signature") == signed.signature.hex() for e in existing):
            return signed, False
        meta = json.loads(signed.document())
        store.append(
            conn, stream, len(existing), [NewEvent(COUNTERSIGNED, "operator", today, meta=meta)]
        )
    return signed, True


def countersignatures(engine: Any, limit: int = 50) -> list[dict[str, Any]]:
    """The newest recorded countersignatures, newest first, as published."""
    import sqlalchemy as sa

    from caseflow.store.engine import read_only
    from caseflow.store.events import events_table as t

    with engine.connect() as conn:
        rows = (
            read_only(conn)
            .execute(
                sa.select(t.c.meta)
                .where(t.c.type == COUNTERSIGNED, t.c.stream_id.like(STREAM_PREFIX + "%"))
                .order_by(t.c.seq.desc())
                .limit(limit)
            )
            .scalars()
        )
        return [json.loads(meta) for meta in rows]
