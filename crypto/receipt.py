"""Receipt codes: the one secret a reporter keeps to come back to a case.

A receipt is 19 random Crockford base32 characters (95 bits from the CSPRNG)
and one check character, shown as five groups of four for reading aloud::

    7K3M-QX0D-T2GA-9WRB-HN4Q

Why the check character catches every single typo and every transposition
-------------------------------------------------------------------------
Each character is a value in GF(32) = GF(2)[x] / (x^5 + x^2 + 1); the
polynomial is primitive, so alpha = x has multiplicative order 31 and
alpha^0 .. alpha^30 are 31 *distinct non-zero* elements. Give position i
(0..18) the weight alpha^(i+1) and the check position (19) the weight
alpha^0 = 1, and choose the check value c so that the whole code satisfies

    S = c + sum_{i=0..18} alpha^(i+1) * v_i = 0        (+ is XOR in GF(2^5))

i.e. c = sum alpha^(i+1) * v_i. All 20 weights are distinct and non-zero
because 20 < 31. Then:

* a substitution v -> v' at position p changes S by w_p * (v + v'), a product
  of two non-zero field elements, which is non-zero: detected;
* swapping the (different) values a, b at positions p != q changes S by
  (w_p + w_q) * (a + b); w_p != w_q so both factors are non-zero: detected,
  adjacent or not, and including swaps with the check character itself.

(The weights start at alpha^1 rather than alpha^0 for that last point: with
alpha^0 on position 0 as well as on the check character, swapping those two
would go unnoticed.) ``tests/unit/crypto/test_receipt.py`` checks all of
this exhaustively for sample codes.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from typing import Final

from crypto.errors import InvalidReceipt

__all__ = ["ALPHABET", "CODE_CHARS", "DATA_CHARS", "Receipt", "check_character", "normalise"]

#: Crockford base32: no I, L, O (look like 1, 1, 0) and no U.
ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Random characters per code: 19 * 5 = 95 bits of entropy.
DATA_CHARS: Final = 19
#: Data characters plus the check character.
CODE_CHARS: Final = DATA_CHARS + 1
_GROUP: Final = 4

_VALUE: Final = {symbol: value for value, symbol in enumerate(ALPHABET)}
# x^5 + x^2 + 1, the primitive polynomial that defines GF(32).
_MODULUS: Final = 0b100101

# Characters people type or paste between the groups: ASCII and typographic
# dashes (word processors turn "-" into them), underscores and dots.
_SEPARATORS: Final = frozenset("-_.\u2010\u2011\u2012\u2013\u2014\u2212")
# Letters Crockford base32 leaves out because they look like others.
_LOOK_ALIKES: Final = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def _gf32_mul(a: int, b: int) -> int:
    """Multiply two elements of GF(32) (carry-less multiply, then reduce)."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= _MODULUS
    return product


def _alpha_powers(count: int) -> tuple[int, ...]:
    powers = []
    power = 1
    for _ in range(count):
        power = _gf32_mul(power, 2)
        powers.append(power)
    return tuple(powers)


# Weight of data position i is alpha^(i+1); see the module docstring.
_WEIGHTS: Final = _alpha_powers(DATA_CHARS)


def check_character(data: str) -> str:
    """Return the check character for ``DATA_CHARS`` canonical data characters.

    :raises InvalidReceipt: if ``data`` has the wrong length or a character
        outside :data:`ALPHABET`.
    """
    if len(data) != DATA_CHARS:
        raise InvalidReceipt()
    total = 0
    for weight, symbol in zip(_WEIGHTS, data, strict=True):
        value = _VALUE.get(symbol)
        if value is None:
            raise InvalidReceipt()
        total ^= _gf32_mul(weight, value)
    return ALPHABET[total]


def normalise(text: str) -> str:
    """Turn what a person typed into canonical receipt characters.

    NFKC (so full-width and other compatibility forms become ASCII), upper
    case, drop whitespace and separators (``-``, ``_``, ``.``, dashes), and
    map the look-alikes O→0, I→1, L→1, U→V. The result is not validated;
    :meth:`Receipt.parse` does that.
    """
    folded = unicodedata.normalize("NFKC", text).upper()
    kept = "".join(ch for ch in folded if not ch.isspace() and ch not in _SEPARATORS)
    return kept.translate(_LOOK_ALIKES)


@dataclass(frozen=True, repr=False)
class Receipt:
    """A well-formed receipt code, held in canonical form (20 characters).

    .. warning::
       The code is the reporter's key to the case. ``repr()`` hides it so it
       cannot slip into logs or tracebacks; ``str()`` shows it and is meant
       only for showing it to the reporter once.
    """

    canonical: str

    def __post_init__(self) -> None:
        code = self.canonical
        if not isinstance(code, str) or len(code) != CODE_CHARS:
            raise InvalidReceipt()
        # check_character rejects characters outside the alphabet in the data
        # part; the check character is compared against an alphabet symbol, so
        # an invalid one can never match.
        if check_character(code[:DATA_CHARS]) != code[DATA_CHARS]:
            raise InvalidReceipt()

    @classmethod
    def generate(cls) -> Receipt:
        """Draw a new receipt from the operating system's CSPRNG."""
        data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_CHARS))
        return cls(data + check_character(data))

    @classmethod
    def parse(cls, text: str) -> Receipt:
        """Parse a receipt as typed by a person (see :func:`normalise`).

        :raises InvalidReceipt: wrong length, a character outside the
            alphabet, or a check character that does not match.
        """
        return cls(normalise(text))

    @property
    def secret_bytes(self) -> bytes:
        """The canonical code as ASCII: the input to the key derivation."""
        return self.canonical.encode("ascii")

    def __str__(self) -> str:
        code = self.canonical
        return "-".join(code[i : i + _GROUP] for i in range(0, CODE_CHARS, _GROUP))

    def __repr__(self) -> str:
        return "Receipt(<hidden>)"
