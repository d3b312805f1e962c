"""What inspection found, in words a reporter understands (Swedish and English).

A :class:`Finding` is one piece of hidden information: a stable ``code`` that
picks the label, and the value read from the file (already shortened and
stripped of control characters, so it can be shown as it is; templates still
escape it). ``removable`` says whether :func:`sanitize.clean` takes it
out; the few it cannot (an e-mail's own sender, the authors of tracked
changes inside a document's text) are shown so the reporter can decide.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Final

from sanitize.errors import Refused, locale_is_swedish
from sanitize.kinds import Kind

__all__ = ["LABELS", "CleanReport", "Finding", "Inspection", "shown"]

#: code → (Swedish label, English label).
LABELS: Final[dict[str, tuple[str, str]]] = {
    "gps": ("Position (GPS) där bilden togs", "Position (GPS) where the photo was taken"),
    "location": ("Plats", "Location"),
    "camera": ("Kamera", "Camera"),
    "lens": ("Objektiv", "Lens"),
    "serial": ("Serienummer", "Serial number"),
    "owner": ("Ägare av utrustningen", "Owner of the device"),
    "device": ("Dator eller enhet", "Computer or device"),
    "author": ("Författare", "Author"),
    "last_modified_by": ("Senast ändrad av", "Last modified by"),
    "company": ("Organisation", "Company"),
    "manager": ("Chef", "Manager"),
    "producer": ("Program som skapade filen", "Producer/Creator tool"),
    "software": ("Program", "Software"),
    "created": ("Skapad", "Creation date"),
    "modified": ("Ändrad", "Modified date"),
    "taken": ("Bilden togs", "Photo taken"),
    "printed": ("Senast utskriven", "Last printed"),
    "printer": ("Skrivare", "Printer"),
    "printed_by": ("Senast utskriven av", "Last printed by"),
    "editing_time": ("Redigeringstid", "Editing time"),
    "template": ("Mall", "Template"),
    "title": ("Titel", "Title"),
    "subject": ("Ämne", "Subject"),
    "keywords": ("Nyckelord", "Keywords"),
    "description": ("Beskrivning", "Description"),
    "comment": ("Kommentar", "Comment"),
    "copyright": ("Upphovsrätt", "Copyright"),
    "custom": ("Egen egenskap", "Custom property"),
    "document_id": (
        "Dokument-id som kan kopplas till originalfilen",
        "Document identifier that can link the file to the original",
    ),
    "history": ("Redigeringshistorik", "Editing history"),
    "thumbnail": (
        "En liten förhandsbild (kan visa bilden innan den beskars)",
        "A small preview image (may show the picture before it was cropped)",
    ),
    "extra_images": (
        "Extra bilder inuti filen (till exempel djupkarta eller förhandsbild)",
        "Extra images inside the file (for example a depth map or preview)",
    ),
    "maker_note": (
        "Tillverkarens egna uppgifter (kan innehålla serienummer)",
        "Manufacturer's private data (may include a serial number)",
    ),
    "xmp": ("XMP-metadata (programs- och redigeringsuppgifter)", "XMP metadata"),
    "iptc": ("IPTC/Photoshop-uppgifter", "IPTC/Photoshop details"),
    "text_field": ("Textfält", "Text field"),
    "metadata_block": (
        "Annat dolt uppgiftsblock (okänt innehåll)",
        "Other hidden block of data (unknown content)",
    ),
    "trailing_data": (
        "Data gömd efter filens slut",
        "Data hidden after the end of the file",
    ),
    "earlier_versions": (
        "Tidigare sparade versioner finns kvar i filen",
        "Earlier saved versions are still inside the file",
    ),
    "annotation_author": ("Kommentar i dokumentet skriven av", "Comment in the document by"),
    "revision_author": (
        "Spårade ändringar eller kommentarer av (tas inte bort: godkänn eller ta bort "
        "ändringarna och kommentarerna innan du bifogar)",
        "Tracked changes or comments by (not removed: accept or delete the changes and "
        "comments before attaching)",
    ),
    "tag": ("Ljudtagg", "Audio tag"),
    "artist": ("Artist", "Artist"),
    "album": ("Album", "Album"),
    "encoder": ("Kodad med", "Encoded with"),
    "picture": ("Inbäddad bild", "Embedded picture"),
    "mail_sender": ("Avsändare (tas inte bort)", "Sender (not removed)"),
    "mail_recipient": ("Mottagare (tas inte bort)", "Recipient (not removed)"),
    "mail_trace": (
        "Spår av e-postens väg (servrar, adresser, program)",
        "Traces of the e-mail's route (servers, addresses, programs)",
    ),
}

_MAX_VALUE: Final = 200


def shown(value: object, limit: int = _MAX_VALUE) -> str:
    """``value`` as a short single line safe to show: no control or format characters."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value)
    # Control and bidi-format characters could hide or reorder what the
    # reporter sees; the value is for reading, not for exact reproduction.
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text
    )
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


@dataclass(frozen=True)
class Finding:
    """One piece of hidden information found in a file.

    ``value`` is what was found (may be empty when the label says it all);
    ``value_sv`` is its Swedish form when that differs (decimal comma, Ö for
    east). ``removable`` is False for what :func:`clean` leaves in place.
    """

    code: str
    value: str = ""
    value_sv: str | None = None
    removable: bool = True

    def __post_init__(self) -> None:
        if self.code not in LABELS:
            raise ValueError(f"unknown finding code {self.code!r}")

    def text(self, locale: str = "sv") -> str:
        """The finding as one line, e.g. ``"Camera: Apple iPhone 13"``."""
        sv, en = LABELS[self.code]
        swedish = locale_is_swedish(locale)
        label = sv if swedish else en
        value = self.value_sv if swedish and self.value_sv is not None else self.value
        return f"{label}: {value}" if value else label


@dataclass
class Inspection:
    """The result of :func:`sanitize.inspect`.

    ``refused`` is set when the file must not be accepted (dangerous
    structure, damaged, too large to check); ``findings`` then may be
    incomplete. ``kind`` is the kind confirmed from the file's content, which
    for zip-based office files may differ from the kind :func:`sniff` guessed
    (a ``.docx`` that is really a spreadsheet).
    """

    kind: Kind
    findings: list[Finding] = field(default_factory=list)
    refused: Refused | None = None

    @property
    def accepted(self) -> bool:
        return self.refused is None

    @property
    def identifying(self) -> list[Finding]:
        """The findings :func:`clean` removes."""
        return [f for f in self.findings if f.removable]

    def add(
        self, code: str, value: object = "", *, value_sv: str | None = None, removable: bool = True
    ) -> None:
        """Record a finding once (the same thing found twice is shown once)."""
        finding = Finding(code, shown(value) if value != "" else "", value_sv, removable)
        if finding not in self.findings:
            self.findings.append(finding)


@dataclass
class CleanReport:
    """What :func:`sanitize.clean` did: what it removed, and how much it wrote."""

    kind: Kind
    removed: list[Finding] = field(default_factory=list)
    kept: list[Finding] = field(default_factory=list)
    bytes_written: int = 0
