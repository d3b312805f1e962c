"""Length hiding: pad plaintexts to a few bucket sizes before encryption.

Small items go to powers of two from 512 bytes (a one-line message and a
300-character report look the same); above 64 KiB the buckets are 64 KiB
apart, which bounds the overhead to 64 KiB while still blurring lengths.
Padding is ISO/IEC 7816-4 (0x80 then zeros) through libsodium's
``sodium_pad``; there is always at least one padding byte.
"""

from __future__ import annotations

from typing import Final

import nacl.bindings
import nacl.exceptions

from crypto.errors import DecryptionFailed

__all__ = ["LARGE_STEP", "MIN_BUCKET", "bucket_size", "pad", "unpad"]

MIN_BUCKET: Final = 512
LARGE_STEP: Final = 65536


def bucket_size(n: int) -> int:
    """The padded length of an ``n``-byte plaintext.

    The smallest power of two that is at least ``n + 1`` (room for the 0x80
    marker) and at least :data:`MIN_BUCKET`; above :data:`LARGE_STEP`, the
    smallest multiple of :data:`LARGE_STEP` that is at least ``n + 1``.

    :raises ValueError: if ``n`` is negative.
    """
    if n < 0:
        raise ValueError("length must not be negative")
    needed = n + 1
    if needed > LARGE_STEP:
        return -(-needed // LARGE_STEP) * LARGE_STEP
    return max(MIN_BUCKET, 1 << (needed - 1).bit_length())


def pad(data: bytes) -> bytes:
    """Pad ``data`` to exactly ``bucket_size(len(data))`` bytes."""
    size = bucket_size(len(data))
    # Every bucket is a multiple of the block size used here and n < size, so
    # sodium_pad's "next multiple of blocksize" lands exactly on the bucket.
    padded = nacl.bindings.sodium_pad(data, min(size, LARGE_STEP))
    if len(padded) != size:  # pragma: no cover - would be a libsodium change
        raise AssertionError("sodium_pad did not produce the bucket size")
    return padded


def unpad(data: bytes) -> bytes:
    """Strip the padding added by :func:`pad`.

    Only ever called on content that was just authenticated, so a failure
    here means a bug or a key compromise, not a random corruption; it is still
    reported as :class:`DecryptionFailed` so that it looks like any other
    failure.

    :raises DecryptionFailed: if the padding is malformed or is not the one
        :func:`pad` would have produced (wrong bucket for the length).
    """
    size = len(data)
    if size < MIN_BUCKET:
        raise DecryptionFailed()
    try:
        unpadded = nacl.bindings.sodium_unpad(data, min(size, LARGE_STEP))
    except nacl.exceptions.CryptoError:
        raise DecryptionFailed() from None
    # Accept only canonical padding, so one plaintext has one padded form.
    if bucket_size(len(unpadded)) != size:
        raise DecryptionFailed()
    return unpadded
