"""The one exception root of the attachment library and its refusals.

Every refusal carries a stable ``code`` (for logs, metrics and tests: it never
contains anything from the file) and says in Swedish and English, in words a
reporter understands, what was wrong and what to do instead.
"""

from __future__ import annotations

from typing import Final

__all__ = ["REASONS", "AttachmentError", "Refused", "locale_is_swedish"]


def locale_is_swedish(locale: str) -> bool:
    """``sv``, ``sv_SE``, ``sv-FI`` … are Swedish; everything else is English."""
    return locale.lower().replace("-", "_").split("_")[0] == "sv"


_NOT_ACCEPTED_SV: Final = "Den här sortens fil tas inte emot: "
_NOT_ACCEPTED_EN: Final = "This kind of file is not accepted: "

#: code → (Swedish, English). Codes whose text is a *kind* of file get the
#: "not accepted" prefix; the others are full sentences about this file.
REASONS: Final[dict[str, tuple[str, str]]] = {
    "empty": ("en tom fil.", "an empty file."),
    "unknown": (
        "ett format som inte känns igen. Spara filen som PDF, bild (JPEG/PNG), "
        "ljud (MP3/M4A/WAV) eller text och bifoga den igen.",
        "a format we do not recognise. Save it as PDF, an image (JPEG/PNG), "
        "audio (MP3/M4A/WAV) or text and attach it again.",
    ),
    "executable": ("ett program (körbar fil).", "a program (executable file)."),
    "script": (
        "ett skript (ett program i textform som börjar med #!). Klistra in texten i "
        "rapporten om den behövs som bevis.",
        "a script (a program in text form starting with #!). Paste the text into the "
        "report if it is needed as evidence.",
    ),
    "active_content": (
        "en webbsida eller SVG-bild, som kan köra skript hos den som öppnar den. "
        "Spara den som PDF eller ta en skärmbild.",
        "a web page or SVG image, which can run scripts for whoever opens it. "
        "Save it as PDF or take a screenshot.",
    ),
    "archive": (
        "ett komprimerat arkiv (zip, 7z, rar, tar, gz). Bifoga filerna i det en och en.",
        "a compressed archive (zip, 7z, rar, tar, gz). Attach the files inside it one by one.",
    ),
    "legacy_office": (
        "ett äldre Office-format (.doc, .xls, .ppt) som kan dölja makron. "
        "Spara det som .docx, .xlsx, .pptx eller PDF.",
        "an old Office format (.doc, .xls, .ppt) that can hide macros. "
        "Save it as .docx, .xlsx, .pptx or PDF.",
    ),
    "rtf": (
        "RTF, som kan dölja inbäddade objekt. Spara det som .docx eller PDF.",
        "RTF, which can hide embedded objects. Save it as .docx or PDF.",
    ),
    "heic": (
        "en HEIC-bild, vars dolda uppgifter (till exempel position) inte kan tas bort här. "
        "Exportera bilden som JPEG.",
        "a HEIC photo, whose hidden details (such as location) cannot be removed here. "
        "Export it as JPEG.",
    ),
    "video": (
        "video. Bifoga ljudet separat eller skärmbilder.",
        "video. Attach the sound separately or screenshots.",
    ),
    "macros": (
        "Filen innehåller makron (program) och tas inte emot. Spara den utan makron "
        "(.docx, .xlsx, .pptx) eller som PDF.",
        "The file contains macros (programs) and is not accepted. Save it without macros "
        "(.docx, .xlsx, .pptx) or as PDF.",
    ),
    "archive_bomb": (
        "Filen packas upp till mycket mer data än den innehåller (en möjlig ”zip-bomb”) "
        "och tas inte emot.",
        "The file unpacks to far more data than it holds (a possible “zip bomb”) "
        "and is not accepted.",
    ),
    "nested_archive": (
        "Filen innehåller ett annat arkiv, program eller inbäddat objekt och tas inte emot. "
        "Spara dokumentet som PDF.",
        "The file contains another archive, program or embedded object and is not accepted. "
        "Save the document as PDF.",
    ),
    "external_content": (
        "Dokumentet hämtar innehåll från internet när det öppnas och tas inte emot. "
        "Spara det som PDF.",
        "The document fetches content from the internet when it is opened and is not "
        "accepted. Save it as PDF.",
    ),
    "pdf_active": (
        "PDF-filen innehåller JavaScript, bifogade filer eller åtgärder som startar program "
        "och tas inte emot. Skriv ut den till en ny PDF och bifoga den.",
        "The PDF contains JavaScript, attached files or actions that start programs and is "
        "not accepted. Print it to a new PDF and attach that.",
    ),
    "formula": (
        "Filen innehåller formler som kan köra kommandon när den öppnas i ett "
        "kalkylprogram och tas inte emot.",
        "The file contains formulas that can run commands when it is opened in a "
        "spreadsheet program and is not accepted.",
    ),
    "mail_attachments": (
        "E-postmeddelandet har bifogade filer. Bifoga filerna separat, så kontrolleras "
        "de också, och meddelandet utan dem.",
        "The e-mail has attached files. Attach the files separately, so that they are "
        "checked too, and the message without them.",
    ),
    "encrypted": (
        "Filen är lösenordsskyddad och kan därför inte kontrolleras. Ta bort lösenordet "
        "och bifoga den igen.",
        "The file is password-protected, so it cannot be checked. Remove the password "
        "and attach it again.",
    ),
    "damaged": (
        "Filen är skadad eller inte vad den ser ut att vara och tas inte emot.",
        "The file is damaged or not what it appears to be and is not accepted.",
    ),
    "too_large_to_check": (
        "Filen är för stor för att kunna kontrolleras för dolda personuppgifter "
        "(gräns {detail} MiB för den här sortens fil).",
        "The file is too large to be checked for hidden personal details "
        "(limit {detail} MiB for this kind of file).",
    ),
}

#: Codes that name a kind of file rather than describe this one.
_KIND_CODES: Final = frozenset(
    {
        "empty",
        "unknown",
        "executable",
        "script",
        "active_content",
        "archive",
        "legacy_office",
        "rtf",
        "heic",
        "video",
    }
)


class AttachmentError(Exception):
    """Root of every error this library raises on purpose."""


class Refused(AttachmentError):
    """The file is not accepted; :meth:`message` says why, for the reporter.

    ``code`` is one of :data:`REASONS`; ``detail`` fills the ``{detail}`` slot
    of the few messages that have one and never holds file content.
    """

    def __init__(self, code: str, detail: str = "") -> None:
        if code not in REASONS:
            raise ValueError(f"unknown refusal code {code!r}")
        super().__init__(code)
        self.code = code
        self.detail = detail

    def message(self, locale: str = "sv") -> str:
        """The reason in plain words, in Swedish (``sv*``) or English."""
        sv, en = REASONS[self.code]
        swedish = locale_is_swedish(locale)
        text = (sv if swedish else en).format(detail=self.detail)
        if self.code in _KIND_CODES:
            text = (_NOT_ACCEPTED_SV if swedish else _NOT_ACCEPTED_EN) + text
        return text

    def __repr__(self) -> str:
        return f"Refused({self.code!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Refused) and other.code == self.code and other.detail == self.detail
        )

    def __hash__(self) -> int:
        return hash((self.code, self.detail))
