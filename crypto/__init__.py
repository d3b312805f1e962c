"""Cryptography for Visselpipa: receipts, key derivation, sealing, file streams.

Everything is built from libsodium (through PyNaCl) and Argon2id (through
argon2-cffi); this package only composes those primitives. The errors are
re-exported here so callers can write ``except crypto.CryptoError``.
"""

from __future__ import annotations

from crypto.errors import CryptoError, DecryptionFailed, FileTooLarge, InvalidReceipt

__all__ = ["CryptoError", "DecryptionFailed", "FileTooLarge", "InvalidReceipt"]
