"""The checked XChaCha20-Poly1305 layer."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import nacl.bindings
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import aead

Rejects = Callable[[Callable[[], object]], None]
KEY = bytes(range(32))
AD = b"visselpipa.test"


def test_sizes_match_libsodium() -> None:
    assert aead.KEY_BYTES == nacl.bindings.crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32
    assert aead.NONCE_BYTES == nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24
    assert aead.TAG_BYTES == nacl.bindings.crypto_aead_xchacha20poly1305_ietf_ABYTES == 16


@given(st.binary(min_size=32, max_size=32), st.binary(max_size=2048), st.binary(max_size=64))
def test_round_trip(key: bytes, plaintext: bytes, ad: bytes) -> None:
    blob = aead.encrypt(key, plaintext, ad)
    assert len(blob) == len(plaintext) + aead.OVERHEAD_BYTES
    assert blob[0] == aead.VERSION
    assert aead.decrypt(key, blob, ad) == plaintext


def test_each_encryption_draws_a_fresh_nonce() -> None:
    blobs = {aead.encrypt(KEY, b"same", AD) for _ in range(50)}
    assert len(blobs) == 50
    assert len({b[1:25] for b in blobs}) == 50


def test_fixed_nonce_is_used_verbatim() -> None:
    nonce = bytes(24)
    blob = aead.encrypt(KEY, b"x", AD, nonce=nonce)
    assert blob[1:25] == nonce
    assert blob == aead.encrypt(KEY, b"x", AD, nonce=nonce)


def test_every_modified_byte_is_rejected(rejects: Rejects) -> None:
    blob = aead.encrypt(KEY, b"Anmalan om jav i upphandling", AD)
    for position in range(len(blob)):
        for flip in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[position] ^= flip
            rejects(lambda t=bytes(tampered): aead.decrypt(KEY, t, AD))


def test_truncated_or_extended_blobs_are_rejected(rejects: Rejects) -> None:
    blob = aead.encrypt(KEY, b"some plaintext", AD)
    for length in range(len(blob)):
        rejects(lambda n=length: aead.decrypt(KEY, blob[:n], AD))
    rejects(lambda: aead.decrypt(KEY, blob + b"\x00", AD))


def test_wrong_key_or_associated_data_is_rejected(rejects: Rejects) -> None:
    blob = aead.encrypt(KEY, b"x", AD)
    rejects(lambda: aead.decrypt(secrets.token_bytes(32), blob, AD))
    rejects(lambda: aead.decrypt(KEY, blob, AD + b"!"))
    rejects(lambda: aead.decrypt(KEY, blob, b""))


def test_the_version_byte_is_authenticated(rejects: Rejects) -> None:
    # Even if a later version reused this layout, relabelling a v1 blob breaks
    # the tag because the version is part of the associated data.
    blob = aead.encrypt(KEY, b"x", AD)
    for version in (0, 2, 255):
        rejects(lambda v=version: aead.decrypt(KEY, bytes([v]) + blob[1:], AD))
    body = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
        blob[25:], b"\x01" + AD, blob[1:25], KEY
    )
    assert body == b"x"


@pytest.mark.parametrize("key", [b"", bytes(31), bytes(33)])
def test_a_wrong_size_key_is_a_caller_bug(key: bytes) -> None:
    with pytest.raises(ValueError, match="key"):
        aead.encrypt(key, b"x", AD)
    with pytest.raises(ValueError, match="key"):
        aead.decrypt(key, bytes(64), AD)


def test_a_wrong_size_nonce_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="nonce"):
        aead.encrypt(KEY, b"x", AD, nonce=bytes(12))
