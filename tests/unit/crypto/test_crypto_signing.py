"""The deployment's signing key: known answers, domain separation, tamper checks."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import CryptoError
from crypto.signing import Signer, key_id, verify_signature
from tests.unit.crypto.conftest import assert_opaque_failure

# RFC 8032, section 7.1, TEST 1: secret key and the public key it must give.
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")


def test_public_key_matches_rfc8032() -> None:
    assert Signer(RFC8032_SEED).public_key == RFC8032_PUBLIC


def test_signature_matches_an_independent_ed25519_over_the_documented_message() -> None:
    # OpenSSL (through `cryptography`) signs the message as SECURITY.md writes
    # it down; Ed25519 is deterministic, so the bytes must be equal.
    message = b'{"seq":41,"hash":"00ff"}'
    expected = Ed25519PrivateKey.from_private_bytes(RFC8032_SEED).sign(
        b"visselpipa-signature-v1\x00checkpoint\x00" + message
    )
    assert Signer(RFC8032_SEED).sign("checkpoint", message) == expected


def test_key_id_is_stable_and_short() -> None:
    assert key_id(RFC8032_PUBLIC) == Signer(RFC8032_SEED).key_id
    assert len(key_id(RFC8032_PUBLIC)) == 16
    assert key_id(RFC8032_PUBLIC) != key_id(Signer.generate().public_key)


@settings(max_examples=50)
@given(message=st.binary(max_size=300))
def test_round_trip(message: bytes) -> None:
    signer = Signer.generate()
    verify_signature(signer.public_key, "proof", message, signer.sign("proof", message))


def test_every_flipped_byte_of_message_or_signature_is_refused() -> None:
    signer = Signer.generate()
    message = b"case 7f3a received 2026-11-24 commitment 9c..."
    signature = signer.sign("proof", message)
    for i in range(len(message)):
        changed = bytearray(message)
        changed[i] ^= 0x01
        assert_opaque_failure(
            lambda m=bytes(changed): verify_signature(signer.public_key, "proof", m, signature)
        )
    for i in range(len(signature)):
        changed = bytearray(signature)
        changed[i] ^= 0x80
        assert_opaque_failure(
            lambda s=bytes(changed): verify_signature(signer.public_key, "proof", message, s)
        )


def test_another_key_or_domain_or_truncation_is_refused() -> None:
    signer = Signer.generate()
    message = b"head"
    signature = signer.sign("checkpoint", message)
    other = Signer.generate().public_key
    assert_opaque_failure(lambda: verify_signature(other, "checkpoint", message, signature))
    # A checkpoint signature is no proof of submission, and the reverse.
    assert_opaque_failure(lambda: verify_signature(signer.public_key, "proof", message, signature))
    assert_opaque_failure(
        lambda: verify_signature(signer.public_key, "checkpoint", message, signature[:-1])
    )
    assert_opaque_failure(
        lambda: verify_signature(signer.public_key[:-1], "checkpoint", message, signature)
    )


@pytest.mark.parametrize("seed", [b"", b"x" * 31, b"x" * 33])
def test_seed_must_be_32_bytes(seed: bytes) -> None:
    with pytest.raises(CryptoError, match="32 bytes"):
        Signer(seed)


@pytest.mark.parametrize("domain", ["", "a\x00b", "bevis-på-inlämning"])
def test_domain_must_be_plain_ascii(domain: str) -> None:
    with pytest.raises(CryptoError, match="domain"):
        Signer.generate().sign(domain, b"m")


def test_repr_does_not_show_the_seed() -> None:
    seed = bytes(range(32))
    assert seed.hex() not in repr(Signer(seed))
