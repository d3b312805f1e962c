"""A thin, checked layer over XChaCha20-Poly1305-IETF (libsodium).

Blob format::

    version (1 byte, = VERSION) || nonce (24 bytes) || ciphertext || tag (16 bytes)

The version byte is prepended to the associated data that is actually
authenticated, so changing it breaks the tag rather than silently selecting a
different format. 24-byte nonces are long enough to draw at random for every
message without counting.
"""

from __future__ import annotations

import secrets
from typing import Final

import nacl.bindings
import nacl.exceptions

from crypto.errors import DecryptionFailed

__all__ = [
    "KEY_BYTES",
    "NONCE_BYTES",
    "OVERHEAD_BYTES",
    "TAG_BYTES",
    "VERSION",
    "decrypt",
    "encrypt",
]

# The sizes are fixed by the XChaCha20-Poly1305 construction (a test checks
# them against libsodium's constants).
KEY_BYTES: Final = 32
NONCE_BYTES: Final = 24
TAG_BYTES: Final = 16
VERSION: Final = 1
_HEADER: Final = bytes([VERSION])
#: Bytes a blob has beyond its plaintext.
OVERHEAD_BYTES: Final = len(_HEADER) + NONCE_BYTES + TAG_BYTES


def _check_key(key: bytes) -> None:
    # A key of the wrong size is a bug in the caller, not an attack: say so
    # plainly instead of folding it into DecryptionFailed.
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ValueError(f"key must be {KEY_BYTES} bytes")


def encrypt(
    key: bytes, plaintext: bytes, associated_data: bytes, *, nonce: bytes | None = None
) -> bytes:
    """Encrypt and authenticate ``plaintext``, binding it to ``associated_data``.

    ``associated_data`` is not stored in the blob; the same bytes must be
    given to :func:`decrypt`.

    .. warning::
       Leave ``nonce`` as ``None`` (a fresh random nonce). The parameter exists
       only for known-answer tests: reusing a nonce with the same key reveals
       the XOR of the plaintexts and lets an attacker forge messages.

    :raises ValueError: if ``key`` or ``nonce`` has the wrong length.
    """
    _check_key(key)
    if nonce is None:
        nonce = secrets.token_bytes(NONCE_BYTES)
    elif len(nonce) != NONCE_BYTES:
        raise ValueError(f"nonce must be {NONCE_BYTES} bytes")
    sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        plaintext, _HEADER + associated_data, nonce, key
    )
    return _HEADER + nonce + sealed


def decrypt(key: bytes, blob: bytes, associated_data: bytes) -> bytes:
    """Verify and decrypt a blob made by :func:`encrypt`.

    :raises DecryptionFailed: for every kind of bad input (unknown version,
        too short, wrong key, wrong associated data, any modified byte).
    :raises ValueError: if ``key`` has the wrong length (a caller bug).
    """
    _check_key(key)
    if len(blob) < OVERHEAD_BYTES or blob[:1] != _HEADER:
        raise DecryptionFailed()
    nonce = blob[1 : 1 + NONCE_BYTES]
    try:
        return nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            blob[1 + NONCE_BYTES :], _HEADER + associated_data, nonce, key
        )
    except nacl.exceptions.CryptoError:
        # One error, no chained cause: which check failed stays unknown.
        raise DecryptionFailed() from None
