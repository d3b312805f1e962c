"""Case content: the per-case key, sealed items and grants.

* Every item of a case (report body, message, identity details) is padded
  (:mod:`crypto.padding`) and AEAD-encrypted under the case key, with
  associated data naming the case and the item, so a ciphertext copied to
  another case or item does not open.
* A *grant* is the case key sealed (X25519 sealed box) to a desk's or the
  reporter's public key. The case id is sealed inside the grant and checked on
  opening, so a grant moved to another case's row does not open either.
"""

from __future__ import annotations

import hmac
import secrets
from typing import ClassVar, Final

import nacl.exceptions
from nacl.public import PrivateKey, PublicKey, SealedBox

from crypto import aead
from crypto.errors import DecryptionFailed
from crypto.padding import pad, unpad

__all__ = [
    "CaseKey",
    "CaseKeys",
    "item_associated_data",
    "open_grant",
    "open_item",
    "open_sealed",
    "seal_grant",
    "seal_item",
    "seal_to",
]

_ITEM_AD_PREFIX: Final = b"visselpipa.item.v1\x00"
_GRANT_MAGIC: Final = b"VPG1"
_MAX_CASE_ID_BYTES: Final = 0xFFFF


class CaseKey:
    """The random symmetric key of one case.

    .. warning::
       Whoever holds it reads the whole case. It exists in plaintext only in
       memory while a grant holder works on the case; ``repr()`` hides it.
    """

    SIZE: ClassVar[int] = aead.KEY_BYTES
    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        """Wrap existing key bytes.

        :raises ValueError: if ``raw`` is not :attr:`SIZE` bytes.
        """
        if not isinstance(raw, bytes) or len(raw) != self.SIZE:
            raise ValueError(f"a case key is {self.SIZE} bytes")
        self._raw = raw

    @classmethod
    def generate(cls) -> CaseKey:
        """A fresh key from the operating system's CSPRNG."""
        return cls(secrets.token_bytes(cls.SIZE))

    @property
    def raw(self) -> bytes:
        """The key bytes."""
        return self._raw

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CaseKey):
            return NotImplemented
        return hmac.compare_digest(self._raw, other._raw)

    # Keys are compared, never used as dict keys or set members.
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "CaseKey(<hidden>)"


class CaseKeys:
    """The keys of a case's content-key epochs (1, 2, …), as one holder opened them.

    A case starts at epoch 1 (the intake's key). When a member leaves a desk
    of the case, a new epoch begins with a new random key: what is sealed
    afterwards uses :attr:`current`, and each stored item names the epoch
    whose key sealed it (``meta["epoch"]``, absent meaning 1).

    .. warning::
       Seal only under :attr:`current`, and only after checking, in the
       writing transaction, that no newer epoch has begun meanwhile
       (``caseflow.service.cases``): an older key may be held by a former member.
    """

    __slots__ = ("_keys",)

    def __init__(self, keys: dict[int, CaseKey]) -> None:
        """:raises ValueError: if ``keys`` is empty or an epoch is below 1."""
        if not keys or min(keys) < 1:
            raise ValueError("a case has at least epoch 1")
        self._keys = dict(keys)

    @property
    def current_epoch(self) -> int:
        """The newest epoch this holder opened."""
        return max(self._keys)

    @property
    def current(self) -> CaseKey:
        """The key of :attr:`current_epoch`: the only one to seal new items under."""
        return self._keys[self.current_epoch]

    def epochs(self) -> tuple[int, ...]:
        return tuple(sorted(self._keys))

    def for_epoch(self, epoch: int) -> CaseKey:
        """The key of ``epoch``.

        :raises DecryptionFailed: if this holder has no key for that epoch
            (the same error as a wrong key, so readers treat both alike).
        """
        key = self._keys.get(epoch)
        if key is None:
            raise DecryptionFailed()
        return key

    def __repr__(self) -> str:
        return f"CaseKeys(epochs={list(self.epochs())}, keys=<hidden>)"


def item_associated_data(case_id: str, item_id: str) -> bytes:
    """The associated data binding a ciphertext to its case and item.

    NUL separates the fields, and is refused inside them, so that two
    different (case, item) pairs can never give the same bytes.

    :raises ValueError: if either id contains a NUL character (or cannot be
        encoded as UTF-8: ``UnicodeEncodeError``).
    """
    if "\x00" in case_id or "\x00" in item_id:
        raise ValueError("case and item ids must not contain NUL")
    return _ITEM_AD_PREFIX + case_id.encode() + b"\x00" + item_id.encode()


def seal_item(
    key: CaseKey, case_id: str, item_id: str, plaintext: bytes, *, nonce: bytes | None = None
) -> bytes:
    """Pad and encrypt one item of a case.

    .. warning::
       ``nonce`` is for known-answer tests only; see :func:`crypto.aead.encrypt`.
    """
    ad = item_associated_data(case_id, item_id)
    return aead.encrypt(key.raw, pad(plaintext), ad, nonce=nonce)


def open_item(key: CaseKey, case_id: str, item_id: str, blob: bytes) -> bytes:
    """Decrypt an item made by :func:`seal_item` for the same case and item.

    :raises DecryptionFailed: on a wrong key, case, item or any modification.
    """
    ad = item_associated_data(case_id, item_id)
    return unpad(aead.decrypt(key.raw, blob, ad))


def _grant_prefix(case_id: str) -> bytes:
    # Payload = prefix || case key; the length field makes the split
    # unambiguous even though case ids vary in length.
    encoded = case_id.encode()
    if len(encoded) > _MAX_CASE_ID_BYTES:
        raise ValueError("case id is too long")
    return _GRANT_MAGIC + len(encoded).to_bytes(2, "big") + encoded


def seal_grant(key: CaseKey, case_id: str, recipient: PublicKey) -> bytes:
    """Seal the case key to ``recipient`` for the case ``case_id``.

    Anyone can make a grant (sealed boxes are anonymous); only the holder of
    the matching private key can open it.

    :raises ValueError: if the UTF-8 case id is longer than 65535 bytes.
    """
    return seal_to(recipient, _grant_prefix(case_id) + key.raw)


def open_grant(blob: bytes, case_id: str, private_key: PrivateKey) -> CaseKey:
    """Open a grant and return the case key, checking it is for ``case_id``.

    :raises DecryptionFailed: if the box does not open with this key, is not
        a grant, or was made for a different case.
    """
    expected = _grant_prefix(case_id)
    payload = open_sealed(private_key, blob)
    # The prefix is not secret; compare_digest just avoids reasoning about it.
    if len(payload) != len(expected) + CaseKey.SIZE or not hmac.compare_digest(
        payload[: len(expected)], expected
    ):
        raise DecryptionFailed()
    return CaseKey(payload[len(expected) :])


def seal_to(recipient: PublicKey, plaintext: bytes) -> bytes:
    """Encrypt ``plaintext`` anonymously to ``recipient`` (X25519 sealed box)."""
    return SealedBox(recipient).encrypt(plaintext)


def open_sealed(private_key: PrivateKey, blob: bytes) -> bytes:
    """Open a sealed box made by :func:`seal_to`.

    .. warning::
       A sealed box proves nothing about who made it: anyone with the public
       key can create one. Authenticate the sender by other means if it matters.

    :raises DecryptionFailed: if the box does not open with ``private_key``.
    """
    try:
        return SealedBox(private_key).decrypt(blob)
    except nacl.exceptions.CryptoError:
        raise DecryptionFailed() from None
