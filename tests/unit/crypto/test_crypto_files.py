"""Streaming file encryption: round trips, tampering, limits, constant memory."""

from __future__ import annotations

import io
import random
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import FileTooLarge
from crypto.files import (
    CHUNK_BYTES,
    CHUNK_CIPHERTEXT_BYTES,
    HEADER_BYTES,
    MAGIC,
    StreamSealer,
    decrypt_stream,
    decrypt_to,
    encrypt_stream,
    encrypted_size,
)
from crypto.sealing import CaseKey

Rejects = Callable[[Callable[[], object]], None]
CASE, ITEM = "case-1", "file-1"
START = len(MAGIC) + HEADER_BYTES


class PatternReader(io.RawIOBase):
    """A source of ``size`` bytes made up on the fly, never held in memory.

    ``max_read`` caps each read, as a pipe or socket would.
    """

    def __init__(self, size: int, max_read: int | None = None) -> None:
        self.remaining = size
        self.max_read = max_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.remaining)
        if self.max_read is not None:
            n = min(n, self.max_read)
        buffer[:n] = b"\xa5" * n
        self.remaining -= n
        return n


class CountingSink(io.RawIOBase):
    """Discards what it is given, keeping only the count."""

    def __init__(self) -> None:
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.count += len(data)
        return len(data)


def encrypt(key: CaseKey, plaintext: bytes, case_id: str = CASE, item_id: str = ITEM) -> bytes:
    sink = io.BytesIO()
    assert encrypt_stream(key, case_id, item_id, io.BytesIO(plaintext), sink) == len(plaintext)
    return sink.getvalue()


def decrypt(key: CaseKey, blob: bytes, case_id: str = CASE, item_id: str = ITEM) -> bytes:
    return b"".join(decrypt_stream(key, case_id, item_id, io.BytesIO(blob)))


def chunk(blob: bytes, index: int) -> bytes:
    start = START + index * CHUNK_CIPHERTEXT_BYTES
    return blob[start : start + CHUNK_CIPHERTEXT_BYTES]


def with_chunks(blob: bytes, chunks: list[bytes]) -> bytes:
    return blob[:START] + b"".join(chunks)


SIZES = [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES, 3 * CHUNK_BYTES + 7]


