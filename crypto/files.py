"""Streaming encryption of uploaded files in constant memory (secretstream).

Format::

    MAGIC ("VPF1") || secretstream header (24 bytes) || chunk_1 || ... || chunk_N

Every chunk is the secretstream encryption of exactly :data:`CHUNK_BYTES` of
plaintext (so :data:`CHUNK_CIPHERTEXT_BYTES` on disk) with
``item_associated_data(case_id, item_id)`` as associated data. Chunks
1..N-1 are full plaintext chunks tagged ``TAG_MESSAGE``; chunk N is tagged
``TAG_FINAL`` and holds the remaining 0..CHUNK_BYTES-1 bytes padded
(ISO/IEC 7816-4, ``sodium_pad``) to CHUNK_BYTES. A file whose length is a
multiple of CHUNK_BYTES therefore ends with a chunk of padding only. The
ciphertext length reveals the file size rounded up to 64 KiB and nothing
finer.

secretstream chains the chunks, so reordering, dropping or duplicating one
breaks authentication; a stream that stops before its ``TAG_FINAL`` chunk is
rejected as truncated, and so is anything after it.

:func:`encrypt_stream` reads from a file object; :class:`StreamSealer` takes
pieces pushed to it (an upload as the request parser receives it). Both
write the same format.

The key of each file is derived from the case key and the item id
(BLAKE2b keyed with the case key, personalised ``vp.file.v1``), so no two
files of a case share a secretstream key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import BinaryIO, Final, Protocol

import nacl.bindings as sodium
import nacl.exceptions

from crypto.errors import DecryptionFailed, FileTooLarge
from crypto.sealing import CaseKey, item_associated_data

__all__ = [
    "CHUNK_BYTES",
    "CHUNK_CIPHERTEXT_BYTES",
    "HEADER_BYTES",
    "MAGIC",
    "Sink",
    "StreamSealer",
    "decrypt_stream",
    "decrypt_to",
    "encrypt_stream",
    "encrypted_size",
]

CHUNK_BYTES: Final = 65536
MAGIC: Final = b"VPF1"
HEADER_BYTES: Final = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
CHUNK_CIPHERTEXT_BYTES: Final = CHUNK_BYTES + sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_TAG_MESSAGE: Final = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL: Final = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_PERSON: Final = b"vp.file.v1"


class Sink(Protocol):
    """Where sealed bytes go: a binary file, or anything else that takes bytes."""

    def write(self, data: bytes, /) -> int: ...


def _file_key(key: CaseKey, item_id: str) -> bytes:
    return hashlib.blake2b(item_id.encode(), key=key.raw, digest_size=32, person=_PERSON).digest()


def _read_up_to(source: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, or fewer only at end of file.

    ``read(n)`` may return fewer than ``n`` bytes before the end (pipes,
    sockets, raw streams), so keep reading until full or empty.
    """
    piece = source.read(size)
    if len(piece) == size or not piece:
        return piece
    pieces = [piece]
    have = len(piece)
    while have < size:
        piece = source.read(size - have)
        if not piece:
            break
        pieces.append(piece)
        have += len(piece)
    return b"".join(pieces)


def encrypted_size(plaintext_len: int) -> int:
    """The exact length of the encrypted form of a ``plaintext_len``-byte file."""
    if plaintext_len < 0:
        raise ValueError("length must not be negative")
    chunks = plaintext_len // CHUNK_BYTES + 1
    return len(MAGIC) + HEADER_BYTES + chunks * CHUNK_CIPHERTEXT_BYTES


class StreamSealer:
    """Push-style encryption of one file: ``write()`` pieces, then ``finish()``.

    For callers that are handed bytes rather than a file to read (a multipart
    parser writing an upload). Writes the magic and header to ``sink`` at once
    and each full chunk as soon as it is complete, so at most one chunk of
    plaintext is buffered whatever the file size.

    .. warning::
       Until :meth:`finish` returns, ``sink`` holds an unfinished stream that
       :func:`decrypt_stream` rejects; after :class:`FileTooLarge` or any other
       error the sealer refuses further use and the caller must discard
       ``sink``. The sealer never closes ``sink``.
    """

    def __init__(
        self,
        key: CaseKey,
        case_id: str,
        item_id: str,
        sink: Sink,
        *,
        max_bytes: int | None = None,
    ) -> None:
        if max_bytes is not None and max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self._ad = item_associated_data(case_id, item_id)
        self._sink = sink
        self._max_bytes = max_bytes
        self._total = 0
        self._buffer = bytearray()
        self._closed = False
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        header = sodium.crypto_secretstream_xchacha20poly1305_init_push(
            self._state, _file_key(key, item_id)
        )
        sink.write(MAGIC + header)

    def write(self, data: bytes) -> int:
        """Add ``data`` to the file; returns ``len(data)``.

        :raises FileTooLarge: as soon as more than ``max_bytes`` have been
            written in total (nothing of the offending piece is encrypted).
        """
        self._check_open()
        self._total += len(data)
        if self._max_bytes is not None and self._total > self._max_bytes:
            # Fail closed: a sealer that went over the limit must never be
            # finished into a valid, silently shortened file.
            self._closed = True
            raise FileTooLarge(self._max_bytes)
        view = memoryview(data)
        if self._buffer:
            taken = CHUNK_BYTES - len(self._buffer)
            self._buffer += view[:taken]
            view = view[taken:]
            if len(self._buffer) < CHUNK_BYTES:
                return len(data)
            self._push(bytes(self._buffer), _TAG_MESSAGE)
            self._buffer.clear()
        while len(view) >= CHUNK_BYTES:
            self._push(bytes(view[:CHUNK_BYTES]), _TAG_MESSAGE)
            view = view[CHUNK_BYTES:]
        self._buffer += view
        return len(data)

    def finish(self) -> int:
        """Write the final chunk and return the number of plaintext bytes."""
        self._check_open()
        self._closed = True
        # The rest (0..CHUNK_BYTES-1 bytes) is padded to a full chunk so the
        # last chunk does not reveal the exact length.
        self._push(sodium.sodium_pad(bytes(self._buffer), CHUNK_BYTES), _TAG_FINAL)
        self._buffer.clear()
        return self._total

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("this file stream is finished or failed; start a new one")

    def _push(self, plaintext: bytes, tag: int) -> None:
        try:
            chunk = sodium.crypto_secretstream_xchacha20poly1305_push(
                self._state, plaintext, self._ad, tag
            )
        except BaseException:
            self._closed = True
            raise
        self._sink.write(chunk)


