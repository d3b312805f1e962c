"""SECURITY.md's protocol is exact: an independent decoder opens a stored case.

This test imports nothing from ``crypto`` or the services to decrypt: only
libsodium (PyNaCl bindings), hashlib, argon2-cffi and raw SQL, following the
text of SECURITY.md. If the code and the document drift apart, it fails.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tomllib
import unicodedata
from pathlib import Path

import nacl.bindings as sodium
import sqlalchemy as sa
from argon2.low_level import Type, hash_secret_raw
from click.testing import CliRunner
from nacl.public import PrivateKey, SealedBox
from nacl.signing import SigningKey, VerifyKey

from app import create_app
from app.cli import main
from config.settings import load_settings
from tests.functional.blobs import stored_blob
from tests.functional.conftest import Deployment, cli_env
from tests.functional.pages import open_status, receipt_from, submit_report

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ad(case_id: str, item_id: str) -> bytes:
    return b"visselpipa.item.v1\x00" + case_id.encode() + b"\x00" + item_id.encode()


def _unpad(padded: bytes) -> bytes:
    end = padded.rstrip(b"\x00")
    assert end.endswith(b"\x80")
    return end[:-1]


def _open_item(key: bytes, case_id: str, item_id: str, blob: bytes) -> bytes:
    assert blob[0] == 1
    nonce, ciphertext = blob[1:25], blob[25:]
    padded = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        ciphertext, b"\x01" + _ad(case_id, item_id), nonce, key
    )
    return _unpad(padded)


def _open_grant(sealed: bytes, case_id: str, private: PrivateKey) -> bytes:
    payload = SealedBox(private).decrypt(sealed)
    encoded = case_id.encode()
    assert payload[:4] == b"VPG1"
    assert int.from_bytes(payload[4:6], "big") == len(encoded)
    assert payload[6 : 6 + len(encoded)] == encoded
    return payload[6 + len(encoded) :]


def _decrypt_file(key: bytes, case_id: str, file_id: str, blob: bytes) -> bytes:
    item = f"file:{file_id}"
    file_key = hashlib.blake2b(
        item.encode(), key=key, digest_size=32, person=b"vp.file.v1"
    ).digest()
    assert blob[:4] == b"VPF1"
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, blob[4:28], file_key)
    out, rest, size = [], blob[28:], 65536 + 17
    while rest:
        chunk, rest = rest[:size], rest[size:]
        message, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(
            state, chunk, _ad(case_id, item)
        )
        if tag == sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL:
            assert rest == b""
            out.append(_unpad(message))
        else:
            out.append(message)
    return b"".join(out)


def _receipt_secret(typed: str) -> bytes:
    canonical = typed.upper().replace("-", "")

    # The check character, recomputed from the definition in SECURITY.md.
    def mul(a: int, b: int) -> int:
        r = 0
        while b:
            if b & 1:
                r ^= a
            b >>= 1
            a <<= 1
            if a & 0b100000:
                a ^= 0b100101
        return r

    check, alpha_power = 0, 1
    for ch in canonical[:19]:
        alpha_power = mul(alpha_power, 2)
        check ^= mul(alpha_power, ALPHABET.index(ch))
    assert ALPHABET[check] == canonical[19]
    return canonical.encode()


def test_an_independent_decoder_following_security_md_opens_the_case(deployment, client):
    contents = b"row 1\n" * 20000  # two file chunks
    status, page = submit_report(
        client,
        what="Independent decoders must read this report.",
        contact_choice="give",
        contact="signal: +46 70 000 00 00",
        files=(io.BytesIO(contents), "rows.csv"),
    )
    receipt = receipt_from(page)
    open_status(client, receipt)  # the reporter path works too (checked elsewhere)

    with deployment.engine.connect() as conn:
        desk_grant = conn.execute(
            sa.text(
                "SELECT case_id, sealed_key FROM grants WHERE recipient = 'desk:anticorruption'"
            )
        ).one()
        events = conn.execute(
            sa.text("SELECT type, meta, body FROM events WHERE stream_id = :c ORDER BY version"),
            {"c": desk_grant.case_id},
        ).all()
        index_rows = conn.execute(sa.text("SELECT lookup_tag, case_id FROM reporter_index")).all()
        reporter_grant = conn.execute(
            sa.text("SELECT sealed_key FROM grants WHERE recipient = 'reporter'")
        ).scalar_one()
    case_id = desk_grant.case_id

    # As the desk.
    key = _open_grant(desk_grant.sealed_key, case_id, deployment.desk_keys["anticorruption"])
    by_type = {e.type: e for e in events}
    report = json.loads(_open_item(key, case_id, "report", by_type["ReportReceived"].body))
    assert report["what"] == "Independent decoders must read this report."
    assert _open_item(key, case_id, "contact", by_type["ReporterContactProvided"].body) == (
        b"signal: +46 70 000 00 00"
    )
    file_event = by_type["ReporterFileAdded"]
    file_id = json.loads(file_event.meta)["file_id"]
    described = json.loads(_open_item(key, case_id, f"file-meta:{file_id}", file_event.body))
    assert described["name"] == "rows.csv" and described["size"] == len(contents)
    blob = stored_blob(deployment.engine, file_id)
    assert _decrypt_file(key, case_id, file_id, blob) == contents

    # As the reporter, from the receipt alone.
    cost = deployment.settings.kdf
    seed = hash_secret_raw(
        _receipt_secret(receipt),
        deployment.settings.tenant_salt,
        cost.time_cost,
        cost.memory_kib,
        cost.parallelism,
        32,
        Type.ID,
    )
    tag = hashlib.blake2b(seed, digest_size=32, person=b"vp.lookup.v1").digest()
    assert [row.case_id for row in index_rows if row.lookup_tag == tag] == [case_id]
    reporter_sk = PrivateKey(
        hashlib.blake2b(seed, digest_size=32, person=b"vp.reporter.v1").digest()
    )
    assert _open_grant(reporter_grant, case_id, reporter_sk) == key


# --- the signed tree head and the inclusion proof, as SECURITY.md writes them --------


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 MTH over leaf data, recursively, with hashlib alone."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _canonical(fields: dict) -> bytes:  # type: ignore[type-arg]
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _check_signature(public_key: bytes, domain: bytes, fields: dict, signature: str) -> None:  # type: ignore[type-arg]
    message = b"visselpipa-signature-v1\x00" + domain + b"\x00" + _canonical(fields)
    VerifyKey(public_key).verify(message, bytes.fromhex(signature))


def _root_from_path(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2, step by step."""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        assert sn != 0
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0
    return r


