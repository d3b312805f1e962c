"""Receipt codes: entropy, format, normalisation and typo detection."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import crypto.receipt
from crypto.errors import CryptoError, InvalidReceipt
from crypto.receipt import (
    ALPHABET,
    CODE_CHARS,
    DATA_CHARS,
    Receipt,
    check_character,
    normalise,
)

GROUPED = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$")


def _random_code(rng: random.Random) -> str:
    data = "".join(rng.choice(ALPHABET) for _ in range(DATA_CHARS))
    return data + check_character(data)


SAMPLE_CODES = [
    Receipt.generate().canonical,
    Receipt.generate().canonical,
    *(_random_code(random.Random(seed)) for seed in range(3)),
    "0" * DATA_CHARS + check_character("0" * DATA_CHARS),
]


def _substitutions(code: str) -> list[str]:
    return [
        code[:p] + symbol + code[p + 1 :]
        for p in range(CODE_CHARS)
        for symbol in ALPHABET
        if symbol != code[p]
    ]


def _transpositions(code: str) -> list[str]:
    out = []
    for p in range(CODE_CHARS):
        for q in range(p + 1, CODE_CHARS):
            if code[p] != code[q]:
                chars = list(code)
                chars[p], chars[q] = chars[q], chars[p]
                out.append("".join(chars))
    return out


codes = st.builds(
    lambda data: data + check_character(data),
    st.text(alphabet=ALPHABET, min_size=DATA_CHARS, max_size=DATA_CHARS),
)


class TestGeneration:
    def test_a_new_receipt_is_19_random_symbols_and_a_check_symbol(self) -> None:
        receipt = Receipt.generate()
        assert len(receipt.canonical) == CODE_CHARS == 20
        assert set(receipt.canonical) <= set(ALPHABET)
        assert receipt.canonical[-1] == check_character(receipt.canonical[:DATA_CHARS])
        assert DATA_CHARS * 5 >= 80  # the design asks for at least 80 bits

    def test_data_symbols_come_from_the_secrets_csprng(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        drawn: list[str] = []

        def recording_choice(seq: str) -> str:
            assert seq == ALPHABET
            drawn.append(ALPHABET[len(drawn) % 32])
            return drawn[-1]

        monkeypatch.setattr("secrets.choice", recording_choice)
        receipt = Receipt.generate()
        assert len(drawn) == DATA_CHARS
        assert receipt.canonical[:DATA_CHARS] == "".join(drawn)

    def test_every_symbol_turns_up_in_every_position(self) -> None:
        # With 2000 codes, a fair source misses a given (position, symbol)
        # with probability (31/32)**2000 < 1e-27: this fails only if the
        # generator does not use the whole alphabet everywhere.
        seen = [set[str]() for _ in range(DATA_CHARS)]
        for _ in range(2000):
            for position, symbol in enumerate(Receipt.generate().canonical[:DATA_CHARS]):
                seen[position].add(symbol)
        assert all(s == set(ALPHABET) for s in seen)

    def test_codes_do_not_repeat(self) -> None:
        assert len({Receipt.generate() for _ in range(1000)}) == 1000


class TestDisplay:
    def test_str_groups_five_by_four(self) -> None:
        receipt = Receipt.generate()
        assert GROUPED.match(str(receipt))
        assert str(receipt).replace("-", "") == receipt.canonical

    def test_secret_bytes_are_the_canonical_ascii(self) -> None:
        receipt = Receipt.generate()
        assert receipt.secret_bytes == receipt.canonical.encode("ascii")

    def test_repr_never_shows_the_code(self) -> None:
        receipt = Receipt.generate()
        for text in (repr(receipt), f"{receipt!r}", repr([receipt]), repr({"r": receipt})):
            assert receipt.canonical not in text
            assert receipt.canonical[:4] not in text
        assert repr(receipt) == "Receipt(<hidden>)"


class TestNormalisation:
    @pytest.mark.parametrize(
        ("typed", "expected"),
        [
            ("abcd-efgh", "ABCDEFGH"),
            ("o O i I l L u U", "00111 1VV".replace(" ", "")),
            ("  12\t34\n56 ", "123456"),
            ("12_34.56–78—90", "1234567890"),
            ("１２ＡＢ", "12AB"),  # full-width, as some input methods type it
            ("12\u00a034", "1234"),  # no-break space
        ],
    )
    def test_normalise(self, typed: str, expected: str) -> None:
        assert normalise(typed) == expected

    @given(codes, st.randoms(use_true_random=False))
    def test_a_sloppily_typed_code_parses_to_the_same_receipt(
        self, code: str, rng: random.Random
    ) -> None:
        receipt = Receipt(code)
        typed = []
        for ch in str(receipt):
            variants = {ch, ch.lower()}
            variants |= {"0": {"o", "O"}, "1": {"i", "I", "l", "L"}, "V": {"u", "U"}}.get(ch, set())
            typed.append(rng.choice(sorted(variants)))
            typed.append(rng.choice(["", "", "", " ", "-", "–", " - "]))
        assert Receipt.parse("".join(typed)) == receipt

    def test_parse_accepts_the_displayed_form(self) -> None:
        receipt = Receipt.generate()
        assert Receipt.parse(str(receipt)) == receipt
        assert Receipt.parse(f"  {str(receipt).lower()}  ") == receipt


class TestRejection:
    @pytest.mark.parametrize(
        "text",
        ["", "0" * 19, "0" * 21, "*" + Receipt.generate().canonical[1:], "Ä" * 20],
    )
    def test_malformed_input_is_rejected(self, text: str) -> None:
        with pytest.raises(InvalidReceipt):
            Receipt.parse(text)

    def test_a_wrong_check_character_is_rejected(self) -> None:
        code = Receipt.generate().canonical
        for symbol in ALPHABET.replace(code[-1], ""):
            with pytest.raises(InvalidReceipt):
                Receipt.parse(code[:-1] + symbol)

    def test_the_constructor_takes_only_canonical_codes(self) -> None:
        receipt = Receipt.generate()
        with pytest.raises(InvalidReceipt):
            Receipt(str(receipt))
        with pytest.raises(InvalidReceipt):
            Receipt(receipt.canonical.lower())

    def test_the_error_never_echoes_the_input(self) -> None:
        code = Receipt.generate().canonical
        with pytest.raises(InvalidReceipt) as info:
            Receipt.parse(code[:-1] + ("0" if code[-1] != "0" else "1"))
        assert str(info.value) == InvalidReceipt.MESSAGE
        assert code[:8] not in str(info.value)
        assert isinstance(info.value, CryptoError)


class TestCheckCharacter:
    def test_alpha_generates_all_31_non_zero_elements(self) -> None:
        # x^5 + x^2 + 1 is primitive: the proof in crypto.receipt rests on it.
        powers = [1]
        for _ in range(31):
            powers.append(crypto.receipt._gf32_mul(powers[-1], 2))
        assert sorted(powers[:31]) == list(range(1, 32))
        assert powers[31] == 1

    def test_multiplication_is_a_field(self) -> None:
        mul = crypto.receipt._gf32_mul
        for a in range(1, 32):
            assert sorted(mul(a, b) for b in range(1, 32)) == list(range(1, 32))

    @pytest.mark.parametrize("code", SAMPLE_CODES)
    def test_every_single_substitution_is_detected(self, code: str) -> None:
        Receipt(code)
        for typo in _substitutions(code):
            with pytest.raises(InvalidReceipt):
                Receipt(typo)

    @pytest.mark.parametrize("code", SAMPLE_CODES)
    def test_every_transposition_is_detected(self, code: str) -> None:
        # All pairs, adjacent or not, including swaps with the check symbol.
        for swapped in _transpositions(code):
            with pytest.raises(InvalidReceipt):
                Receipt(swapped)

    def test_swapping_the_first_and_the_check_symbol_is_detected(self) -> None:
        # The case that plain weights alpha^i (i from 0) would miss.
        for _ in range(200):
            code = Receipt.generate().canonical
            if code[0] != code[-1]:
                with pytest.raises(InvalidReceipt):
                    Receipt(code[-1] + code[1:-1] + code[0])

    @given(codes, st.integers(0, CODE_CHARS - 1), st.sampled_from(ALPHABET))
    def test_substitution_property(self, code: str, position: int, symbol: str) -> None:
        typo = code[:position] + symbol + code[position + 1 :]
        if typo == code:
            assert Receipt(typo).canonical == code
        else:
            with pytest.raises(InvalidReceipt):
                Receipt(typo)

    @given(codes, st.integers(0, CODE_CHARS - 1), st.integers(0, CODE_CHARS - 1))
    def test_transposition_property(self, code: str, p: int, q: int) -> None:
        chars = list(code)
        chars[p], chars[q] = chars[q], chars[p]
        swapped = "".join(chars)
        if swapped == code:
            assert Receipt(swapped).canonical == code
        else:
            with pytest.raises(InvalidReceipt):
                Receipt(swapped)
