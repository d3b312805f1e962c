"""Staff key wrapping: a user's X25519 private key encrypted under a password.

The wrapped form is safe to store in the database; opening it takes the
password and an Argon2id derivation (see :mod:`crypto.kdf`).
"""

from __future__ import annotations

from typing import Final

from nacl.public import PrivateKey

from crypto import aead
from crypto.errors import DecryptionFailed
from crypto.kdf import KdfCost, derive_key_from_password

__all__ = ["unwrap_private_key", "wrap_private_key"]

_AD: Final = b"visselpipa.userkey.v1"


def wrap_private_key(private_key: PrivateKey, password: str, salt: bytes, cost: KdfCost) -> bytes:
    """Encrypt ``private_key`` under a key derived from ``password``.

    .. warning::
       The wrapped key is only as strong as the password and the cost: use a
       random per-user salt and :data:`crypto.kdf.PRODUCTION_COST`. Store the
       salt and cost with the blob; both are needed to unwrap it.
    """
    wrapping_key = derive_key_from_password(password, salt, cost)
    return aead.encrypt(wrapping_key, bytes(private_key), _AD)


def unwrap_private_key(blob: bytes, password: str, salt: bytes, cost: KdfCost) -> PrivateKey:
    """Recover the private key wrapped by :func:`wrap_private_key`.

    :raises DecryptionFailed: on a wrong password, salt or cost, or a
        modified blob (indistinguishable by design).
    """
    wrapping_key = derive_key_from_password(password, salt, cost)
    raw = aead.decrypt(wrapping_key, blob, _AD)
    if len(raw) != PrivateKey.SIZE:
        raise DecryptionFailed()
    return PrivateKey(raw)
