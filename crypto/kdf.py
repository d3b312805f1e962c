"""Key derivation: Argon2id for receipts and passwords, BLAKE2b to split seeds.

The reporter's keys come from the receipt alone (plus a per-tenant salt), so
a reporter can return from any device with nothing but the code::

    seed        = Argon2id(receipt, tenant_salt)               32 bytes
    lookup_tag  = BLAKE2b-256(seed, person="vp.lookup.v1")     the server's index
    private_key = BLAKE2b-256(seed, person="vp.reporter.v1")   X25519 secret

The distinct personalisations make the two outputs independent: knowing the
lookup tag (which the server stores) reveals nothing about the private key.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Final

from argon2.low_level import ARGON2_VERSION, Type, hash_secret_raw
from nacl.public import PrivateKey, PublicKey

from crypto.receipt import Receipt

__all__ = [
    "ARGON2_VERSION",
    "DERIVATIONS",
    "LOOKUP_TAG_BYTES",
    "MINIMUM_COST",
    "PASSWORD_SALT_MIN_BYTES",
    "PRODUCTION_COST",
    "SALT_ROLES",
    "TENANT_SALT_BYTES",
    "KdfCost",
    "ReporterKeys",
    "derive_key_from_password",
    "derive_reporter_keys",
    "seconds_per_derivation",
]

TENANT_SALT_BYTES: Final = 16
#: Staff password salts: at least this long (Argon2 itself accepts 8).
PASSWORD_SALT_MIN_BYTES: Final = 16
LOOKUP_TAG_BYTES: Final = 32
_SEED_BYTES: Final = 32
_PERSON_LOOKUP: Final = b"vp.lookup.v1"
_PERSON_REPORTER: Final = b"vp.reporter.v1"
#: What the salt of a stored derivation is: the deployment's tenant salt
#: (receipts) or the row's own ``key_salt`` (staff keys).
SALT_ROLES: Final = frozenset({"tenant_salt", "key_salt"})
_TEXT = re.compile(r"argon2id\$v=(\d{1,3})\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([a-z_]{1,16})")


@dataclass(frozen=True)
class KdfCost:
    """Argon2id cost parameters (and the algorithm version).

    The defaults are the production cost: 64 MiB and three passes, the
    second recommended option of RFC 9106 §4, but with one lane instead of
    four so that concurrent logins do not compete for cores (more lanes would
    not add memory hardness). Tests pass a cheaper cost explicitly.

    Every stored derivation records its cost (:meth:`to_text`), so a new
    cost applies to new derivations while the old ones still open.

    :raises ValueError: naming the field, if a value is not an ``int`` or is
        below what Argon2 accepts, or the version is not one Argon2 defines.
    """

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 1
    #: 0x13 (19), Argon2 1.3, the only version libsodium and RFC 9106 use.
    version: int = ARGON2_VERSION

    def __post_init__(self) -> None:
        for name in ("time_cost", "memory_kib", "parallelism", "version"):
            value = getattr(self, name)
            # bool is an int subclass; True as a cost is a bug, not a cost.
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"KdfCost.{name} must be an int, got {type(value).__name__}")
        if self.time_cost < 1:
            raise ValueError(f"KdfCost.time_cost must be at least 1, got {self.time_cost}")
        if self.parallelism < 1:
            raise ValueError(f"KdfCost.parallelism must be at least 1, got {self.parallelism}")
        if self.memory_kib < 8 * self.parallelism:
            raise ValueError(
                f"KdfCost.memory_kib must be at least 8 * parallelism "
                f"({8 * self.parallelism}), got {self.memory_kib}"
            )
        if self.version not in (0x10, 0x13):
            raise ValueError(f"KdfCost.version must be 16 or 19, got {self.version}")

    def meets_floor(self) -> bool:
        """Whether this cost is at least :data:`MINIMUM_COST` in passes and memory."""
        return (
            self.time_cost >= MINIMUM_COST.time_cost and self.memory_kib >= MINIMUM_COST.memory_kib
        )

    def to_text(self, salt: str) -> str:
        """The stored form: ``argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt role>``.

        ``salt`` names which salt the derivation used (:data:`SALT_ROLES`);
        the salt itself is never part of the text.
        """
        if salt not in SALT_ROLES:
            raise ValueError(f"salt must be one of {sorted(SALT_ROLES)}, got {salt!r}")
        return (
            f"argon2id$v={self.version}$m={self.memory_kib},t={self.time_cost},"
            f"p={self.parallelism}${salt}"
        )

    @classmethod
    def from_text(cls, text: str, salt: str) -> KdfCost:
        """Parse :meth:`to_text`'s form, requiring the salt role ``salt``.

        :raises ValueError: for any other text (a derivation whose cost this
            code cannot read must fail loudly, not with a default).
        """
        match = _TEXT.fullmatch(text)
        if match is None or match.group(5) != salt:
            raise ValueError(f"not a stored Argon2id cost with salt {salt!r}: {text!r}")
        version, memory, passes, lanes = (int(match.group(i)) for i in range(1, 5))
        return cls(time_cost=passes, memory_kib=memory, parallelism=lanes, version=version)


#: What deployments use unless a benchmark on their hardware says otherwise.
PRODUCTION_COST: Final = KdfCost()
#: The least a deployment may start with (without ``insecure_test_kdf``):
#: OWASP's first recommended Argon2id pair, 19 MiB and two passes.
MINIMUM_COST: Final = KdfCost(time_cost=2, memory_kib=19456, parallelism=1)


#: One Argon2id derivation at a time in a process. argon2-cffi releases the
#: GIL, so with request threads (``visselpipa serve --threads``) several
#: derivations of one worker would otherwise run at once: each takes a core
#: and 64 MiB, they compete with each other and with the other workers (one
#: per core), and every receipt check and sign-in gets slower together.
#: Waiting here instead keeps a derivation's time what the receipt floor
#: measured, bounds the memory to one derivation per worker, and leaves the
#: other threads free to serve pages. The wait is the same whether a receipt
#: is right or wrong, so it tells nothing.
DERIVATIONS: Final = threading.BoundedSemaphore(1)


def _argon2id(secret: bytes, salt: bytes, cost: KdfCost) -> bytes:
    with DERIVATIONS:
        return _argon2id_now(secret, salt, cost)


def _argon2id_now(secret: bytes, salt: bytes, cost: KdfCost) -> bytes:
    return hash_secret_raw(
        secret=secret,
        salt=salt,
        time_cost=cost.time_cost,
        memory_cost=cost.memory_kib,
        parallelism=cost.parallelism,
        hash_len=_SEED_BYTES,
        type=Type.ID,
        version=cost.version,
    )


def _blake2b_256(data: bytes, person: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32, person=person).digest()


@dataclass(frozen=True, repr=False)
class ReporterKeys:
    """What a receipt unlocks: the server-side lookup tag and the X25519 key.

    .. warning::
       ``private_key`` opens the reporter's grant and with it the whole case.
       Keep it only for the duration of a request; ``repr()`` hides both
       fields (the tag too, so a log line cannot be linked to a case).
    """

    lookup_tag: bytes
    private_key: PrivateKey

    def __post_init__(self) -> None:
        if len(self.lookup_tag) != LOOKUP_TAG_BYTES:
            raise ValueError(f"lookup_tag must be {LOOKUP_TAG_BYTES} bytes")

    @property
    def public_key(self) -> PublicKey:
        """The public half, which the server stores and seals grants to."""
        return self.private_key.public_key

    def __repr__(self) -> str:
        return "ReporterKeys(lookup_tag=<hidden>, private_key=<hidden>)"


def derive_reporter_keys(receipt: Receipt, tenant_salt: bytes, cost: KdfCost) -> ReporterKeys:
    """Derive the lookup tag and X25519 key pair from a receipt.

    Deterministic: the same receipt, salt and cost always give the same keys,
    which is what lets a reporter come back with only the code.

    .. warning::
       Changing ``cost`` or ``tenant_salt`` changes every key: store the cost
       with what the keys protect (:meth:`KdfCost.to_text`) and derive again
       with the stored one; the tenant salt must never change.

    :raises ValueError: if ``tenant_salt`` is not :data:`TENANT_SALT_BYTES` long.
    """
    if len(tenant_salt) != TENANT_SALT_BYTES:
        raise ValueError(f"tenant_salt must be {TENANT_SALT_BYTES} bytes")
    seed = _argon2id(receipt.secret_bytes, tenant_salt, cost)
    return ReporterKeys(
        lookup_tag=_blake2b_256(seed, _PERSON_LOOKUP),
        private_key=PrivateKey(_blake2b_256(seed, _PERSON_REPORTER)),
    )


def derive_key_from_password(password: str, salt: bytes, cost: KdfCost) -> bytes:
    """Derive a 32-byte key from a staff password with Argon2id.

    The password is NFC-normalised first so that the same password typed on
    different keyboards (precomposed or combining accents) gives one key.

    .. warning::
       Use a fresh random salt per user (at least
       :data:`PASSWORD_SALT_MIN_BYTES`) and :data:`PRODUCTION_COST` outside
       tests.

    :raises ValueError: if ``salt`` is shorter than
        :data:`PASSWORD_SALT_MIN_BYTES`.
    """
    if len(salt) < PASSWORD_SALT_MIN_BYTES:
        raise ValueError(f"salt must be at least {PASSWORD_SALT_MIN_BYTES} bytes")
    secret = unicodedata.normalize("NFC", password).encode("utf-8")
    return _argon2id(secret, salt, cost)


def seconds_per_derivation(cost: KdfCost) -> float:
    """Time one Argon2id derivation at ``cost`` on this machine, in seconds.

    For benchmarks that help choose a cost; it derives from a fixed dummy
    input, so nothing secret is involved.
    """
    with DERIVATIONS:  # the derivation's own time, not a wait for another one
        start = time.perf_counter()
        _argon2id_now(b"visselpipa benchmark", bytes(TENANT_SALT_BYTES), cost)
        return time.perf_counter() - start
