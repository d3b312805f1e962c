"""identity/names.py: which accounts a report's "who was involved" names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.names import NamesRefused, clean_names, mentions, named_accounts

NAMES = {"a1": ("Anna Lind", "Anna Lindqvist"), "b2": ("Åsa Öberg",), "c3": ("Bo", "Bosse")}


@pytest.mark.parametrize(
    "text",
    [
        "Anna Lind på inköp",
        "LIND, Anna",
        "anna\n  lind",
        "enhetschefen (Anna Lindqvist) och hennes ställföreträdare",
        "Det var Anna Lind.",
    ],
)
def test_a_name_is_found_however_it_is_written(text):
    assert named_accounts(text, NAMES) == ("a1",)


@pytest.mark.parametrize(
    "text",
    ["Annalind", "Anna Lindberg", "Lind", "Anna", "Anna och Lind", "anna-lena lind", ""],
)
def test_a_part_of_a_name_or_another_name_is_not_a_match(text):
    assert named_accounts(text, NAMES) == ()


def test_swedish_letters_count_as_letters():
    assert named_accounts("åsa öberg, controller", NAMES) == ("b2",)
    assert named_accounts("Asa Oberg", NAMES) == ()  # other letters in Swedish
    assert named_accounts("Åsa Öberg", NAMES) == ("b2",)  # NFC
    assert named_accounts("A\u030asa O\u0308berg", NAMES) == ("b2",)  # decomposed (NFKC)


def test_a_one_word_name_matches_that_word_alone():
    assert named_accounts("chefen Bosse och Anna Lind", NAMES) == ("a1", "c3")
    assert named_accounts("Bosses chef", NAMES) == ()


@given(st.text(max_size=200))
def test_matching_never_fails_and_only_names_known_accounts(text):
    assert set(named_accounts(text, NAMES)) <= set(NAMES)


@given(
    st.sampled_from([n for ns in NAMES.values() for n in ns]),
    st.text(alphabet="abcåäö XYZ,.()\n-", max_size=40),
)
def test_a_name_surrounded_by_other_text_is_found(name, noise):
    assert mentions(f"{noise} {name} {noise}", name)


def test_names_as_typed_are_cleaned_and_checked():
    assert clean_names(["  Anna   Lind ", "", "Anna Lind", "Lindqvist"]) == (
        "Anna Lind",
        "Lindqvist",
    )
    with pytest.raises(NamesRefused) as refused:
        clean_names(["A"])
    assert refused.value.kind == "no_word"
    with pytest.raises(NamesRefused) as refused:
        clean_names([f"Namn{i}" for i in range(11)])
    assert refused.value.kind == "too_many"
    with pytest.raises(NamesRefused) as refused:
        clean_names(["x" * 201])
    assert refused.value.kind == "too_long"
