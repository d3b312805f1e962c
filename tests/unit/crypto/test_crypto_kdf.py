"""Argon2id key derivation for receipts and staff passwords."""

from __future__ import annotations

import threading
import unicodedata

import nacl.bindings
import pytest
from argon2.low_level import Type, hash_secret_raw
from hypothesis import given
from hypothesis import strategies as st

from crypto.kdf import (
    DERIVATIONS,
    MINIMUM_COST,
    PRODUCTION_COST,
    TENANT_SALT_BYTES,
    KdfCost,
    ReporterKeys,
    derive_key_from_password,
    derive_reporter_keys,
    seconds_per_derivation,
)
from crypto.receipt import Receipt

SALT = bytes(range(16))


class TestCost:
    def test_production_default_is_at_least_64_mib_and_two_passes(self) -> None:
        assert KdfCost() == PRODUCTION_COST
        assert PRODUCTION_COST.memory_kib >= 65536
        assert PRODUCTION_COST.time_cost >= 2
        assert PRODUCTION_COST.parallelism >= 1

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"time_cost": 0}, "time_cost"),
            ({"parallelism": 0}, "parallelism"),
            ({"memory_kib": 7}, "memory_kib"),
            ({"memory_kib": 15, "parallelism": 2}, "memory_kib"),
            ({"time_cost": 1.5}, "time_cost"),
            ({"memory_kib": "65536"}, "memory_kib"),
            ({"parallelism": True}, "parallelism"),
        ],
    )
    def test_invalid_costs_name_the_field(self, kwargs: dict[str, object], field: str) -> None:
        with pytest.raises(ValueError, match=field):
            KdfCost(**kwargs)  # type: ignore[arg-type]

    def test_the_smallest_cost_argon2_accepts_is_allowed(self, cheap_kdf: KdfCost) -> None:
        assert cheap_kdf == KdfCost(time_cost=1, memory_kib=8, parallelism=1)

    def test_the_floor_is_owasps_first_pair_and_production_is_above_it(self) -> None:
        assert (MINIMUM_COST.time_cost, MINIMUM_COST.memory_kib) == (2, 19456)
        assert MINIMUM_COST.meets_floor() and PRODUCTION_COST.meets_floor()
        assert not KdfCost(time_cost=1, memory_kib=65536).meets_floor()
        assert not KdfCost(time_cost=3, memory_kib=19455).meets_floor()

    def test_the_version_is_argon2_1_3_and_reaches_the_derivation(self) -> None:
        assert PRODUCTION_COST.version == 0x13
        receipt = Receipt.generate()
        v13 = derive_reporter_keys(receipt, SALT, KdfCost(time_cost=1, memory_kib=8))
        v10 = derive_reporter_keys(receipt, SALT, KdfCost(time_cost=1, memory_kib=8, version=0x10))
        assert v13.lookup_tag != v10.lookup_tag
        with pytest.raises(ValueError, match="version"):
            KdfCost(version=0x12)

    def test_seconds_per_derivation_measures_something(self, cheap_kdf: KdfCost) -> None:
        assert 0 < seconds_per_derivation(cheap_kdf) < 5


