"""The exceptions of the ``crypto`` package: one root, a small tree.

Callers (the web layer above all) catch :class:`CryptoError` and map it to a
response in one place. Every failure to decrypt or verify is the same
:class:`DecryptionFailed` with the same message, so neither an error page nor
a log line can tell an attacker *which* check failed (tag, key, version,
padding, case binding...).
"""

from __future__ import annotations

__all__ = ["CryptoError", "DecryptionFailed", "FileTooLarge", "InvalidReceipt"]


class CryptoError(Exception):
    """Root of every error raised by the ``crypto`` package."""


class InvalidReceipt(CryptoError):
    """The text is not a well-formed receipt code.

    The message is deliberately generic and never contains the input: a
    receipt code is the reporter's only secret, and a mistyped one is still
    almost all of it.
    """

    MESSAGE = "not a valid receipt code"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class DecryptionFailed(CryptoError):
    """Something could not be decrypted or verified.

    Raised for every reason (wrong key, bad tag, truncation, wrong case or
    item binding, unknown version, bad padding) with one fixed message.
    """

    MESSAGE = "could not decrypt or verify"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class FileTooLarge(CryptoError):
    """An uploaded file went over the size limit while it was being encrypted.

    :ivar limit: the limit in bytes that was exceeded.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than the limit of {limit} bytes")
        self.limit = limit