def test_an_independent_verifier_checks_the_tree_head_and_the_inclusion_proof(deployment, client):
    from datetime import datetime

    from caseflow.clock import STOCKHOLM
    from caseflow.store import sign_checkpoint
    from crypto.signing import Signer

    status, page = submit_report(client, what="Granskaren räknar själv.")
    receipt = receipt_from(page)
    for what in ("En till.", "Och en till."):
        submit_report(deployment.client(), what=what)
    # The deployment signs a head (as its tick does); everything after this
    # line uses only hashlib, PyNaCl's Ed25519 and raw SQL.
    signer = Signer(deployment.settings.signing_seed)
    sign_checkpoint(deployment.engine, signer, datetime(2026, 12, 1, 9, tzinfo=STOCKHOLM))

    published_key = client.get("/.well-known/visselpipa-signing-key").get_json()
    public_key = bytes.fromhex(published_key["public_key"])
    key_id = hashlib.blake2b(public_key, digest_size=8, person=b"vp-key-id").hexdigest()
    head = json.loads(client.get("/.well-known/visselpipa/tree-head").data)

    with deployment.engine.connect() as conn:
        hashes = [
            bytes(r.hash) for r in conn.execute(sa.text("SELECT hash FROM events ORDER BY seq"))
        ]
        stored_meta = conn.execute(
            sa.text("SELECT meta FROM events WHERE stream_id = 'checkpoints' ORDER BY version DESC")
        ).scalar()
    assert json.loads(stored_meta) == head  # the checkpoint event's meta is the head

    assert head["format"] == "visselpipa-tree-head" and head["version"] == 1
    assert head["key_id"] == key_id
    size = head["tree_size"]
    assert size == len(hashes) - 1  # every event before the checkpoint itself
    assert head["root_hash"] == _mth(hashes[:size]).hex()
    assert head["head_hash"] == hashes[size - 1].hex()
    _check_signature(
        public_key,
        b"tree-head",
        {k: v for k, v in head.items() if k != "signature"},
        head["signature"],
    )

    open_status(client, receipt)
    proof = json.loads(client.get("/status/proof.json").data)
    assert proof["version"] == 2 and proof["tree_head"] == head
    outer = {k: v for k, v in proof.items() if k not in ("signature", "tree_head", "inclusion")}
    _check_signature(public_key, b"proof", outer, proof["signature"])
    leaf = hashlib.sha256(b"\x00" + bytes.fromhex(proof["event_hash"])).digest()
    path = [bytes.fromhex(h) for h in proof["inclusion"]]
    assert _root_from_path(leaf, proof["leaf_index"], size, path).hex() == head["root_hash"]
    # The leaf is the case's ReportReceived event.
    with deployment.engine.connect() as conn:
        seq, event_hash = conn.execute(
            sa.text(
                "SELECT seq, hash FROM events WHERE stream_id = :c AND type = 'ReportReceived'"
            ),
            {"c": proof["case"]},
        ).one()
    assert (proof["leaf_index"], proof["event_hash"]) == (seq - 1, bytes(event_hash).hex())


