"""The deployment's Ed25519 signing key: checkpoints of the log and proofs of submission.

Every signature is over a domain-separated message::

    b"visselpipa-signature-v1\\x00" + domain + b"\\x00" + message

so a signature made for one purpose (a checkpoint) can never be presented as
another (a proof of submission), even if the two messages happened to be the
same bytes. ``domain`` is a short ASCII name without NUL.

Verification failures raise :class:`~crypto.errors.DecryptionFailed` with its
one fixed message, like every other failed check in this package.
"""

from __future__ import annotations

import hashlib

from nacl.exceptions import BadSignatureError
from nacl.exceptions import CryptoError as NaclCryptoError
from nacl.signing import SigningKey, VerifyKey

from crypto.errors import CryptoError, DecryptionFailed

__all__ = [
    "PUBLIC_KEY_BYTES",
    "SEED_BYTES",
    "SIGNATURE_BYTES",
    "Signer",
    "key_id",
    "verify_signature",
]

SEED_BYTES = 32
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
_PREFIX = b"visselpipa-signature-v1\x00"


def _message(domain: str, message: bytes) -> bytes:
    if not domain or not domain.isascii() or "\x00" in domain:
        raise CryptoError("a signing domain is a non-empty ASCII name without NUL")
    return _PREFIX + domain.encode("ascii") + b"\x00" + message


def key_id(public_key: bytes) -> str:
    """A short, stable name for a public key: 16 hex digits of its BLAKE2b hash.

    Printed on checkpoints and proofs so a reader can tell which published key
    to check them with; it is a label, not a security check.
    """
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise CryptoError(f"a public signing key is {PUBLIC_KEY_BYTES} bytes")
    return hashlib.blake2b(public_key, digest_size=8, person=b"vp-key-id").hexdigest()


class Signer:
    """Signs with the deployment's private key (Ed25519, from a 32-byte seed).

    .. warning::
       The seed is a secret of the deployment (``secrets.toml``): whoever holds
       it can sign checkpoints and proofs in the deployment's name.
    """

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
            raise CryptoError(f"a signing seed is {SEED_BYTES} bytes")
        self._key = SigningKey(seed)

    @classmethod
    def generate(cls) -> Signer:
        return cls(bytes(SigningKey.generate()))

    @property
    def public_key(self) -> bytes:
        return bytes(self._key.verify_key)

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, domain: str, message: bytes) -> bytes:
        """The 64-byte signature of ``message`` in ``domain``."""
        return bytes(self._key.sign(_message(domain, message)).signature)

    def __repr__(self) -> str:  # never print the seed
        return f"Signer(key_id={self.key_id})"


def verify_signature(public_key: bytes, domain: str, message: bytes, signature: bytes) -> None:
    """Return if ``signature`` is ``public_key``'s signature of ``message`` in ``domain``.

    Raises :class:`DecryptionFailed` otherwise (wrong key, wrong domain, any
    changed byte, wrong length).
    """
    full = _message(domain, message)
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        raise DecryptionFailed()
    try:
        VerifyKey(public_key).verify(full, signature)
    except (BadSignatureError, NaclCryptoError, ValueError):
        raise DecryptionFailed() from None