class TestRoundTrip:
    @settings(max_examples=15, deadline=None)
    @given(st.one_of(st.sampled_from(SIZES), st.integers(0, 4 * CHUNK_BYTES)), st.integers())
    def test_round_trip(self, size: int, seed: int) -> None:
        key = CaseKey.generate()
        plaintext = random.Random(seed).randbytes(size)
        blob = encrypt(key, plaintext)
        assert len(blob) == encrypted_size(size)
        assert decrypt(key, blob) == plaintext

    @pytest.mark.parametrize("size", SIZES)
    def test_boundary_sizes(self, size: int) -> None:
        key = CaseKey.generate()
        plaintext = random.randbytes(size)
        blob = encrypt(key, plaintext)
        assert blob.startswith(MAGIC)
        # Every chunk, the last included, holds a full CHUNK_BYTES of plaintext.
        assert len(blob) == START + (size // CHUNK_BYTES + 1) * CHUNK_CIPHERTEXT_BYTES
        assert decrypt(key, blob) == plaintext
        sink = io.BytesIO()
        assert decrypt_to(key, CASE, ITEM, io.BytesIO(blob), sink) == size
        assert sink.getvalue() == plaintext

    def test_size_is_revealed_only_to_64_kib(self) -> None:
        key = CaseKey.generate()
        assert len({len(encrypt(key, bytes(n))) for n in (0, 1, 1000, CHUNK_BYTES - 1)}) == 1

    def test_short_reads_from_the_source_are_handled(self) -> None:
        key = CaseKey.generate()
        size = 3 * CHUNK_BYTES + 123
        sink = io.BytesIO()
        source = cast(BinaryIO, PatternReader(size, max_read=1000))
        assert encrypt_stream(key, CASE, ITEM, source, sink) == size
        assert decrypt(key, sink.getvalue()) == b"\xa5" * size

    def test_each_file_gets_its_own_key(self) -> None:
        key = CaseKey.generate()
        a = encrypt(key, b"same", item_id="file-1")
        b = encrypt(key, b"same", item_id="file-2")
        assert decrypt(key, a, item_id="file-1") == decrypt(key, b, item_id="file-2")


class TestLimit:
    def test_a_file_at_the_limit_is_accepted(self) -> None:
        key = CaseKey.generate()
        for size in (0, CHUNK_BYTES, 2 * CHUNK_BYTES + 5):
            src = io.BytesIO(bytes(size))
            assert encrypt_stream(key, CASE, ITEM, src, io.BytesIO(), max_bytes=size) == size

    def test_one_byte_over_the_limit_is_refused(self) -> None:
        key = CaseKey.generate()
        with pytest.raises(FileTooLarge) as info:
            encrypt_stream(key, CASE, ITEM, io.BytesIO(bytes(1001)), io.BytesIO(), max_bytes=1000)
        assert info.value.limit == 1000

    def test_an_endless_source_is_stopped_early(self) -> None:
        source = PatternReader(2**62)
        with pytest.raises(FileTooLarge):
            encrypt_stream(
                CaseKey.generate(),
                CASE,
                ITEM,
                cast(BinaryIO, source),
                cast(BinaryIO, CountingSink()),
                max_bytes=10 * CHUNK_BYTES,
            )
        assert 2**62 - source.remaining <= 11 * CHUNK_BYTES


class TestStreamSealer:
    """The push-style form used for uploads writes the same format."""

    @settings(max_examples=15, deadline=None)
    @given(
        st.one_of(st.sampled_from(SIZES), st.integers(0, 3 * CHUNK_BYTES)),
        st.lists(st.integers(0, 2 * CHUNK_BYTES + 3), max_size=8),
        st.integers(),
    )
    def test_any_split_into_writes_gives_a_valid_stream(
        self, size: int, cuts: list[int], seed: int
    ) -> None:
        key = CaseKey.generate()
        plaintext = random.Random(seed).randbytes(size)
        bounds = sorted({0, size, *(c for c in cuts if c < size)})
        sink = io.BytesIO()
        sealer = StreamSealer(key, CASE, ITEM, sink)
        for start, end in zip(bounds, bounds[1:], strict=False):
            assert sealer.write(plaintext[start:end]) == end - start
        sealer.write(b"")
        assert sealer.finish() == size
        assert len(sink.getvalue()) == encrypted_size(size)
        assert decrypt(key, sink.getvalue()) == plaintext

    def test_a_finished_sealer_refuses_more(self) -> None:
        sealer = StreamSealer(CaseKey.generate(), CASE, ITEM, io.BytesIO())
        sealer.write(b"abc")
        sealer.finish()
        with pytest.raises(ValueError):
            sealer.write(b"more")
        with pytest.raises(ValueError):
            sealer.finish()

    def test_over_the_limit_it_fails_and_stays_failed(self, rejects: Rejects) -> None:
        key = CaseKey.generate()
        sink = io.BytesIO()
        sealer = StreamSealer(key, CASE, ITEM, sink, max_bytes=CHUNK_BYTES)
        sealer.write(bytes(CHUNK_BYTES))  # exactly at the limit: fine
        with pytest.raises(FileTooLarge) as info:
            sealer.write(b"x")
        assert info.value.limit == CHUNK_BYTES
        # Fail closed: it cannot be finished into a valid, shortened file.
        with pytest.raises(ValueError):
            sealer.finish()
        rejects(lambda: decrypt(key, sink.getvalue()))

    def test_many_small_writes_stay_under_1_mib(self) -> None:
        piece = b"\x5a" * 4096
        sink = CountingSink()
        tracemalloc.start()
        try:
            sealer = StreamSealer(CaseKey.generate(), CASE, ITEM, cast(BinaryIO, sink))
            for _ in range(20 * 2**20 // len(piece)):
                sealer.write(piece)
            sealer.finish()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert sink.count == encrypted_size(20 * 2**20)
        assert peak < 2**20, f"peak {peak} bytes"


@pytest.fixture(scope="module")
def sample() -> tuple[CaseKey, bytes]:
    """A three-chunk stream: two TAG_MESSAGE chunks and a TAG_FINAL one."""
    key = CaseKey.generate()
    return key, encrypt(key, random.randbytes(2 * CHUNK_BYTES + 100))


class TestTampering:
    def test_a_byte_in_every_region_is_checked(
        self, sample: tuple[CaseKey, bytes], rejects: Rejects
    ) -> None:
        key, blob = sample
        positions = list(range(START))  # every byte of magic and header
        for index in range(3):
            base = START + index * CHUNK_CIPHERTEXT_BYTES
            # The first 17 bytes are the encrypted tag byte and the MAC...
            positions += [base, base + 1, base + 16]
            # ...then the body, start, middle and end.
            positions += [
                base + 17,
                base + 17 + CHUNK_BYTES // 2,
                base + CHUNK_CIPHERTEXT_BYTES - 1,
            ]
        assert max(positions) == len(blob) - 1
        for position in positions:
            tampered = bytearray(blob)
            tampered[position] ^= 0x01
            rejects(lambda t=bytes(tampered): decrypt(key, t))

    def test_truncation_is_detected(self, sample: tuple[CaseKey, bytes], rejects: Rejects) -> None:
        key, blob = sample
        for length in [0, 3, START - 1, START, START + 1, len(blob) - 1, len(blob) - 17]:
            rejects(lambda n=length: decrypt(key, blob[:n]))
        # Cut at a chunk boundary: every remaining chunk is intact and
        # authentic, only the final one is missing.
        for kept in (0, 1, 2):
            rejects(lambda k=kept: decrypt(key, blob[: START + k * CHUNK_CIPHERTEXT_BYTES]))

    def test_removed_reordered_or_appended_chunks_are_detected(
        self, sample: tuple[CaseKey, bytes], rejects: Rejects
    ) -> None:
        key, blob = sample
        c0, c1, c2 = (chunk(blob, i) for i in range(3))
        assert with_chunks(blob, [c0, c1, c2]) == blob
        for chunks in (
            [c1, c2],  # first removed
            [c0, c2],  # middle removed
            [c1, c0, c2],  # swapped
            [c0, c0, c1, c2],  # duplicated
            [c0, c1, c2, c2],  # final chunk repeated
            [c0, c1, c2, c0],  # chunk appended after the final one
        ):
            rejects(lambda c=chunks: decrypt(key, with_chunks(blob, c)))
        rejects(lambda: decrypt(key, blob + b"\x00"))

    def test_chunks_from_another_stream_are_rejected(
        self, sample: tuple[CaseKey, bytes], rejects: Rejects
    ) -> None:
        key, blob = sample
        other = encrypt(key, random.randbytes(2 * CHUNK_BYTES + 100))
        rejects(lambda: decrypt(key, blob[:START] + other[START:]))
        rejects(lambda: decrypt(key, other[:START] + blob[START:]))

    def test_wrong_key_case_or_item_is_rejected(
        self, sample: tuple[CaseKey, bytes], rejects: Rejects
    ) -> None:
        key, blob = sample
        rejects(lambda: decrypt(CaseKey.generate(), blob))
        rejects(lambda: decrypt(key, blob, case_id="case-2"))
        rejects(lambda: decrypt(key, blob, item_id="file-2"))

    def test_the_item_binding_is_the_associated_data_not_only_the_key(
        self, rejects: Rejects
    ) -> None:
        # Same item id (so same file key) but another case: only the AD differs.
        key = CaseKey.generate()
        blob = encrypt(key, b"x", case_id="case-A")
        rejects(lambda: decrypt(key, blob, case_id="case-B"))

    def test_bad_padding_in_the_final_chunk_is_rejected(self, rejects: Rejects) -> None:
        import nacl.bindings as sodium

        from crypto.files import _file_key
        from crypto.sealing import item_associated_data

        key = CaseKey.generate()
        state = sodium.crypto_secretstream_xchacha20poly1305_state()
        header = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, _file_key(key, ITEM))
        final = sodium.crypto_secretstream_xchacha20poly1305_push(
            state,
            bytes(CHUNK_BYTES),  # authentic, but no 0x80 marker
            item_associated_data(CASE, ITEM),
            sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL,
        )
        rejects(lambda: decrypt(key, MAGIC + header + final))


class TestConstantMemory:
    SIZE = 20 * 2**20

    def test_encrypting_20_mib_stays_under_1_mib(self) -> None:
        key = CaseKey.generate()
        source, sink = PatternReader(self.SIZE), CountingSink()
        tracemalloc.start()
        try:
            encrypt_stream(key, CASE, ITEM, cast(BinaryIO, source), cast(BinaryIO, sink))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert sink.count == encrypted_size(self.SIZE)
        assert peak < 2**20, f"peak {peak} bytes"

    def test_decrypting_20_mib_stays_under_1_mib(self, tmp_path: Path) -> None:
        key = CaseKey.generate()
        path = tmp_path / "file.enc"
        with path.open("wb") as out:
            encrypt_stream(key, CASE, ITEM, cast(BinaryIO, PatternReader(self.SIZE)), out)
        sink = CountingSink()
        with path.open("rb") as source:
            tracemalloc.start()
            try:
                count = decrypt_to(key, CASE, ITEM, source, cast(BinaryIO, sink))
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert count == sink.count == self.SIZE
        assert peak < 2**20, f"peak {peak} bytes"


def test_encrypted_size_refuses_negative_lengths() -> None:
    with pytest.raises(ValueError):
        encrypted_size(-1)