# --- stored costs, the tenant salt's encoding, staff keys, fingerprints ----------------

SECURITY_MD = Path(__file__).resolve().parents[2] / "SECURITY.md"


def _documented_cost_pattern(document: str) -> re.Pattern[str]:
    """The stored-cost grammar as SECURITY.md writes it, turned into a regex."""
    line = re.search(r"^argon2id\$v=<[^\n]*\$<salt role>$", document, re.M)
    assert line, "SECURITY.md no longer gives the stored-cost grammar"
    pattern = re.escape(line.group(0))
    for placeholder, group in (
        ("<version, decimal>", "(?P<v>[0-9]+)"),
        ("<memory KiB>", "(?P<m>[0-9]+)"),
        ("<passes>", "(?P<t>[0-9]+)"),
        ("<lanes>", "(?P<p>[0-9]+)"),
        ("<salt role>", "(?P<salt>[a-z_]+)"),
    ):
        pattern = pattern.replace(re.escape(placeholder), group)
    return re.compile(pattern)


def _documented_person(document: str, name: str) -> bytes:
    match = re.search(rf"^{name}\s+BLAKE2b-256\([^\n]*person = \"([^\"]+)\"\)$", document, re.M)
    assert match, f"SECURITY.md no longer gives the fingerprint of {name}"
    return match.group(1).encode()


def _derive(pattern: re.Pattern[str], stored: str, salt_role: str, secret: bytes, salt: bytes):
    cost = pattern.fullmatch(stored)
    assert cost and cost["salt"] == salt_role, stored
    return hash_secret_raw(
        secret,
        salt,
        int(cost["t"]),
        int(cost["m"]),
        int(cost["p"]),
        32,
        Type.ID,
        version=int(cost["v"]),
    )


