"""Write tests/data/crypto_vectors.json: known answers for the crypto package.

Run once, from the repository root::

    .venv/bin/python tests/unit/crypto/make_vectors.py

The vectors are computed here straight from the primitives (argon2-cffi,
hashlib, PyNaCl bindings) following the formats written down in the
``crypto`` modules, *without importing ``crypto``*, so the tests compare the
package against a second, independent construction rather than against
itself. All inputs and nonces are fixed; the receipt check characters are
computed by Horner's rule instead of the weight table ``crypto.receipt`` uses.

Sealed boxes and secretstream headers take their randomness inside libsodium,
so the grant, sealed-box and file-stream vectors are decrypt-only: a re-run
writes different ciphertexts for those (all of which must still pass), and the
deterministic vectors come out byte-for-byte the same.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import nacl.bindings as sodium
from argon2.low_level import Type, hash_secret_raw
from nacl.public import PrivateKey, SealedBox

OUT = Path(__file__).resolve().parents[2] / "data" / "crypto_vectors.json"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def receipt_check(data: str) -> str:
    """c = sum_{i=0..18} alpha^(i+1) v_i in GF(32), x^5+x^2+1, by Horner's rule."""

    def times_alpha(a: int) -> int:
        a <<= 1
        return a ^ 0b100101 if a & 0b100000 else a

    acc = 0
    for symbol in reversed(data):
        acc = times_alpha(acc ^ ALPHABET.index(symbol))
    return ALPHABET[acc]


def blake(data: bytes, person: bytes, key: bytes = b"") -> bytes:
    return hashlib.blake2b(data, key=key, digest_size=32, person=person).digest()


def reporter(receipt: str, salt: bytes, t: int, m: int, p: int) -> dict[str, Any]:
    seed = hash_secret_raw(receipt.encode(), salt, t, m, p, 32, Type.ID)
    private = PrivateKey(blake(seed, b"vp.reporter.v1"))
    return {
        "receipt": receipt,
        "tenant_salt": salt.hex(),
        "cost": {"time_cost": t, "memory_kib": m, "parallelism": p},
        "lookup_tag": blake(seed, b"vp.lookup.v1").hex(),
        "public_key": bytes(private.public_key).hex(),
    }


def aead_blob(key: bytes, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
    body = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, b"\x01" + ad, nonce, key)
    return b"\x01" + nonce + body


def bucket(n: int) -> int:
    size = 512
    while size < n + 1 and size < 65536:
        size *= 2
    while size < n + 1:
        size += 65536
    return size


def item_ad(case_id: str, item_id: str) -> bytes:
    return b"visselpipa.item.v1\x00" + case_id.encode() + b"\x00" + item_id.encode()


