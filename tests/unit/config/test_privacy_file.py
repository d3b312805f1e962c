"""config/privacy.toml: every text in both languages, or the start stops naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.privacy import PRIVACY_FILE, PrivacyFileError, load_privacy


def test_the_shipped_file_has_every_text_in_swedish_and_english() -> None:
    notice = load_privacy()
    for text in (notice.controller, notice.dpo, notice.legal_basis, notice.restrictions):
        assert text.sv and text.en and text.sv != text.en
    assert notice.rights and notice.processed and notice.purposes and notice.recipients


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda t: t.replace('[dpo]\nsv = "', '[dpo]\nsv_old = "'), "dpo.sv"),
        (lambda t: t.replace("[[right]]", "[[rights_list]]"), "unknown keys"),
        (lambda t: t.replace('contact_en = "', 'contact_en = "" #', 1), "controller.contact_en"),
    ],
)
def test_a_missing_text_is_named(tmp_path: Path, change, named: str) -> None:
    broken = tmp_path / "privacy.toml"
    broken.write_text(change(PRIVACY_FILE.read_text()))
    with pytest.raises(PrivacyFileError, match=named.replace(".", r"\.")):
        load_privacy(broken)