def test_a_decoder_reads_the_costs_the_salt_and_the_staff_key_as_security_md_says(
    database_url, tmp_path
):
    document = SECURITY_MD.read_text(encoding="utf-8")
    userkey_ad = re.search(r'AD = 0x01 \|\| "(visselpipa\.userkey\.v[0-9]+)"', document)
    assert userkey_ad, "SECURITY.md no longer gives the staff key's associated data"
    pattern = _documented_cost_pattern(document)

    # A deployment set up the documented way: init, add-user, add-desk-member.
    data = tmp_path / "data"
    env = cli_env(database_url, data)
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    password = "Åsa går på ön i november"  # NFC matters: å and ö
    password_file = tmp_path / "password.txt"
    password_file.write_text(unicodedata.normalize("NFD", password) + "\n", encoding="utf-8")
    for command in (
        ["add-user", "berit", "--role", "investigator", "--password-file", str(password_file)],
        [
            "add-desk-member",
            "anticorruption",
            "berit",
            "--recovery-key",
            str(data / "recovery-key.txt"),
        ],
    ):
        result = runner.invoke(main, command, env=env)
        assert result.exit_code == 0, result.output
    app = create_app(load_settings(environ=env), {"TESTING": True})
    try:
        deployment = Deployment(
            app, app.config["VISSELPIPA"], app.extensions["visselpipa.engine"], {}
        )
        status, page = submit_report(deployment.client(), what="Read with what the page names.")
        receipt = receipt_from(page)
        engine = app.extensions["visselpipa.engine"]
        with engine.connect() as conn:
            index = conn.execute(
                sa.text("SELECT lookup_tag, case_id, kdf FROM reporter_index")
            ).all()
            staff = conn.execute(
                sa.text(
                    "SELECT id, key_salt, key_kdf, wrapped_private_key FROM staff "
                    "WHERE username = 'berit'"
                )
            ).one()
            sealed_desk_key = conn.execute(
                sa.text("SELECT sealed_desk_key FROM desk_members WHERE staff_id = :s"),
                {"s": staff.id},
            ).scalar_one()
            grants = dict(conn.execute(sa.text("SELECT recipient, sealed_key FROM grants")).all())
            fingerprints = dict(
                conn.execute(sa.text("SELECT name, fingerprint FROM deployment_fingerprints")).all()
            )
    finally:
        app.extensions["visselpipa.engine"].dispose()

    # The tenant salt: 32 hex digits in secrets.toml, 16 bytes in the derivation.
    with (data / "secrets.toml").open("rb") as f:
        secrets_file = tomllib.load(f)
    assert re.fullmatch(r"[0-9a-f]{32}", secrets_file["tenant_salt"])
    tenant_salt = bytes.fromhex(secrets_file["tenant_salt"])

    # The reporter: one derivation per stored cost, the tag on a row of that cost.
    case_key = None
    for stored in sorted({row.kdf for row in index}):
        seed = _derive(pattern, stored, "tenant_salt", _receipt_secret(receipt), tenant_salt)
        tag = hashlib.blake2b(seed, digest_size=32, person=b"vp.lookup.v1").digest()
        rows = [r for r in index if bytes(r.lookup_tag) == tag and r.kdf == stored]
        if rows:
            reporter_sk = PrivateKey(
                hashlib.blake2b(seed, digest_size=32, person=b"vp.reporter.v1").digest()
            )
            case_key = _open_grant(grants["reporter"], rows[0].case_id, reporter_sk)
            case_id = rows[0].case_id
    assert case_key is not None, "the receipt opened nothing"

    # The staff member: their own salt and stored cost, NFC password, the documented AD.
    wrapping_key = _derive(
        pattern,
        staff.key_kdf,
        "key_salt",
        unicodedata.normalize("NFC", password).encode("utf-8"),
        bytes(staff.key_salt),
    )
    blob = bytes(staff.wrapped_private_key)
    assert blob[0] == 1
    member_sk = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        blob[25:], b"\x01" + userkey_ad.group(1).encode(), blob[1:25], wrapping_key
    )
    desk_sk = SealedBox(PrivateKey(member_sk)).decrypt(bytes(sealed_desk_key))
    assert _open_grant(grants["desk:anticorruption"], case_id, PrivateKey(desk_sk)) == case_key

    # The fingerprints, from the documented personalisations.
    signing_public = bytes(SigningKey(bytes.fromhex(secrets_file["signing_seed"])).verify_key)
    assert {name: bytes(value) for name, value in fingerprints.items()} == {
        "tenant_salt": hashlib.blake2b(
            tenant_salt, digest_size=32, person=_documented_person(document, "tenant_salt")
        ).digest(),
        "signing_key": hashlib.blake2b(
            signing_public, digest_size=32, person=_documented_person(document, "signing_key")
        ).digest(),
    }
