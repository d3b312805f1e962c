"""Case keys, sealed items and grants."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey

from crypto import aead
from crypto.padding import bucket_size
from crypto.sealing import (
    CaseKey,
    item_associated_data,
    open_grant,
    open_item,
    open_sealed,
    seal_grant,
    seal_item,
    seal_to,
)

Rejects = Callable[[Callable[[], object]], None]

contents = st.one_of(
    st.binary(max_size=2000),
    st.builds(
        lambda n, seed: random.Random(seed).randbytes(n), st.integers(0, 200_000), st.integers()
    ),
)
# Ids are text that encodes to UTF-8: no NUL (refused) and no lone surrogates
# (not encodable; UnicodeEncodeError, a ValueError, is the right answer there).
ids = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=40)


def flips(blob: bytes) -> list[bytes]:
    out = []
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        out.append(bytes(tampered))
    return out


class TestCaseKey:
    def test_generate_gives_distinct_32_byte_keys(self) -> None:
        keys = [CaseKey.generate() for _ in range(20)]
        assert all(len(k.raw) == 32 for k in keys)
        assert len({k.raw for k in keys}) == 20

    @pytest.mark.parametrize("raw", [b"", bytes(31), bytes(33)])
    def test_length_is_checked(self, raw: bytes) -> None:
        with pytest.raises(ValueError):
            CaseKey(raw)

    def test_equality_and_hidden_repr(self) -> None:
        key = CaseKey.generate()
        assert key == CaseKey(key.raw)
        assert key != CaseKey.generate()
        assert repr(key) == "CaseKey(<hidden>)"
        assert key.raw.hex()[:8] not in repr(key)


class TestItems:
    def test_associated_data_layout(self) -> None:
        assert item_associated_data("c-1", "body") == b"visselpipa.item.v1\x00c-1\x00body"

    def test_associated_data_is_unambiguous(self) -> None:
        # Without the NUL ban, ("a\0b", "c") and ("a", "b\0c") would collide.
        for case_id, item_id in [("a\x00b", "c"), ("a", "b\x00c")]:
            with pytest.raises(ValueError):
                item_associated_data(case_id, item_id)
        assert item_associated_data("ab", "c") != item_associated_data("a", "bc")
        with pytest.raises(ValueError):
            item_associated_data("\ud800", "x")

    @settings(max_examples=40)
    @given(contents, ids, ids)
    def test_round_trip(self, plaintext: bytes, case_id: str, item_id: str) -> None:
        key = CaseKey.generate()
        blob = seal_item(key, case_id, item_id, plaintext)
        assert len(blob) == bucket_size(len(plaintext)) + aead.OVERHEAD_BYTES
        assert open_item(key, case_id, item_id, blob) == plaintext

    def test_lengths_within_a_bucket_look_the_same(self) -> None:
        key = CaseKey.generate()
        sizes = {len(seal_item(key, "c", "i", bytes(n))) for n in (0, 1, 100, 511)}
        assert sizes == {512 + aead.OVERHEAD_BYTES}

    def test_every_modified_byte_is_rejected(self, rejects: Rejects) -> None:
        key = CaseKey.generate()
        blob = seal_item(key, "case-1", "body", b"Det handlar om mutor.")
        for tampered in flips(blob):
            rejects(lambda t=tampered: open_item(key, "case-1", "body", t))
        for length in (0, 1, 25, len(blob) - 1):
            rejects(lambda n=length: open_item(key, "case-1", "body", blob[:n]))

    def test_an_item_moved_to_another_case_or_item_does_not_open(self, rejects: Rejects) -> None:
        key = CaseKey.generate()
        blob = seal_item(key, "case-1", "msg-1", b"x")
        rejects(lambda: open_item(key, "case-2", "msg-1", blob))
        rejects(lambda: open_item(key, "case-1", "msg-2", blob))
        rejects(lambda: open_item(key, "msg-1", "case-1", blob))
        rejects(lambda: open_item(CaseKey.generate(), "case-1", "msg-1", blob))


class TestGrants:
    def test_round_trip(self) -> None:
        key, desk = CaseKey.generate(), PrivateKey.generate()
        grant = seal_grant(key, "case-1", desk.public_key)
        assert open_grant(grant, "case-1", desk) == key

    @given(ids)
    def test_round_trip_any_case_id(self, case_id: str) -> None:
        key, desk = CaseKey.generate(), PrivateKey.generate()
        assert open_grant(seal_grant(key, case_id, desk.public_key), case_id, desk) == key

    def test_a_grant_moved_to_another_case_does_not_open(self, rejects: Rejects) -> None:
        key, desk = CaseKey.generate(), PrivateKey.generate()
        grant = seal_grant(key, "case-A", desk.public_key)
        rejects(lambda: open_grant(grant, "case-B", desk))
        rejects(lambda: open_grant(grant, "case-", desk))
        rejects(lambda: open_grant(grant, "case-AA", desk))
        rejects(lambda: open_grant(grant, "", desk))

    def test_only_the_recipient_can_open_it(self, rejects: Rejects) -> None:
        grant = seal_grant(CaseKey.generate(), "case-1", PrivateKey.generate().public_key)
        rejects(lambda: open_grant(grant, "case-1", PrivateKey.generate()))

    def test_every_modified_byte_is_rejected(self, rejects: Rejects) -> None:
        desk = PrivateKey.generate()
        grant = seal_grant(CaseKey.generate(), "case-1", desk.public_key)
        for tampered in flips(grant):
            rejects(lambda t=tampered: open_grant(t, "case-1", desk))
        for length in range(len(grant)):
            rejects(lambda n=length: open_grant(grant[:n], "case-1", desk))

    def test_a_sealed_box_that_is_not_a_grant_is_rejected(self, rejects: Rejects) -> None:
        desk = PrivateKey.generate()
        raw = CaseKey.generate().raw
        header = b"\x00\x06case-1"
        for payload in [
            b"VPG2" + header + raw,  # wrong magic
            b"VPG1" + header + raw[:-1],  # key too short
            b"VPG1" + header + raw + b"\x00",  # trailing byte
            b"VPG1\x00\x07case-1" + raw,  # length field disagrees
            raw,
            b"",
        ]:
            rejects(lambda p=payload: open_grant(seal_to(desk.public_key, p), "case-1", desk))

    def test_overlong_case_id_is_refused(self) -> None:
        with pytest.raises(ValueError):
            seal_grant(CaseKey.generate(), "x" * 65536, PrivateKey.generate().public_key)


class TestSealedBoxes:
    @given(st.binary(max_size=1000))
    def test_round_trip(self, plaintext: bytes) -> None:
        desk = PrivateKey.generate()
        assert open_sealed(desk, seal_to(desk.public_key, plaintext)) == plaintext

    def test_tampering_and_wrong_key_are_rejected(self, rejects: Rejects) -> None:
        desk = PrivateKey.generate()
        blob = seal_to(desk.public_key, b"desk private key would go here")
        rejects(lambda: open_sealed(PrivateKey.generate(), blob))
        for tampered in flips(blob):
            rejects(lambda t=tampered: open_sealed(desk, t))
        for length in range(len(blob)):
            rejects(lambda n=length: open_sealed(desk, blob[:n]))
