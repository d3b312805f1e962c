"""SECURITY.md's protocol is exact: an independent decoder opens a stored case.

This test imports nothing from ``crypto`` or the services to decrypt: only
libsodium (PyNaCl bindings), hashlib, argon2-cffi and raw SQL, following the
text of SECURITY.md. If the code and the document drift apart, it fails.
"""

from __future__ import annotations

import hashlib
import io
import json

import nacl.bindings as sodium
import sqlalchemy as sa
from argon2.low_level import Type, hash_secret_raw
from nacl.public import PrivateKey, SealedBox

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
    blob = (deployment.settings.data_dir / "blobs" / file_id).read_bytes()
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
