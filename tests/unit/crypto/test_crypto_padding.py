"""Length-hiding padding."""

from __future__ import annotations

import random
from collections.abc import Callable

import nacl.bindings
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.padding import LARGE_STEP, MIN_BUCKET, bucket_size, pad, unpad

Rejects = Callable[[Callable[[], object]], None]

sizes = st.one_of(st.integers(0, 3 * LARGE_STEP), st.sampled_from([0, 511, 512, 65535, 65536]))


@pytest.mark.parametrize(
    ("n", "bucket"),
    [
        (0, 512),
        (1, 512),
        (511, 512),
        (512, 1024),
        (1023, 1024),
        (1024, 2048),
        (40000, 65536),
        (65535, 65536),
        (65536, 131072),
        (131071, 131072),
        (131072, 196608),
        (10 * 2**20, 10 * 2**20 + 65536),
    ],
)
def test_bucket_sizes(n: int, bucket: int) -> None:
    assert bucket_size(n) == bucket


@given(sizes)
def test_bucket_is_the_smallest_allowed_size_with_room_for_the_marker(n: int) -> None:
    size = bucket_size(n)
    assert size >= n + 1
    assert size >= MIN_BUCKET
    if size <= LARGE_STEP:
        assert size & (size - 1) == 0
        assert size == MIN_BUCKET or size // 2 < n + 1
    else:
        assert size % LARGE_STEP == 0
        assert size - LARGE_STEP < n + 1


def test_negative_length_is_refused() -> None:
    with pytest.raises(ValueError):
        bucket_size(-1)


@settings(max_examples=60)
@given(sizes, st.integers())
def test_pad_fills_the_bucket_and_unpad_inverts_it(n: int, seed: int) -> None:
    data = random.Random(seed).randbytes(n)
    padded = pad(data)
    assert len(padded) == bucket_size(n)
    assert padded[:n] == data
    assert padded[n] == 0x80
    assert not any(padded[n + 1 :])
    assert unpad(padded) == data


@given(st.binary(max_size=600))
def test_small_round_trip(data: bytes) -> None:
    assert unpad(pad(data)) == data


def test_bad_padding_is_a_decryption_failure(rejects: Rejects) -> None:
    good = pad(b"hello")
    rejects(lambda: unpad(bytes(512)))  # no marker at all
    rejects(lambda: unpad(good[:-1] + b"\x01"))  # garbage after the marker
    rejects(lambda: unpad(good[:100]))  # shorter than any bucket
    rejects(lambda: unpad(b""))


def test_only_the_canonical_bucket_is_accepted(rejects: Rejects) -> None:
    # Valid 7816-4 padding, but to a bigger (or odd) size than pad() chooses:
    # one plaintext must have exactly one padded form.
    rejects(lambda: unpad(nacl.bindings.sodium_pad(b"hello", 1024)))
    rejects(lambda: unpad(nacl.bindings.sodium_pad(b"hello", 600)))
    rejects(lambda: unpad(nacl.bindings.sodium_pad(b"x" * 70000, 65536 * 3)))
