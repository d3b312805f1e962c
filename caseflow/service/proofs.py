"""Proofs of submission: a signed statement that a report was received on a day.

A reporter may need to show, years later and without giving up their
anonymity, that they reported and when (retaliation cases under EU directive
2019/1937 art. 21 turn on it). A proof is a small JSON document::

    {"case":"<case id>","commitment":"<hex>","format":"visselpipa-proof-of-submission",
     "key_id":"<hex>","received_on":"YYYY-MM-DD","signature":"<hex>","version":1}

- ``commitment`` is ``BLAKE2b-256`` (no key, no personalisation) of the sealed
  report body exactly as stored on the case's ``ReportReceived`` event. The
  body is AEAD ciphertext under a random nonce, so the hash says nothing of
  what was written; whoever holds the database can find the event it names.
- ``signature`` is the deployment's Ed25519 signature (domain ``proof``, see
  :mod:`crypto.signing`) over the canonical JSON of every other field: keys
  sorted, no spaces, UTF-8.

Version 2 adds an *inclusion proof* once a signed tree head covers the
report's event (:mod:`caseflow.store.heads`)::

    "event_hash":"<64 hex>","leaf_index":<n>,"tree_head":{<the signed head>},
    "inclusion":["<64 hex>", ...]

``event_hash`` is the event's chain hash (the leaf's data), ``leaf_index``
its ``seq - 1``; the signature covers both (with the version 1 fields), the
head carries its own signature, and ``inclusion`` (RFC 9162 §2.1.3) leads
from ``SHA-256(0x00 || event_hash)`` to the head's root: anyone with the
public key alone checks that the deployment's log holds this event, and the
head can be compared with the heads the deployment published. It names only
hashes of other events, never their content; the index tells how many
events came before the report in the whole log.

Nothing else goes in: no time finer than the day, nothing from the
reporter's session or receipt.

Verification parses the document and checks the signature over the canonical
form of its fields, so a document whose keys were reordered or whose
whitespace changed (a pretty-printer, an e-mail client) still verifies when
every field is equal; any changed value, unknown or missing field, duplicate
key, or non-canonical spelling of a value (upper-case hex, ``true`` for 1)
fails.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from caseflow.domain.errors import CaseflowError
from caseflow.store import (
    EventStore,
    HeadInvalid,
    ProofFailed,
    RecordedEvent,
    TreeHead,
    TreeIncomplete,
    head_from_fields,
    inclusion_proof,
    leaf_hash,
    newest_head,
    verify_inclusion,
)
from caseflow.store.heads import no_duplicate_keys
from crypto import CryptoError
from crypto.signing import Signer, key_id, verify_signature

__all__ = [
    "FORMAT",
    "SIGNING_DOMAIN",
    "VERSION",
    "VERSION_WITH_INCLUSION",
    "Inclusion",
    "ProofInvalid",
    "ProofMismatch",
    "Proofs",
    "SignedProof",
    "VerifiedProof",
    "canonical",
    "check_against_log",
    "commitment_of",
    "issue_proof",
    "verify_proof",
]

FORMAT = "visselpipa-proof-of-submission"
VERSION = 1
#: A proof that also carries an inclusion proof to a signed tree head.
VERSION_WITH_INCLUSION = 2
SIGNING_DOMAIN = "proof"
#: Far above any real proof (about 330 bytes; with an inclusion proof about
#: 900 bytes plus 67 per level of the tree, 2.2 KB at a million events);
#: refuses to parse a huge upload.
MAX_DOCUMENT_BYTES = 8192

_SIGNED_FIELDS = ("case", "commitment", "format", "key_id", "received_on", "version")
_ALL_FIELDS = frozenset((*_SIGNED_FIELDS, "signature"))
#: Version 2 adds these; the signature covers the first two, the head carries
#: its own signature, and the path is checked against the head's root.
_INCLUSION_SIGNED = ("event_hash", "leaf_index")
_ALL_FIELDS_V2 = frozenset((*_ALL_FIELDS, *_INCLUSION_SIGNED, "tree_head", "inclusion"))
#: A tree of 2^64 leaves is 64 levels deep.
_MAX_PATH = 64
_CASE_ID = re.compile(r"[0-9A-Za-z_.:-]{1,64}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_SIGNATURE = re.compile(r"[0-9a-f]{128}")


class ProofInvalid(CaseflowError):
    """A document is not a valid proof: malformed, wrong format or version, bad signature.

    The message says which, in plain words, for the person checking it.
    """


class ProofMismatch(CaseflowError):
    """A valid proof does not match the database it is checked against."""


@dataclass(frozen=True)
class Inclusion:
    """Where the report's event is in the Merkle tree, and the proof of it.

    ``event_hash`` is the chain hash of the case's ``ReportReceived`` event
    (the leaf's data), ``leaf_index`` its ``seq - 1``, ``head`` the signed
    tree head the ``path`` (RFC 9162 inclusion proof) leads to.
    """

    event_hash: str
    leaf_index: int
    head: TreeHead
    path: tuple[bytes, ...]

    def fields(self) -> dict[str, Any]:
        return {
            "event_hash": self.event_hash,
            "leaf_index": self.leaf_index,
            "tree_head": self.head.fields(),
            "inclusion": [h.hex() for h in self.path],
        }

    def check(self) -> None:
        """Raise :class:`ProofFailed` unless ``path`` leads from the event to the head's root."""
        leaf = leaf_hash(bytes.fromhex(self.event_hash))
        verify_inclusion(leaf, self.leaf_index, self.head.tree_size, self.path, self.head.root_hash)


@dataclass(frozen=True)
class VerifiedProof:
    """What a proof that passed :func:`verify_proof` states."""

    case_id: str
    received_on: date
    commitment: str
    key_id: str
    signature: str
    inclusion: Inclusion | None = None

    def signed(self) -> SignedProof:
        """The same proof as issued, to hand out again (always in canonical form)."""
        return SignedProof(
            case_id=self.case_id,
            received_on=self.received_on,
            commitment=self.commitment,
            key_id=self.key_id,
            signature=self.signature,
            inclusion=self.inclusion,
        )


@dataclass(frozen=True)
class SignedProof:
    """A proof as issued: its fields and the signature over them."""

    case_id: str
    received_on: date
    commitment: str
    key_id: str
    signature: str
    inclusion: Inclusion | None = None

    def signed_fields(self) -> dict[str, Any]:
        """What the signature covers: every field but the signature, the head and the path."""
        fields: dict[str, Any] = {
            "case": self.case_id,
            "commitment": self.commitment,
            "format": FORMAT,
            "key_id": self.key_id,
            "received_on": self.received_on.isoformat(),
            "version": VERSION,
        }
        if self.inclusion is not None:
            fields["version"] = VERSION_WITH_INCLUSION
            fields["event_hash"] = self.inclusion.event_hash
            fields["leaf_index"] = self.inclusion.leaf_index
        return fields

    def fields(self) -> dict[str, Any]:
        extra = {} if self.inclusion is None else self.inclusion.fields()
        return {**self.signed_fields(), **extra, "signature": self.signature}

    def document(self) -> bytes:
        """The file a reporter downloads: the canonical JSON of every field, and a newline."""
        return canonical(self.fields()) + b"\n"


def canonical(fields: dict[str, Any]) -> bytes:
    """The one byte form of ``fields`` that is signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def commitment_of(sealed_body: bytes) -> str:
    """BLAKE2b-256 (plain: no key, no personalisation) of the sealed report, in hex.

    Plain so that anyone can recompute it from the database with any BLAKE2b
    tool (``b2sum -l 256``), without this code.
    """
    return hashlib.blake2b(sealed_body, digest_size=32).hexdigest()


def issue_proof(store: EventStore, signer: Signer, case_id: str) -> SignedProof:
    """Sign a proof of submission for ``case_id`` from its ``ReportReceived`` event.

    Raises :class:`LookupError` if the case has no report. The signature is
    deterministic (Ed25519), so the same case always gets the same proof
    (until a newer tree head covers it).

    When a signed tree head already covers the event, the proof is version 2
    and carries the inclusion proof to the newest head; right after
    submitting none does (heads are signed by the tick, on the hour, never at
    a moment a reporter chooses: a head signed at once would date the report
    to the second), so the receipt page's proof is version 1 and the status
    page offers the version 2 proof later.
    """
    received = _report_received(store, case_id)
    if received is None:
        raise LookupError(f"case {case_id} has no ReportReceived event with a sealed report")
    event, day = received
    assert event.body is not None  # _report_received returns only a sealed report
    unsigned = SignedProof(
        case_id=case_id,
        received_on=day,
        commitment=commitment_of(event.body),
        key_id=signer.key_id,
        signature="",
        inclusion=_inclusion(store, event),
    )
    signature = signer.sign(SIGNING_DOMAIN, canonical(unsigned.signed_fields()))
    return SignedProof(
        case_id=unsigned.case_id,
        received_on=unsigned.received_on,
        commitment=unsigned.commitment,
        key_id=unsigned.key_id,
        signature=signature.hex(),
        inclusion=unsigned.inclusion,
    )


def _inclusion(store: EventStore, event: RecordedEvent) -> Inclusion | None:
    head = newest_head(store.engine)
    if head is None or head.tree_size < event.seq:
        return None
    with store.engine.connect() as conn:
        try:
            leaf, path = inclusion_proof(conn, event.seq - 1, head.tree_size)
        except TreeIncomplete:
            return None
    inclusion = Inclusion(event.hash.hex(), event.seq - 1, head, tuple(path))
    try:
        if leaf != leaf_hash(event.hash):
            raise ProofFailed("the stored leaf is not the event's")
        inclusion.check()
    except ProofFailed:
        # Fail towards the statement the reporter is owed: a damaged tree
        # (verify names it) costs the inclusion proof, never the proof of
        # submission; a proof that does not verify is never handed out.
        return None
    return inclusion


def verify_proof(document: bytes, public_key: bytes) -> VerifiedProof:
    """Check a proof document against the deployment's public signing key.

    Raises :class:`ProofInvalid` with a reason a person can act on: not JSON,
    not a proof, an unknown version, a malformed field, made with another key,
    or a signature that does not match (the document was changed).
    """
    if len(document) > MAX_DOCUMENT_BYTES:
        raise ProofInvalid(f"the file is larger than a proof can be ({MAX_DOCUMENT_BYTES} bytes)")
    try:
        parsed = json.loads(document.decode("utf-8"), object_pairs_hook=no_duplicate_keys)
    except (UnicodeDecodeError, ValueError) as e:
        # A repeated key is refused: a reader that kept the first value and
        # one that kept the last would see two different proofs.
        raise ProofInvalid(f"the file is not valid JSON ({e})") from None
    if not isinstance(parsed, dict):
        raise ProofInvalid("the file is not a proof of submission (not a JSON object)")
    if parsed.get("format") != FORMAT:
        raise ProofInvalid(f"the file is not a proof of submission (format is not {FORMAT!r})")
    version = parsed.get("version")
    if type(version) is not int or version not in (VERSION, VERSION_WITH_INCLUSION):
        raise ProofInvalid(
            f"unsupported proof version {version!r} (this program reads "
            f"{VERSION} and {VERSION_WITH_INCLUSION})"
        )
    expected_fields = _ALL_FIELDS if version == VERSION else _ALL_FIELDS_V2
    if set(parsed) != expected_fields:
        missing = sorted(expected_fields - set(parsed))
        extra = sorted(set(parsed) - expected_fields)
        raise ProofInvalid(f"the proof has missing fields {missing} or unknown fields {extra}")
    case_id = _field(parsed, "case", _CASE_ID)
    day_text = _field(parsed, "received_on", _DAY)
    commitment = _field(parsed, "commitment", _HEX64)
    named_key = _field(parsed, "key_id", _KEY_ID)
    signature = _field(parsed, "signature", _SIGNATURE)
    try:
        received_on = date.fromisoformat(day_text)
    except ValueError:
        raise ProofInvalid(f"received_on {day_text!r} is not a date") from None
    try:
        expected_key = key_id(public_key)
    except CryptoError:
        raise ProofInvalid("the public key is not an Ed25519 key (32 bytes)") from None
    if named_key != expected_key:
        raise ProofInvalid(
            f"the proof was signed with key {named_key}, not with this key ({expected_key})"
        )
    names = _SIGNED_FIELDS if version == VERSION else (*_SIGNED_FIELDS, *_INCLUSION_SIGNED)
    inclusion = None if version == VERSION else _parsed_inclusion(parsed, public_key)
    signed = {name: parsed[name] for name in names}
    try:
        verify_signature(public_key, SIGNING_DOMAIN, canonical(signed), bytes.fromhex(signature))
    except CryptoError:
        raise ProofInvalid("the signature does not match: the proof has been altered") from None
    return VerifiedProof(
        case_id=case_id,
        received_on=received_on,
        commitment=commitment,
        key_id=named_key,
        signature=signature,
        inclusion=inclusion,
    )


def _parsed_inclusion(parsed: dict[str, Any], public_key: bytes) -> Inclusion:
    """The version 2 fields, checked: the head's signature and the path to its root."""
    event_hash = _field(parsed, "event_hash", _HEX64)
    index = parsed["leaf_index"]
    if type(index) is not int or index < 0:
        raise ProofInvalid("the field 'leaf_index' is malformed")
    raw_head, raw_path = parsed["tree_head"], parsed["inclusion"]
    if not isinstance(raw_head, dict):
        raise ProofInvalid("the field 'tree_head' is malformed")
    if (
        not isinstance(raw_path, list)
        or len(raw_path) > _MAX_PATH
        or not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in raw_path)
    ):
        raise ProofInvalid("the field 'inclusion' is malformed")
    try:
        head = head_from_fields(raw_head)
        head.verify(public_key)
    except HeadInvalid as e:
        raise ProofInvalid(f"the tree head is not valid: {e}") from None
    inclusion = Inclusion(event_hash, index, head, tuple(bytes.fromhex(h) for h in raw_path))
    try:
        inclusion.check()
    except ProofFailed as e:
        raise ProofInvalid(
            f"the inclusion proof does not lead to the signed tree head's root ({e})"
        ) from None
    return inclusion


