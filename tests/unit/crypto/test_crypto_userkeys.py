"""Staff private keys wrapped under a password."""

from __future__ import annotations

from collections.abc import Callable

from nacl.public import PrivateKey

from crypto.kdf import KdfCost
from crypto.userkeys import unwrap_private_key, wrap_private_key

Rejects = Callable[[Callable[[], object]], None]
SALT = bytes(range(16, 32))
PASSWORD = "rätt häst batteri"


def test_round_trip(cheap_kdf: KdfCost) -> None:
    key = PrivateKey.generate()
    blob = wrap_private_key(key, PASSWORD, SALT, cheap_kdf)
    assert bytes(key) not in blob
    assert unwrap_private_key(blob, PASSWORD, SALT, cheap_kdf) == key


def test_wrong_password_salt_or_cost_is_rejected(cheap_kdf: KdfCost, rejects: Rejects) -> None:
    blob = wrap_private_key(PrivateKey.generate(), PASSWORD, SALT, cheap_kdf)
    rejects(lambda: unwrap_private_key(blob, "rätt häst batteri!", SALT, cheap_kdf))
    rejects(lambda: unwrap_private_key(blob, "", SALT, cheap_kdf))
    rejects(lambda: unwrap_private_key(blob, PASSWORD, bytes(16), cheap_kdf))
    rejects(lambda: unwrap_private_key(blob, PASSWORD, SALT, KdfCost(time_cost=2, memory_kib=8)))


def test_every_modified_byte_is_rejected(cheap_kdf: KdfCost, rejects: Rejects) -> None:
    blob = wrap_private_key(PrivateKey.generate(), PASSWORD, SALT, cheap_kdf)
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        rejects(lambda t=bytes(tampered): unwrap_private_key(t, PASSWORD, SALT, cheap_kdf))
    rejects(lambda: unwrap_private_key(blob[:-1], PASSWORD, SALT, cheap_kdf))