def main() -> None:
    data_strings = [
        "0000000000000000000",
        "1000000000000000000",
        "0000000000000000001",
        "ZZZZZZZZZZZZZZZZZZZ",
        "0123456789ABCDEFGHJ",
        "KMNPQRSTVWXYZ012345",
        "7K3MQX0DT2GA9WRBHN4",
    ]
    receipts = [{"data": d, "check": receipt_check(d)} for d in data_strings]
    code = "7K3MQX0DT2GA9WRBHN4" + receipt_check("7K3MQX0DT2GA9WRBHN4")

    salt = bytes(range(16))
    reporter_keys = [reporter(code, salt, 1, 8, 1), reporter(code, salt, 2, 1024, 1)]

    key = bytes(range(0x80, 0xA0))
    nonce = bytes(range(0x40, 0x58))
    aead_vectors = [
        {
            "key": key.hex(),
            "nonce": nonce.hex(),
            "associated_data": ad.hex(),
            "plaintext": pt.hex(),
            "blob": aead_blob(key, nonce, pt, ad).hex(),
        }
        for pt, ad in [
            (b"", b""),
            (b"Hej, jag vill anmala en oegentlighet.", b"visselpipa test"),
        ]
    ]

    case_key = bytes(range(0x20, 0x40))
    item_vectors = []
    for case_id, item_id, plaintext in [
        ("case-0001", "body", "Rapporten gäller upphandling.".encode()),
        ("case-0001", "msg-7", b""),
    ]:
        padded = sodium.sodium_pad(plaintext, bucket(len(plaintext)))
        item_vectors.append(
            {
                "case_key": case_key.hex(),
                "case_id": case_id,
                "item_id": item_id,
                "nonce": nonce.hex(),
                "plaintext": plaintext.hex(),
                "blob": aead_blob(case_key, nonce, padded, item_ad(case_id, item_id)).hex(),
            }
        )

    recipient = PrivateKey(bytes(range(0x60, 0x80)))
    grant_case = "case-0001"
    payload = b"VPG1" + len(grant_case.encode()).to_bytes(2, "big") + grant_case.encode()
    grant = {
        "private_key": bytes(recipient).hex(),
        "case_id": grant_case,
        "case_key": case_key.hex(),
        "blob": SealedBox(recipient.public_key).encrypt(payload + case_key).hex(),
    }
    sealed_plaintext = b"sealed to a desk"
    sealed = {
        "private_key": bytes(recipient).hex(),
        "plaintext": sealed_plaintext.hex(),
        "blob": SealedBox(recipient.public_key).encrypt(sealed_plaintext).hex(),
    }

    # Two chunks: one full TAG_MESSAGE chunk, then a padded TAG_FINAL chunk.
    repeat, length = "Visselpipa file stream vector. ", 65536 + 1000
    file_plaintext = (repeat.encode() * (length // len(repeat) + 1))[:length]
    file_case, file_item = "case-0001", "file-1"
    file_key = blake(file_item.encode(), b"vp.file.v1", key=case_key)
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    stream = b"VPF1" + sodium.crypto_secretstream_xchacha20poly1305_init_push(state, file_key)
    ad = item_ad(file_case, file_item)
    stream += sodium.crypto_secretstream_xchacha20poly1305_push(
        state,
        file_plaintext[:65536],
        ad,
        sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
    )
    stream += sodium.crypto_secretstream_xchacha20poly1305_push(
        state,
        sodium.sodium_pad(file_plaintext[65536:], 65536),
        ad,
        sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL,
    )
    file_stream = {
        "case_key": case_key.hex(),
        "case_id": file_case,
        "item_id": file_item,
        "plaintext_repeat": repeat,
        "plaintext_len": length,
        "plaintext_sha256": hashlib.sha256(file_plaintext).hexdigest(),
        "blob_base64": base64.b64encode(stream).decode(),
    }

    password = "Korrekt häst batteri häftklammer"  # NFC already
    user_salt = bytes(range(0xA0, 0xB0))
    wrapping_key = hash_secret_raw(password.encode(), user_salt, 1, 8, 1, 32, Type.ID)
    staff_key = PrivateKey(bytes(range(0xC0, 0xE0)))
    userkey = {
        "password": password,
        "salt": user_salt.hex(),
        "cost": {"time_cost": 1, "memory_kib": 8, "parallelism": 1},
        "private_key": bytes(staff_key).hex(),
        "blob": aead_blob(wrapping_key, nonce, bytes(staff_key), b"visselpipa.userkey.v1").hex(),
    }

    vectors = {
        "_comment": "Generated by tests/unit/crypto/make_vectors.py; do not edit by hand.",
        "receipt_check": receipts,
        "reporter_keys": reporter_keys,
        "aead": aead_vectors,
        "seal_item": item_vectors,
        "grant": grant,
        "sealed_box": sealed,
        "file_stream": file_stream,
        "userkey": userkey,
        "rfc9106_argon2id": {
            "password": "01" * 32,
            "salt": "02" * 16,
            "secret": "03" * 8,
            "associated_data": "04" * 12,
            "time_cost": 3,
            "memory_kib": 32,
            "parallelism": 4,
            "tag": "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659",
        },
    }
    OUT.write_text(json.dumps(vectors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