class TestReporterKeys:
    def test_the_same_receipt_gives_the_same_keys(self, cheap_kdf: KdfCost) -> None:
        receipt = Receipt.generate()
        first = derive_reporter_keys(receipt, SALT, cheap_kdf)
        again = derive_reporter_keys(Receipt.parse(str(receipt).lower()), SALT, cheap_kdf)
        assert first == again
        assert first.public_key == again.public_key

    def test_receipt_salt_and_cost_all_matter(self, cheap_kdf: KdfCost) -> None:
        receipt = Receipt.generate()
        base = derive_reporter_keys(receipt, SALT, cheap_kdf)
        others = [
            derive_reporter_keys(Receipt.generate(), SALT, cheap_kdf),
            derive_reporter_keys(receipt, bytes(16), cheap_kdf),
            derive_reporter_keys(receipt, SALT, KdfCost(time_cost=2, memory_kib=8)),
        ]
        for other in others:
            assert other.lookup_tag != base.lookup_tag
            assert other.public_key != base.public_key

    def test_tag_and_key_are_separate_outputs(self, cheap_kdf: KdfCost) -> None:
        keys = derive_reporter_keys(Receipt.generate(), SALT, cheap_kdf)
        assert len(keys.lookup_tag) == 32
        assert keys.lookup_tag != bytes(keys.private_key)
        assert keys.lookup_tag != bytes(keys.public_key)

    def test_matches_argon2id_then_blake2b(self, cheap_kdf: KdfCost) -> None:
        import hashlib

        from nacl.public import PrivateKey

        receipt = Receipt.generate()
        seed = hash_secret_raw(receipt.secret_bytes, SALT, 1, 8, 1, 32, Type.ID)
        keys = derive_reporter_keys(receipt, SALT, cheap_kdf)
        tag = hashlib.blake2b(seed, digest_size=32, person=b"vp.lookup.v1").digest()
        secret = hashlib.blake2b(seed, digest_size=32, person=b"vp.reporter.v1").digest()
        assert keys.lookup_tag == tag
        assert keys.private_key == PrivateKey(secret)

    @pytest.mark.parametrize("length", [0, 8, 15, 17, 32])
    def test_tenant_salt_must_be_16_bytes(self, cheap_kdf: KdfCost, length: int) -> None:
        assert TENANT_SALT_BYTES == 16
        with pytest.raises(ValueError, match="salt"):
            derive_reporter_keys(Receipt.generate(), bytes(length), cheap_kdf)

    def test_repr_hides_the_keys(self, cheap_kdf: KdfCost) -> None:
        keys = derive_reporter_keys(Receipt.generate(), SALT, cheap_kdf)
        text = repr(keys)
        assert bytes(keys.private_key).hex()[:8] not in text
        assert keys.lookup_tag.hex()[:8] not in text
        assert "hidden" in text

    def test_lookup_tag_length_is_checked(self, cheap_kdf: KdfCost) -> None:
        keys = derive_reporter_keys(Receipt.generate(), SALT, cheap_kdf)
        with pytest.raises(ValueError):
            ReporterKeys(lookup_tag=b"short", private_key=keys.private_key)


class TestPasswordKey:
    def test_is_32_bytes_and_deterministic(self, cheap_kdf: KdfCost) -> None:
        key = derive_key_from_password("hemligt lösenord", SALT, cheap_kdf)
        assert len(key) == 32
        assert key == derive_key_from_password("hemligt lösenord", SALT, cheap_kdf)
        assert key != derive_key_from_password("hemligt lösenord", bytes(16), cheap_kdf)
        assert key != derive_key_from_password("hemligt lösenorD", SALT, cheap_kdf)

    def test_composed_and_decomposed_accents_give_one_key(self, cheap_kdf: KdfCost) -> None:
        composed = unicodedata.normalize("NFC", "Åsa går på ön")
        decomposed = unicodedata.normalize("NFD", composed)
        assert composed != decomposed
        assert derive_key_from_password(composed, SALT, cheap_kdf) == derive_key_from_password(
            decomposed, SALT, cheap_kdf
        )

    def test_short_salt_is_refused(self, cheap_kdf: KdfCost) -> None:
        with pytest.raises(ValueError, match="salt"):
            derive_key_from_password("x", bytes(15), cheap_kdf)


@pytest.mark.parametrize(("time_cost", "memory_kib"), [(1, 8), (2, 1024)])
def test_argon2_cffi_agrees_with_libsodium(time_cost: int, memory_kib: int) -> None:
    """Two independent Argon2id implementations give the same bytes (p=1)."""
    password = Receipt.generate().secret_bytes
    ours = hash_secret_raw(password, SALT, time_cost, memory_kib, 1, 32, Type.ID)
    theirs = nacl.bindings.crypto_pwhash_alg(
        32,
        password,
        SALT,
        time_cost,
        memory_kib * 1024,
        nacl.bindings.crypto_pwhash_ALG_ARGON2ID13,
    )
    assert ours == theirs


