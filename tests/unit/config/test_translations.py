"""Every text a person sees exists in Swedish, and the compiled catalogue is current."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
CATALOG = ROOT / "app" / "translations" / "sv" / "LC_MESSAGES"
METHODS = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None, "ngettext": (1, 2)}


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_in_the_code_has_a_swedish_translation():
    with open(CATALOG / "messages.po", "rb") as f:
        catalog = read_po(f, locale="sv")
    missing = sorted(
        m for m in _source_messages() if not (catalog.get(m) and catalog.get(m).string)
    )
    assert missing == [], "untranslated (run `make messages` and translate): " + repr(missing)
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == [], "fuzzy (not compiled, shown in English): " + repr(fuzzy)


def test_compiled_catalogue_matches_the_po_file():
    def plain(value):  # a plural entry: a tuple from the .po, a list from the .mo
        return tuple(value) if isinstance(value, list | tuple) else value

    with open(CATALOG / "messages.po", "rb") as f:
        po = {plain(m.id): plain(m.string) for m in read_po(f, locale="sv") if m.id}
    compiled = read_mo(io.BytesIO((CATALOG / "messages.mo").read_bytes()))
    mo = {plain(m.id): plain(m.string) for m in compiled if m.id}
    assert po == mo, "messages.mo is stale: run `make messages`"
