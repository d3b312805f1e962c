"""The privacy notice and the record of processing activities, read from ``privacy.toml``.

One file feeds the ``/privacy`` page and ``visselpipa processing-record``
(GDPR art. 30); the periods in both come from the real settings, never
from this file, so what the notice promises is what the tick does.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRIVACY_FILE = Path(__file__).resolve().parent / "privacy.toml"

#: The texts with one version per language ``[table] sv = … en = …``.
_SINGLE = ("controller", "dpo", "legal_basis", "restrictions", "security", "review")
#: The lists ``[[name]] sv = … en = …``.
_LISTS = ("purpose", "processed", "recipient", "right")


class PrivacyFileError(ValueError):
    """``privacy.toml`` is missing a text or has one too many; the message names it."""


@dataclass(frozen=True)
class Text:
    sv: str
    en: str

    def __call__(self, locale: str) -> str:
        return self.en if locale == "en" else self.sv


@dataclass(frozen=True)
class PrivacyNotice:
    controller: Text
    controller_contact: Text
    dpo: Text
    legal_basis: Text
    restrictions: Text
    security: Text
    review: Text
    purposes: tuple[Text, ...]
    processed: tuple[Text, ...]
    recipients: tuple[Text, ...]
    rights: tuple[Text, ...]


def _text(path: Path, key: str, table: Any, sv: str = "sv", en: str = "en") -> Text:
    if not isinstance(table, dict):
        raise PrivacyFileError(f"{path}: key {key}: a table with {sv} and {en} is required")
    for name in (sv, en):
        value = table.get(name)
        if not isinstance(value, str) or not value.strip():
            raise PrivacyFileError(f"{path}: key {key}.{name}: a non-empty text is required")
    return Text(table[sv].strip(), table[en].strip())


def load_privacy(path: Path = PRIVACY_FILE) -> PrivacyNotice:
    """Read and check ``path``; raise :class:`PrivacyFileError` naming the first problem."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError as e:
        raise PrivacyFileError(f"{path}: file not found") from e
    except tomllib.TOMLDecodeError as e:
        raise PrivacyFileError(f"{path}: not valid TOML: {e}") from e
    unknown = set(data) - set(_SINGLE) - set(_LISTS)
    if unknown:
        raise PrivacyFileError(f"{path}: unknown keys {sorted(unknown)}")
    single = {key: _text(path, key, data.get(key)) for key in _SINGLE}
    lists: dict[str, tuple[Text, ...]] = {}
    for key in _LISTS:
        rows = data.get(key)
        if not isinstance(rows, list) or not rows:
            raise PrivacyFileError(f"{path}: key [[{key}]]: at least one entry is required")
        lists[key] = tuple(_text(path, f"{key}[{i}]", row) for i, row in enumerate(rows))
    return PrivacyNotice(
        controller=single["controller"],
        controller_contact=_text(
            path, "controller", data["controller"], "contact_sv", "contact_en"
        ),
        dpo=single["dpo"],
        legal_basis=single["legal_basis"],
        restrictions=single["restrictions"],
        security=single["security"],
        review=single["review"],
        purposes=lists["purpose"],
        processed=lists["processed"],
        recipients=lists["recipient"],
        rights=lists["right"],
    )