def encrypt_stream(
    key: CaseKey,
    case_id: str,
    item_id: str,
    source: BinaryIO,
    sink: BinaryIO,
    *,
    max_bytes: int | None = None,
) -> int:
    """Encrypt ``source`` into ``sink`` one chunk at a time.

    Memory use does not depend on the file size: ``source`` is read
    :data:`CHUNK_BYTES` at a time and at most a few chunks are held at once.

    .. warning::
       On :class:`FileTooLarge` (or any error) ``sink`` holds a partial,
       unfinished stream; the caller must discard it.

    :returns: the number of plaintext bytes read.
    :raises FileTooLarge: as soon as more than ``max_bytes`` have been read.
    """
    sealer = StreamSealer(key, case_id, item_id, sink, max_bytes=max_bytes)
    while piece := source.read(CHUNK_BYTES):
        sealer.write(piece)
    return sealer.finish()


def decrypt_stream(key: CaseKey, case_id: str, item_id: str, source: BinaryIO) -> Iterator[bytes]:
    """Yield the plaintext of an encrypted file piece by piece.

    .. warning::
       Each piece is authenticated before it is yielded, but truncation and
       trailing data can only be detected at the end. Do not act on (serve,
       parse, hand over) the plaintext until the iterator has finished without
       raising; on :class:`DecryptionFailed` throw away what was received.

    :raises DecryptionFailed: on a bad magic or header, a wrong key, case or
        item, any modified, missing, reordered or appended chunk, a missing
        final chunk, or bad padding.
    """
    ad = item_associated_data(case_id, item_id)
    file_key = _file_key(key, item_id)
    start = _read_up_to(source, len(MAGIC) + HEADER_BYTES)
    if len(start) != len(MAGIC) + HEADER_BYTES or start[: len(MAGIC)] != MAGIC:
        raise DecryptionFailed()
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, start[len(MAGIC) :], file_key)
    except nacl.exceptions.CryptoError:
        raise DecryptionFailed() from None
    while True:
        chunk = _read_up_to(source, CHUNK_CIPHERTEXT_BYTES)
        # Empty: the stream stopped before TAG_FINAL (truncated at a chunk
        # boundary). Short: truncated inside a chunk.
        if len(chunk) != CHUNK_CIPHERTEXT_BYTES:
            raise DecryptionFailed()
        try:
            plaintext, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, chunk, ad)
            if tag == _TAG_FINAL:
                plaintext = sodium.sodium_unpad(plaintext, CHUNK_BYTES)
        except nacl.exceptions.CryptoError:
            raise DecryptionFailed() from None
        if tag == _TAG_MESSAGE:
            yield plaintext
            continue
        # Only our two tags are valid (PUSH/REKEY are never written), and
        # nothing may follow the final chunk. Checked before the last yield so
        # that a caller who sees the final piece has seen a complete stream.
        if tag != _TAG_FINAL or source.read(1):
            raise DecryptionFailed()
        if plaintext:
            yield plaintext
        return


def decrypt_to(key: CaseKey, case_id: str, item_id: str, source: BinaryIO, sink: BinaryIO) -> int:
    """Decrypt an encrypted file from ``source`` into ``sink``.

    .. warning::
       On :class:`DecryptionFailed`, ``sink`` may already hold some verified
       chunks of a stream that is incomplete or corrupt; discard it.

    :returns: the number of plaintext bytes written.
    :raises DecryptionFailed: see :func:`decrypt_stream`.
    """
    total = 0
    for piece in decrypt_stream(key, case_id, item_id, source):
        sink.write(piece)
        total += len(piece)
    return total
