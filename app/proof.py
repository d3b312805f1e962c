"""Proofs of submission for the reporter, and the deployment's public signing key.

- On the status page (an open reporter session): ``proof.json`` to download
  and a readable, printable page.
- On the receipt page, right after submitting, the reporter has no session:
  the signed document is embedded in a form and posted back to
  :func:`receipt_download`, which re-verifies the signature before echoing
  it. Nothing new is stored, no JavaScript is needed, and the route cannot be
  used to serve arbitrary content (only a proof this deployment signed comes
  back, re-serialised in canonical form).
- ``/.well-known/visselpipa-signing-key``: the public key anyone checks a
  proof with; ``/.well-known/visselpipa/tree-head``: the newest signed tree
  head of the log; ``/.well-known/visselpipa/consistency?old=N&new=M``: the
  proof that the log of M events extends that of N, for witnesses;
  ``/.well-known/visselpipa/countersignatures``: what witnesses countersigned
  (caseflow/service/witness.py).

The proof service lives in ``app.extensions["visselpipa.proofs"]``.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app import reporter
from caseflow.service.proofs import (
    ProofInvalid,
    Proofs,
    SignedProof,
    canonical,
)
from caseflow.service.witness import (
    WitnessRefused,
    consistency_between,
    countersignatures,
    proof_document,
)
from crypto.signing import Signer

bp = Blueprint("proof", __name__)

WELL_KNOWN_KEY_PATH = "/.well-known/visselpipa-signing-key"
WELL_KNOWN_HEAD_PATH = "/.well-known/visselpipa/tree-head"
WELL_KNOWN_CONSISTENCY_PATH = "/.well-known/visselpipa/consistency"
WELL_KNOWN_COUNTERSIGNATURES_PATH = "/.well-known/visselpipa/countersignatures"


@bp.record_once
def _register(state: Any) -> None:
    app = state.app
    settings = app.config["VISSELPIPA"]
    # Fails closed at start: without the deployment's key there is no proof
    # to give, and Signer refuses a missing or short seed.
    app.extensions["visselpipa.proofs"] = Proofs(
        app.extensions["visselpipa.engine"], Signer(settings.signing_seed)
    )


def proofs() -> Proofs:
    service: Proofs = current_app.extensions["visselpipa.proofs"]
    return service


def file_name(case_id: str) -> str:
    """The download name: enough of the case id to tell two proofs apart."""
    return f"visselpipa-proof-{case_id[:8]}.json"


def _attachment(proof: SignedProof) -> Response:
    return Response(
        proof.document(),
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{file_name(proof.case_id)}"',
            # The security layer sets no-store on every app response too;
            # said here as well because a proof must never sit in a cache.
            "Cache-Control": "no-store",
        },
    )


def _page(proof: SignedProof, *, from_receipt: bool) -> str:
    return render_template(
        "proof.html",
        proof=proof,
        document=json.dumps(proof.fields(), indent=2, sort_keys=True),
        public_key=proofs().public_key.hex(),
        key_path=WELL_KNOWN_KEY_PATH,
        file_name=file_name(proof.case_id),
        # From the receipt page there is no session: the page carries the
        # document again so the file can still be downloaded from it.
        embedded=proof.document().decode("ascii").strip() if from_receipt else None,
    )


# -- on the status page (an open session) ------------------------------------


def _session_proof() -> SignedProof | None:
    # The session is the reporter's own (app.reporter): a proof is only ever
    # issued for the case that session opened.
    access = reporter._current_access()
    return None if access is None else proofs().issue(access.case_id)


@bp.get("/status/proof.json")
def status_json() -> Response:
    proof = _session_proof()
    if proof is None:
        return redirect(url_for("reporter.status"), code=303)
    return _attachment(proof)


@bp.get("/status/proof")
def status_page() -> str | Response:
    proof = _session_proof()
    if proof is None:
        return redirect(url_for("reporter.status"), code=303)
    return _page(proof, from_receipt=False)


# -- from the receipt page (no session) --------------------------------------


@bp.post("/receipt/proof")
def receipt_download() -> Response | str | tuple[str, int]:
    """Echo a proof from the receipt page back as a file or a readable page.

    CSRF is checked centrally before this runs. The document must carry this
    deployment's valid signature: anything else is refused with 400, so the
    route only ever serves what it signed itself.
    """
    try:
        verified = proofs().verify(request.form.get("document", "").encode("utf-8"))
    except ProofInvalid:
        return render_template("proof_refused.html"), 400
    # Rebuilt from the verified fields: the answer is the canonical document,
    # never the submitted bytes.
    proof = verified.signed()
    if request.form.get("show") == "page":
        return _page(proof, from_receipt=True)
    return _attachment(proof)


# -- the public key ------------------------------------------------------------


@bp.get(WELL_KNOWN_KEY_PATH)
def signing_key() -> Response:
    """The deployment's public Ed25519 key, which checks every proof and checkpoint."""
    service = proofs()
    body = {
        "algorithm": "Ed25519",
        "key_id": service.key_id,
        "public_key": service.public_key.hex(),
        "signs": ["proof", "checkpoint", "tree-head"],
    }
    return Response(canonical(body) + b"\n", mimetype="application/json")


@bp.get(WELL_KNOWN_HEAD_PATH)
def tree_head() -> Response:
    """The newest signed tree head of the log: what an auditor passes to ``verify --expect``.

    Read from the log on every request (one indexed row): a cached head would
    be older than the log, and anyone may keep each one they fetch.
    """
    head = proofs().tree_head()
    if head is None:
        body = {"error": "no signed tree head yet"}
        return Response(canonical(body) + b"\n", status=404, mimetype="application/json")
    return Response(head.document(), mimetype="application/json")


@bp.get(WELL_KNOWN_CONSISTENCY_PATH)
def consistency() -> Response:
    """The consistency proof between two sizes of the log (RFC 9162, 2.1.4), for witnesses."""
    try:
        old, new = int(request.args.get("old", "")), int(request.args.get("new", ""))
        proof = consistency_between(current_app.extensions["visselpipa.engine"], old, new)
    except (ValueError, WitnessRefused) as e:
        message = str(e) if isinstance(e, WitnessRefused) else "old and new must be whole numbers"
        return Response(
            canonical({"error": message}) + b"\n", status=400, mimetype="application/json"
        )
    return Response(proof_document(old, new, proof), mimetype="application/json")


@bp.get(WELL_KNOWN_COUNTERSIGNATURES_PATH)
def countersignatures_list() -> Response:
    """The newest countersignatures witnesses gave this log's heads (newest first)."""
    found = countersignatures(current_app.extensions["visselpipa.engine"])
    body = {"countersignatures": found}
    return Response(canonical(body) + b"\n", mimetype="application/json")
