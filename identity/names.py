"""Staff named in a report: matched at the edge, before the report is sealed.

An account may carry a display name ("Anna Lind") and other names it is
known by ("Anna Lindqvist", "Lind"). When a report arrives, the intake
matches the text of "Who was involved?" against every account's names while
the text is still in memory, and the case records only the ids of the
accounts that matched (``ReportReceived.named_staff``), never the text that
matched: those accounts are recused, the case is hidden from them, and a
desk whose every member is named does not get the case (routing).

A name matches when its words appear in the text as whole words, next to
each other, in the name's order or reversed ("Anna Lind", "Lind, Anna",
"LIND anna"), after Unicode normalisation (NFKC) and case folding, so that
"Åsa Öberg" matches "åsa öberg" but not "Asa Oberg" (different letters in
Swedish). Words of one letter are ignored; a name of one word (a nickname
given as another name) matches that word alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

_WORD = re.compile(r"\w+", re.UNICODE)
#: At most this many names per account, each at most NAME_MAX characters.
NAMES_MAX = 10
NAME_MAX = 200


def words(text: str) -> list[str]:
    """The text's words, normalised and case-folded, digits and underscores dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [w for w in _WORD.findall(folded) if not w.isdigit() and "_" not in w]


def _name_words(name: str) -> tuple[str, ...]:
    return tuple(w for w in words(name) if len(w) > 1)


def _contains(text: Sequence[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(text[i : i + n]) == phrase for i in range(len(text) - n + 1))


def mentions(text: str, name: str) -> bool:
    """Whether ``name`` appears in ``text`` (see the module text)."""
    phrase = _name_words(name)
    if not phrase:
        return False
    found = words(text)
    return _contains(found, phrase) or _contains(found, tuple(reversed(phrase)))


def named_accounts(text: str, names: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """The account ids (sorted) any of whose names appear in ``text``."""
    if not text.strip():
        return ()
    return tuple(
        sorted(
            staff_id
            for staff_id, own in names.items()
            if any(mentions(text, name) for name in own if name)
        )
    )


class NamesRefused(ValueError):
    """Names that cannot be stored; ``kind`` says which rule (for a translated message)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def clean_names(lines: Iterable[str]) -> tuple[str, ...]:
    """Names as typed (one per line): stripped, blank lines and repeats dropped.

    :raises NamesRefused: with what to fix (``kind`` "too_long", "no_word",
        "too_many"): a name without a word of two letters could never match.
    """
    found: list[str] = []
    for line in lines:
        name = " ".join(line.split())
        if not name or name in found:
            continue
        if len(name) > NAME_MAX:
            raise NamesRefused("too_long", f"a name is longer than {NAME_MAX} characters")
        if not _name_words(name):
            raise NamesRefused("no_word", f"{name!r} has no word of two letters or more")
        found.append(name)
    if len(found) > NAMES_MAX:
        raise NamesRefused("too_many", f"give at most {NAMES_MAX} names")
    return tuple(found)
