"""config/external.toml against the checked-in list of the ordinance's authorities."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.i18n import collation_key
from config.settings import PACKAGE_DIR, ConfigError, load_reference

ORDINANCE_LIST = Path(__file__).resolve().parents[2] / "data" / "ordinance_2021_949_authorities.txt"


def _ordinance() -> list[str]:
    lines = ORDINANCE_LIST.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _authorities():
    return load_reference()["authorities"]


def test_the_checked_in_list_names_its_source_and_holds_the_ordinances_thirty():
    header = ORDINANCE_LIST.read_text(encoding="utf-8").split("\n\n")[0]
    assert "Förordning (2021:949)" in header and "Source: " in header and "https://" in header
    names = _ordinance()
    assert len(names) == len(set(names)) == 30


def test_every_authority_of_the_ordinance_is_an_external_channel():
    swedish = {a.sv for a in _authorities() if a.kind == "se"}
    missing = [name for name in _ordinance() if name not in swedish]
    assert missing == []


def test_every_swedish_entry_is_in_the_ordinance_and_every_other_is_of_the_eu():
    ordinance = set(_ordinance())
    for a in _authorities():
        if a.kind == "se":
            assert a.sv in ordinance, f"{a.sv} is not a competent authority of 2021:949"
        else:
            assert a.kind == "eu", a.sv
            assert ".europa.eu" in a.url, f"{a.en}: not an address of the EU"


def test_every_entry_cites_its_source_and_has_both_languages():
    for a in _authorities():
        assert a.source.strip(), a.sv
        if a.kind == "se":
            assert "2021:949" in a.source, a.sv
        assert a.en != a.sv and a.area_en != a.area_sv, a.sv
        assert a.url.startswith("https://") or a.url.startswith("http://"), a.sv


def test_the_eu_channels_include_olaf_and_the_european_public_prosecutor():
    union = {a.en for a in _authorities() if a.kind == "eu"}
    assert "European Anti-Fraud Office (OLAF)" in union
    assert "European Public Prosecutor's Office (EPPO)" in union


def test_arbetsmiljoverket_takes_what_no_other_authority_covers():
    # /external says so; the entry's area must keep saying it.
    (av,) = [a for a in _authorities() if a.sv == "Arbetsmiljöverket"]
    assert "ingen annan behörig myndighet" in av.area_sv
    assert "no other competent authority" in av.area_en


def test_an_entry_of_an_unknown_kind_or_without_a_source_is_refused(tmp_path):
    for name in ("categories.toml", "agencies.toml", "desks.toml"):
        (tmp_path / name).write_bytes((PACKAGE_DIR / name).read_bytes())
    entry = (
        '[[authority]]\nkind = "{kind}"\nsv = "A"\nen = "B"\narea_sv = "C"\narea_en = "D"\n'
        'url = "https://example.org"\n'
    )
    (tmp_path / "external.toml").write_text(entry.format(kind="se"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"authority\[0\]\.source"):
        load_reference(tmp_path)
    (tmp_path / "external.toml").write_text(
        entry.format(kind="un") + 'source = "x"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"authority\[0\]\.kind"):
        load_reference(tmp_path)


def test_names_sort_in_swedish_order():
    names = ["Öland", "Ärlig", "Åsa", "Zeta", "aska"]
    assert sorted(names, key=collation_key) == ["aska", "Zeta", "Åsa", "Ärlig", "Öland"]