class TestStoredCost:
    """The cost as stored beside each derivation (reporter_index.kdf, staff.key_kdf)."""

    def test_the_production_cost_reads_as_documented(self) -> None:
        assert PRODUCTION_COST.to_text("tenant_salt") == "argon2id$v=19$m=65536,t=3,p=1$tenant_salt"
        assert PRODUCTION_COST.to_text("key_salt") == "argon2id$v=19$m=65536,t=3,p=1$key_salt"

    @given(
        time_cost=st.integers(1, 10**6),
        lanes=st.integers(1, 255),
        extra=st.integers(0, 10**7),
        version=st.sampled_from([0x10, 0x13]),
        salt=st.sampled_from(["tenant_salt", "key_salt"]),
    )
    def test_every_cost_reads_back_as_itself(
        self, time_cost: int, lanes: int, extra: int, version: int, salt: str
    ) -> None:
        cost = KdfCost(time_cost, 8 * lanes + extra, lanes, version)
        text = cost.to_text(salt)
        assert len(text) <= 64  # the columns are String(64)
        assert KdfCost.from_text(text, salt) == cost

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "argon2id$v=19$m=65536,t=3,p=1$key_salt",  # another salt's derivation
            "argon2i$v=19$m=65536,t=3,p=1$tenant_salt",
            "argon2id$v=18$m=65536,t=3,p=1$tenant_salt",
            "argon2id$v=19$m=4,t=3,p=1$tenant_salt",
            "argon2id$v=19$m=65536,t=0,p=1$tenant_salt",
            "argon2id$v=19$t=3,m=65536,p=1$tenant_salt",
            "argon2id$v=19$m=65536,t=3,p=1$tenant_salt ",
            "argon2id$v=19$m=65536,t=3,p=1",
        ],
    )
    def test_anything_else_is_refused_not_guessed(self, text: str) -> None:
        with pytest.raises(ValueError):
            KdfCost.from_text(text, "tenant_salt")

    def test_an_unknown_salt_role_is_refused(self) -> None:
        with pytest.raises(ValueError, match="salt"):
            PRODUCTION_COST.to_text("receipt")


class TestOneDerivationAtATime:
    """Request threads of one worker take turns at Argon2id (crypto/kdf.py)."""

    CHEAP = KdfCost(time_cost=1, memory_kib=8)

    def _derive_in_threads(self) -> list[threading.Thread]:
        receipt = Receipt.generate()
        threads = [
            threading.Thread(target=derive_reporter_keys, args=(receipt, SALT, self.CHEAP)),
            threading.Thread(target=derive_key_from_password, args=("pw", SALT, self.CHEAP)),
            threading.Thread(target=seconds_per_derivation, args=(self.CHEAP,)),
        ]
        for t in threads:
            t.start()
        return threads

    def test_a_derivation_waits_while_another_one_runs(self) -> None:
        # While this thread holds the process's one derivation slot, no other
        # thread's derivation can finish, however long it is given; once the
        # slot is free, all of them do.
        with DERIVATIONS:
            threads = self._derive_in_threads()
            for t in threads:
                t.join(timeout=0.3)
            assert [t.is_alive() for t in threads] == [True, True, True]
        for t in threads:
            t.join(timeout=60)
        assert [t.is_alive() for t in threads] == [False, False, False]

    def test_the_slot_is_free_again_after_a_failed_derivation(self) -> None:
        from argon2.exceptions import HashingError

        from crypto import kdf

        with pytest.raises(HashingError):  # Argon2 refuses a salt under 8 bytes
            kdf._argon2id(b"secret", b"short", self.CHEAP)
        assert DERIVATIONS.acquire(blocking=False)
        DERIVATIONS.release()
