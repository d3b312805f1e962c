"""``visselpipa witness …`` (run by an outside party) and ``visselpipa countersignature add``.

A witness keeps a directory of its own (``STATE``)::

    witness.key        its Ed25519 seed (hex, 0600): it signs countersignatures
    deployment.key     the deployment's public key, pinned at ``witness init``
    last-head.json     the newest head it countersigned
    countersignatures/ one file per countersigned head: send them to the deployment
    evidence/          fork evidence: two signed heads that cannot both be true

Exit codes of ``witness check``: 0 countersigned (or nothing new), 1 refused
(a head or proof that is malformed or not signed by the pinned key),
4 a fork: the evidence file is named.
"""

from __future__ import annotations

import os
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import click

from caseflow.service.witness import (
    Countersignature,
    Fork,
    WitnessRefused,
    check_evidence,
    check_head,
    parse_proof,
    record_countersignature,
    witness,
)
from caseflow.store.heads import parse_head
from crypto.signing import Signer, key_id

EXIT_REFUSED = 1
EXIT_FORK = 4
EXIT_INCONCLUSIVE = 3
HEAD_PATH = "/.well-known/visselpipa/tree-head"
CONSISTENCY_PATH = "/.well-known/visselpipa/consistency"
#: What a witness fetches is small: a head, a proof of at most ~64 hashes.
MAX_FETCH_BYTES = 64 * 1024


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _hex_key(text: str, option: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise click.BadParameter("expected 64 hex digits", param_hint=option)
    return key


def _fetch(url: str) -> bytes:
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        raise click.ClickException(f"not an http(s) address: {url}")
    try:
        # The scheme is checked above: no file: or custom schemes.
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310  # nosec B310
            data: bytes = answer.read(MAX_FETCH_BYTES + 1)
    except urllib.error.URLError as e:
        raise click.ClickException(f"cannot fetch {url}: {e}") from None
    if len(data) > MAX_FETCH_BYTES:
        raise click.ClickException(f"{url} answered more than {MAX_FETCH_BYTES} bytes")
    return data


@click.group("witness")
def witness_group() -> None:
    """Witness a deployment's published log heads (run by an outside party)."""


@witness_group.command("init")
@click.argument("state", type=click.Path(file_okay=False, path_type=Path))
@click.option("--deployment-key", required=True, help="The deployment's public key (hex).")
def witness_init(state: Path, deployment_key: str) -> None:
    """Start witnessing: a new witness key, and the deployment's key pinned."""
    key = _hex_key(deployment_key, "--deployment-key")
    if (state / "witness.key").exists():
        raise click.ClickException(f"{state} already holds a witness key")
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    seed = secrets.token_bytes(32)
    _write_private(state / "witness.key", seed.hex().encode() + b"\n")
    _write_private(state / "deployment.key", key.hex().encode() + b"\n")
    public = Signer(seed).public_key
    click.echo(f"witness key: {public.hex()}")
    click.echo(f"witness key id: {key_id(public)}")
    click.echo(
        f"witnessing the deployment key {key_id(key)}; publish your key where both sides see it"
    )


@witness_group.command("check")
@click.argument("state", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--url", help="The deployment's address, e.g. https://visselpipa.example.se")
@click.option(
    "--head",
    "head_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A published head, read from a file instead of --url.",
)
@click.option(
    "--proof",
    "proof_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --head: the consistency proof from the last head seen.",
)
def witness_check(
    state: Path, url: str | None, head_file: Path | None, proof_file: Path | None
) -> None:
    """Check the newest head against the last one seen; countersign it, or write evidence."""
    if (url is None) == (head_file is None):
        raise click.UsageError("give either --url or --head")
    signer = Signer(bytes.fromhex((state / "witness.key").read_text(encoding="ascii").strip()))
    deployment_key = bytes.fromhex((state / "deployment.key").read_text(encoding="ascii").strip())
    last_file = state / "last-head.json"
    seen = parse_head(last_file.read_bytes()) if last_file.exists() else None
    base = (url or "").rstrip("/")
    document = _fetch(base + HEAD_PATH) if head_file is None else head_file.read_bytes()
    try:
        new = check_head(document, deployment_key)
        proof: list[bytes] = []
        if seen is not None and 0 < seen.tree_size < new.tree_size:
            if proof_file is not None:
                raw = proof_file.read_bytes()
            elif url is not None:
                query = urllib.parse.urlencode({"old": seen.tree_size, "new": new.tree_size})
                raw = _fetch(f"{base}{CONSISTENCY_PATH}?{query}")
            else:
                raise click.UsageError("a newer head needs --proof from the last one seen")
            proof = parse_proof(raw, seen.tree_size, new.tree_size)
    except WitnessRefused as e:
        click.echo(f"REFUSED: {e}", err=True)
        sys.exit(EXIT_REFUSED)
    if seen is not None and new.tree_size == seen.tree_size and new.root_hash == seen.root_hash:
        click.echo(f"nothing new: the head of {new.tree_size} events was countersigned before")
        return
    today = datetime.now(UTC).date().isoformat()
    result = witness(seen, new, proof, signer, today)
    if isinstance(result, Fork):
        evidence = state / "evidence"
        evidence.mkdir(mode=0o700, exist_ok=True)
        path = evidence / f"fork-{seen.tree_size if seen else 0}-{new.tree_size}.json"
        _write_private(path, result.document())
        click.echo(f"FORK: {result.reason}; evidence (both signed heads): {path}", err=True)
        sys.exit(EXIT_FORK)
    assert isinstance(result, Countersignature)
    folder = state / "countersignatures"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"{new.tree_size}.json"
    _write_private(path, result.document())
    _write_private(last_file, new.document())
    click.echo(f"countersigned the head of {new.tree_size} events: {path}")


@witness_group.command("check-evidence")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--deployment-key", required=True, help="The deployment's public key (hex).")
def witness_check_evidence(file: Path, deployment_key: str) -> None:
    """Check fork evidence: 0 conclusive, 3 needs a consistency proof, 1 not evidence."""
    key = _hex_key(deployment_key, "--deployment-key")
    try:
        fork, conclusive = check_evidence(file.read_bytes(), key)
    except WitnessRefused as e:
        click.echo(f"NOT EVIDENCE: {e}", err=True)
        sys.exit(EXIT_REFUSED)
    sizes = f"heads of {fork.seen.tree_size} and {fork.now.tree_size} events"
    if conclusive:
        click.echo(f"FORK PROVEN: {fork.reason} ({sizes}, both signed by {key_id(key)})")
        return
    click.echo(
        f"NOT PROVEN: {fork.reason} ({sizes}); ask the deployment for a consistency proof "
        "between the two sizes: a log that is not forked can always give one",
        err=True,
    )
    sys.exit(EXIT_INCONCLUSIVE)


@click.group("countersignature")
def countersignature_group() -> None:
    """Countersignatures that witnesses gave this deployment's heads."""


@countersignature_group.command("add")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def countersignature_add(files: tuple[str, ...]) -> None:
    """Record witnesses' countersignatures in the log (published at
    /.well-known/visselpipa/countersignatures)."""
    from app.cli_staff import _settings, open_database

    settings = _settings()
    deployment_key = Signer(settings.signing_seed).public_key
    engine = open_database(settings)
    today = datetime.now(UTC).date().isoformat()
    refused = 0
    try:
        for name in files:
            try:
                signed, new = record_countersignature(
                    engine, Path(name).read_bytes(), deployment_key, today
                )
            except WitnessRefused as e:
                click.echo(f"REFUSED {name}: {e}", err=True)
                refused += 1
                continue
            witness_id = key_id(signed.witness_key)
            done = "recorded" if new else "already recorded"
            click.echo(
                f"{done}: witness {witness_id} on the head of {signed.head.tree_size} events"
            )
    finally:
        engine.dispose()
    if refused:
        sys.exit(EXIT_REFUSED)


def register(group: click.Group) -> None:
    group.add_command(witness_group)
    group.add_command(countersignature_group)