class Proofs:
    """The deployment's proof service: issues proofs for cases and checks them.

    .. warning::
       It holds the deployment's signing key: a proof is a statement by the
       deployment, so issue one only for the case of the reporter who asks
       (an open reporter session, or the submission that just happened).
    """

    def __init__(self, engine: sa.Engine, signer: Signer) -> None:
        self.store = EventStore(engine)
        self.signer = signer

    @property
    def public_key(self) -> bytes:
        return self.signer.public_key

    @property
    def key_id(self) -> str:
        return self.signer.key_id

    def issue(self, case_id: str) -> SignedProof:
        """The signed proof for ``case_id`` (see :func:`issue_proof`)."""
        return issue_proof(self.store, self.signer, case_id)

    def verify(self, document: bytes) -> VerifiedProof:
        """Check ``document`` against this deployment's own key (see :func:`verify_proof`)."""
        return verify_proof(document, self.public_key)

    def tree_head(self) -> TreeHead | None:
        """The newest signed tree head of the log, to publish (None before the first)."""
        return newest_head(self.store.engine)


def check_against_log(engine: sa.Engine, proof: VerifiedProof) -> None:
    """Check a verified proof against a database: the report it commits to is there.

    Raises :class:`ProofMismatch` if the case has no report, the commitment
    differs from the stored sealed report, or the stored day differs.
    """
    received = _report_received(EventStore(engine), proof.case_id)
    if received is None:
        raise ProofMismatch(f"this database holds no report for case {proof.case_id}")
    event, day = received
    assert event.body is not None  # _report_received returns only a sealed report
    if commitment_of(event.body) != proof.commitment:
        raise ProofMismatch(
            f"the commitment does not match the report stored for case {proof.case_id}"
        )
    if day != proof.received_on:
        raise ProofMismatch(
            f"the stored report of case {proof.case_id} was received on {day.isoformat()}, "
            f"not {proof.received_on.isoformat()}"
        )
    if proof.inclusion is not None and (
        proof.inclusion.event_hash != event.hash.hex()
        or proof.inclusion.leaf_index != event.seq - 1
    ):
        raise ProofMismatch(
            f"the stored report of case {proof.case_id} is not the event the inclusion proof names"
        )


def _report_received(store: EventStore, case_id: str) -> tuple[RecordedEvent, date] | None:
    """The case's ``ReportReceived`` event with a sealed body, and its day of receipt."""
    for event in store.read_stream(case_id):
        if event.type == "ReportReceived" and event.body is not None:
            day = str(event.meta.get("received_on", ""))
            if not _DAY.fullmatch(day):
                raise LookupError(f"case {case_id}: ReportReceived has no day of receipt")
            return event, date.fromisoformat(day)
    return None


def _field(parsed: dict[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    value = parsed[name]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ProofInvalid(f"the field {name!r} is malformed")
    return value
