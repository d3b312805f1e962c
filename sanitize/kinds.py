"""The kinds of file Visselpipa accepts, and how to tell them from content.

:func:`sniff` decides from the first bytes of the file (up to
:data:`SNIFF_BYTES`), never from its name or the content type the browser
declared: both are chosen by whoever sends the file. The one exception is a
zip-based office file whose first 64 KiB do not show which application made
it; then the name may pick between DOCX, XLSX and PPTX, and
:func:`sanitize.inspect` confirms the choice from the zip's
``[Content_Types].xml`` (or ``mimetype``), so a wrong name cannot make a
plain zip or another format acceptable.

Decisions, with reasons:

* Text that starts with ``#!`` is refused as a script: its own first line says
  it is a program, and the reporter can paste it into the report if it is
  evidence. A script without ``#!`` cannot be told from prose and is accepted
  as plain text; that is safe only because the staff side serves every text
  attachment as ``text/plain`` with ``nosniff`` and ``Content-Disposition:
  attachment``.
* HTML (anything a browser would sniff as HTML) and SVG are refused: both run
  scripts where they are opened. Other XML is not on the allow-list.
* RTF and the old binary Office formats (OLE: .doc, .xls, .ppt, also .msg)
  are refused: they carry embedded OLE objects and macros that cannot be
  checked reliably here; the message tells the reporter what to save as.
* HEIC/AVIF photos are recognised but refused: their EXIF (with GPS) lives in
  an ISO-BMFF item this library cannot remove without re-encoding.
* Text in a legacy 8-bit encoding (Windows-1252, common for older Swedish
  files) is accepted as text when it has no control characters; UTF-16 is not.
"""

from __future__ import annotations

import re
import zlib
from enum import StrEnum
from typing import Final, NamedTuple

from sanitize.errors import Refused, locale_is_swedish

__all__ = ["SNIFF_BYTES", "Family", "Kind", "accepted_summary", "sniff"]

#: How much of the start of a file :func:`sniff` looks at.
SNIFF_BYTES: Final = 64 * 1024


class Family(StrEnum):
    DOCUMENT = "document"
    IMAGE = "image"
    AUDIO = "audio"
    TEXT = "text"


class _Info(NamedTuple):
    family: Family
    media_type: str
    extension: str
    name_sv: str
    name_en: str


class Kind(StrEnum):
    """An accepted kind of file. The value is a stable code for storage."""

    PDF = "pdf"
    DOCX = "docx"
    XLSX = "xlsx"
    PPTX = "pptx"
    ODT = "odt"
    ODS = "ods"
    ODP = "odp"
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    GIF = "gif"
    MP3 = "mp3"
    M4A = "m4a"
    AAC = "aac"
    OGG = "ogg"
    OPUS = "opus"
    WAV = "wav"
    FLAC = "flac"
    TEXT = "text"
    CSV = "csv"
    EML = "eml"

    @property
    def family(self) -> Family:
        return _INFO[self].family

    @property
    def media_type(self) -> str:
        """The type to serve it as (the declared type of an upload is never used)."""
        return _INFO[self].media_type

    @property
    def extension(self) -> str:
        """A file name extension to use when the file is downloaded again."""
        return _INFO[self].extension

    def plain_name(self, locale: str = "sv") -> str:
        info = _INFO[self]
        return info.name_sv if locale_is_swedish(locale) else info.name_en


_D, _I, _A, _T = Family.DOCUMENT, Family.IMAGE, Family.AUDIO, Family.TEXT
_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."
_INFO: Final[dict[Kind, _Info]] = {
    Kind.PDF: _Info(_D, "application/pdf", "pdf", "PDF-dokument", "PDF document"),
    Kind.DOCX: _Info(
        _D,
        _OOXML + "wordprocessingml.document",
        "docx",
        "Word-dokument (DOCX)",
        "Word document (DOCX)",
    ),
    Kind.XLSX: _Info(
        _D,
        _OOXML + "spreadsheetml.sheet",
        "xlsx",
        "Excel-kalkylblad (XLSX)",
        "Excel spreadsheet (XLSX)",
    ),
    Kind.PPTX: _Info(
        _D,
        _OOXML + "presentationml.presentation",
        "pptx",
        "PowerPoint-presentation (PPTX)",
        "PowerPoint presentation (PPTX)",
    ),
    Kind.ODT: _Info(_D, _ODF + "text", "odt", "OpenDocument-text (ODT)", "OpenDocument text (ODT)"),
    Kind.ODS: _Info(
        _D,
        _ODF + "spreadsheet",
        "ods",
        "OpenDocument-kalkylblad (ODS)",
        "OpenDocument spreadsheet (ODS)",
    ),
    Kind.ODP: _Info(
        _D,
        _ODF + "presentation",
        "odp",
        "OpenDocument-presentation (ODP)",
        "OpenDocument presentation (ODP)",
    ),
    Kind.JPEG: _Info(_I, "image/jpeg", "jpg", "JPEG-bild", "JPEG image"),
    Kind.PNG: _Info(_I, "image/png", "png", "PNG-bild", "PNG image"),
    Kind.WEBP: _Info(_I, "image/webp", "webp", "WebP-bild", "WebP image"),
    Kind.GIF: _Info(_I, "image/gif", "gif", "GIF-bild", "GIF image"),
    Kind.MP3: _Info(_A, "audio/mpeg", "mp3", "MP3-ljud", "MP3 audio"),
    Kind.M4A: _Info(_A, "audio/mp4", "m4a", "M4A-ljud", "M4A audio"),
    Kind.AAC: _Info(_A, "audio/aac", "aac", "AAC-ljud", "AAC audio"),
    Kind.OGG: _Info(_A, "audio/ogg", "ogg", "Ogg Vorbis-ljud", "Ogg Vorbis audio"),
    Kind.OPUS: _Info(_A, "audio/ogg", "opus", "Opus-ljud", "Opus audio"),
    Kind.WAV: _Info(_A, "audio/wav", "wav", "WAV-ljud", "WAV audio"),
    Kind.FLAC: _Info(_A, "audio/flac", "flac", "FLAC-ljud", "FLAC audio"),
    Kind.TEXT: _Info(_T, "text/plain; charset=utf-8", "txt", "Text", "Plain text"),
    Kind.CSV: _Info(_T, "text/csv; charset=utf-8", "csv", "CSV-tabell", "CSV table"),
    Kind.EML: _Info(_T, "message/rfc822", "eml", "E-postmeddelande (EML)", "E-mail (EML)"),
}


def accepted_summary(locale: str = "sv") -> str:
    """One line listing what may be attached, for the upload form."""
    return ", ".join(kind.plain_name(locale) for kind in Kind)


# -- magic numbers ------------------------------------------------------------

_EXECUTABLE_MAGIC: Final = (
    b"MZ",  # DOS/Windows PE
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",  # Mach-O
    b"\xca\xfe\xba\xbe",  # Mach-O fat binary, Java class
    b"\x00asm",  # WebAssembly
    b"dex\n",  # Android
    b"L\x00\x00\x00\x01\x14\x02\x00",  # Windows shortcut (.lnk)
)
_ARCHIVE_MAGIC: Final = (
    b"PK\x05\x06",
    b"PK\x07\x08",  # empty or spanned zip
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"\x1f\x8b",  # gzip
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",  # zstandard
    b"MSCF",  # cabinet
    b"LZIP",
    b"070701",
    b"070702",
    b"070707",  # cpio
    b"xar!",
)
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
_HEIF_BRANDS: Final = frozenset(
    {
        b"heic",
        b"heix",
        b"hevc",
        b"hevx",
        b"heim",
        b"heis",
        b"hevm",
        b"hevs",
        b"mif1",
        b"msf1",
        b"avif",
        b"avis",
    }
)
_AUDIO_MP4_BRANDS: Final = frozenset({b"M4A ", b"M4B "})
_VIDEO_MP4_BRANDS: Final = frozenset({b"qt  ", b"M4V ", b"M4VH", b"M4VP", b"avc1", b"f4v "})

# What WHATWG MIME sniffing treats as HTML when it starts a resource
# (after whitespace), plus SVG and XHTML, which run scripts just the same.
_HTML_START: Final = re.compile(
    rb"<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|"
    rb"br|p|!--|svg|\?xml-stylesheet)[\s>/]",
    re.IGNORECASE,
)
_ACTIVE_ANYWHERE: Final = re.compile(
    rb"<(?:svg|html|script)[\s>/]|xmlns=[\"']http://www\.w3\.org/"
    rb"(?:2000/svg|1999/xhtml)",
    re.IGNORECASE,
)
_EML_HEADER: Final = re.compile(
    rb"^(?:from|to|cc|subject|date|received|return-path|message-id|mime-version|"
    rb"delivered-to|reply-to|x-[a-z0-9-]+|content-type|dkim-signature|arc-[a-z-]+|"
    rb"authentication-results|thread-topic|thread-index|in-reply-to|references):",
    re.IGNORECASE,
)


def sniff(head: bytes, name_hint: str = "") -> Kind:
    """The kind of a file judged from its first bytes.

    :param head: the start of the file: the first :data:`SNIFF_BYTES` bytes,
        or all of it if shorter. Less works but sees less.
    :param name_hint: the file name the browser sent. Used only to choose
        between DOCX, XLSX and PPTX when the content shows an office zip but
        not which one; :func:`sanitize.inspect` then verifies it.
    :raises Refused: for anything not on the allow-list.

    .. warning::
       ``sniff`` sees only the head. A file can start like a JPEG and carry a
       program after it; :func:`sanitize.inspect` (or ``clean``) reads
       the whole file and must run before the file is accepted.
    """
    head = bytes(head[:SNIFF_BYTES])
    if not head:
        raise Refused("empty")
    if head.startswith(_EXECUTABLE_MAGIC):
        raise Refused("executable")
    if head.startswith(b"#!"):
        raise Refused("script")
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(head, name_hint)
    if (
        head.startswith(_ARCHIVE_MAGIC)
        or head[257:262] == b"ustar"
        or head[0x8001:0x8006] == b"CD001"
    ):
        raise Refused("archive")
    if head.startswith(_OLE_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in head:
            raise Refused("encrypted")  # a password-protected DOCX/XLSX is an OLE box
        raise Refused("legacy_office")
    if head.startswith(b"{\\rtf"):
        raise Refused("rtf")
    if b"%PDF-" in head[:1024]:
        # The PDF specification lets readers accept up to 1 KiB of junk first.
        return Kind.PDF
    if head.startswith(b"\xff\xd8\xff"):
        return Kind.JPEG
    if head.startswith(_PNG_MAGIC):
        return Kind.PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Kind.GIF
    if head.startswith(b"RIFF") and len(head) >= 12:
        form = head[8:12]
        if form == b"WEBP":
            return Kind.WEBP
        if form == b"WAVE":
            return Kind.WAV
        if form == b"AVI ":
            raise Refused("video")
        raise Refused("unknown")
    if head[4:8] == b"ftyp":
        return _sniff_iso_bmff(head)
    if head.startswith(b"OggS"):
        return _sniff_ogg(head)
    if head.startswith(b"fLaC"):
        return Kind.FLAC
    if head.startswith(b"ID3"):
        return _sniff_after_id3(head)
    audio = _mpeg_audio(head, 0)
    if audio is not None:
        return audio
    return _sniff_text(head)


def _sniff_iso_bmff(head: bytes) -> Kind:
    size = int.from_bytes(head[0:4], "big")
    brands = {head[8:12]}
    brands.update(head[i : i + 4] for i in range(16, min(size, len(head), 256) - 3, 4))
    if brands & _HEIF_BRANDS:
        raise Refused("heic")
    if head[8:12] in _AUDIO_MP4_BRANDS or brands & _AUDIO_MP4_BRANDS:
        return Kind.M4A
    if head[8:12] in _VIDEO_MP4_BRANDS:
        raise Refused("video")
    # A generic brand (isom, mp42, 3gp…) is used for sound recordings and video
    # alike; inspect() walks the tracks and refuses a video.
    return Kind.M4A


def _sniff_ogg(head: bytes) -> Kind:
    if len(head) < 28:
        raise Refused("damaged")
    segments = head[26]
    payload = head[27 + segments : 27 + segments + 16]
    if payload.startswith(b"\x01vorbis"):
        return Kind.OGG
    if payload.startswith(b"OpusHead"):
        return Kind.OPUS
    if payload.startswith((b"\x80theora", b"\x80kate", b"fishead")):
        raise Refused("video")
    raise Refused("unknown")


def _sniff_after_id3(head: bytes) -> Kind:
    if len(head) < 10:
        raise Refused("damaged")
    size = 0
    for byte in head[6:10]:
        if byte & 0x80:
            raise Refused("damaged")
        size = (size << 7) | byte
    end = 10 + size + (10 if head[5] & 0x10 else 0)
    if end + 4 > len(head):
        # A long tag (cover art) hides what follows; MP3 is by far the most
        # common, and inspect() has mutagen confirm the audio stream.
        return Kind.MP3
    if head[end:].startswith(b"fLaC"):
        return Kind.FLAC
    # Some writers pad the tag with more zeros than its size says.
    while end < len(head) and head[end] == 0:
        end += 1
    audio = _mpeg_audio(head, end)
    if audio is None:
        raise Refused("unknown")
    return audio


_MP3_BITRATES: Final = {
    # (MPEG-1?) → kbit/s for layer III by index 1..14
    True: (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    False: (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES: Final = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_frame_length(header: bytes) -> int | None:
    """The length of the layer III frame starting with ``header``, or None."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version = (header[1] >> 3) & 3
    layer = (header[1] >> 1) & 3
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 3
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    bitrate = _MP3_BITRATES[mpeg1][bitrate_index - 1] * 1000
    rate = _MP3_RATES[version][rate_index]
    padding = (header[2] >> 1) & 1
    return (144 if mpeg1 else 72) * bitrate // rate + padding


def _mpeg_audio(head: bytes, at: int) -> Kind | None:
    """MP3 or ADTS AAC at ``at``, checked against the next frame to avoid chance matches."""
    header = head[at : at + 4]
    if len(header) < 4 or header[0] != 0xFF:
        return None
    if header[1] & 0xF6 == 0xF0:  # ADTS: sync, layer 00
        if len(head) < at + 7:
            return None
        length = ((head[at + 3] & 3) << 11) | (head[at + 4] << 3) | (head[at + 5] >> 5)
        following = head[at + length : at + length + 2]
        next_is_adts = (
            following[:1] == b"\xff" and following[1:2] != b"" and (following[1] & 0xF6 == 0xF0)
        )
        if length >= 7 and (len(following) < 2 or next_is_adts):
            return Kind.AAC
        return None
    frame = _mp3_frame_length(header)
    if frame is None:
        return None
    following = head[at + frame : at + frame + 4]
    if len(following) < 4 or _mp3_frame_length(following) is not None:
        return Kind.MP3
    return None


# -- zip-based office files ---------------------------------------------------

_OOXML_MAIN: Final = {
    b"wordprocessingml.document.main+xml": Kind.DOCX,
    b"wordprocessingml.template.main+xml": Kind.DOCX,
    b"spreadsheetml.sheet.main+xml": Kind.XLSX,
    b"spreadsheetml.template.main+xml": Kind.XLSX,
    b"presentationml.presentation.main+xml": Kind.PPTX,
    b"presentationml.slideshow.main+xml": Kind.PPTX,
    b"presentationml.template.main+xml": Kind.PPTX,
}
_ODF_TYPES: Final = {
    b"application/vnd.oasis.opendocument.text": Kind.ODT,
    b"application/vnd.oasis.opendocument.text-template": Kind.ODT,
    b"application/vnd.oasis.opendocument.spreadsheet": Kind.ODS,
    b"application/vnd.oasis.opendocument.spreadsheet-template": Kind.ODS,
    b"application/vnd.oasis.opendocument.presentation": Kind.ODP,
    b"application/vnd.oasis.opendocument.presentation-template": Kind.ODP,
}
_OOXML_FOLDERS: Final = {"word/": Kind.DOCX, "xl/": Kind.XLSX, "ppt/": Kind.PPTX}
_OOXML_EXTENSIONS: Final = {
    "docx": Kind.DOCX,
    "dotx": Kind.DOCX,
    "xlsx": Kind.XLSX,
    "xltx": Kind.XLSX,
    "pptx": Kind.PPTX,
    "ppsx": Kind.PPTX,
    "potx": Kind.PPTX,
}


def odf_kind(mimetype: bytes) -> Kind | None:
    """The kind an ODF ``mimetype`` entry names, if accepted."""
    return _ODF_TYPES.get(mimetype.strip())


def ooxml_kind(content_types: bytes) -> Kind | None:
    """The kind named by the main part of an OOXML ``[Content_Types].xml``.

    :raises Refused: ``macros`` for a macro-enabled main part or a VBA project.
    """
    lowered = content_types.lower()
    if (
        b"macroenabled" in lowered
        or b"vbaproject" in lowered
        or b"ms-excel.sheet.binary" in lowered
    ):
        raise Refused("macros")
    for suffix, kind in _OOXML_MAIN.items():
        if suffix in lowered:
            return kind
    return None


def _sniff_zip(head: bytes, name_hint: str) -> Kind:
    names: list[str] = []
    at = 0
    while head.startswith(b"PK\x03\x04", at) and at + 30 <= len(head):
        flags = int.from_bytes(head[at + 6 : at + 8], "little")
        method = int.from_bytes(head[at + 8 : at + 10], "little")
        csize = int.from_bytes(head[at + 18 : at + 22], "little")
        nlen = int.from_bytes(head[at + 26 : at + 28], "little")
        xlen = int.from_bytes(head[at + 28 : at + 30], "little")
        name = head[at + 30 : at + 30 + nlen].decode("utf-8", "replace")
        data_at = at + 30 + nlen + xlen
        data = head[data_at : data_at + csize]
        names.append(name)
        if not names[1:] and name == "mimetype" and method == 0:
            kind = odf_kind(data)
            if kind is not None:
                return kind
        if name == "[Content_Types].xml" and len(data) == csize and not flags & 0x08:
            text = _inflate(data) if method == 8 else data if method == 0 else None
            if text is not None:
                found = ooxml_kind(text)
                if found is not None:
                    return found
        if flags & 0x08:
            break  # sizes follow the data: the next header cannot be found cheaply
        at = data_at + csize
    for name in names:
        for folder, kind in _OOXML_FOLDERS.items():
            if name.startswith(folder):
                return kind
    if "[Content_Types].xml" in names or not names or len(head) == SNIFF_BYTES:
        extension = name_hint.rsplit(".", 1)[-1].lower() if "." in name_hint else ""
        if extension in _OOXML_EXTENSIONS:
            # Provisional: inspect() confirms it from [Content_Types].xml.
            return _OOXML_EXTENSIONS[extension]
    raise Refused("archive")


def _inflate(data: bytes) -> bytes | None:
    try:
        # Bounded: [Content_Types].xml is a few KiB; a bomb here must not blow up sniff.
        return zlib.decompressobj(-15).decompress(data, SNIFF_BYTES)
    except zlib.error:
        return None


# -- text ---------------------------------------------------------------------

# C0 controls other than tab, line feed, form feed, carriage return and
# the DOS end-of-file mark, plus DEL: text never needs them, binaries are full of them.
_CONTROL: Final = re.compile(rb"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")


def is_text(data: bytes) -> bool:
    """True if ``data`` (a whole file or a piece of one) looks like text."""
    return _CONTROL.search(data) is None


def _sniff_text(head: bytes) -> Kind:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or not is_text(head):
        raise Refused("unknown")
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    start = body.lstrip()
    if _HTML_START.match(start[:512]) or _ACTIVE_ANYWHERE.search(body[:4096]):
        raise Refused("active_content")
    if start.startswith(b"<?xml"):
        raise Refused("unknown")
    if start.startswith(b"#!"):
        raise Refused("script")
    if _looks_like_mail(body):
        return Kind.EML
    if _looks_like_csv(body):
        return Kind.CSV
    return Kind.TEXT


def _looks_like_mail(body: bytes) -> bool:
    header, _, _ = body.replace(b"\r\n", b"\n").partition(b"\n\n")
    lines = [line for line in header.split(b"\n") if line and not line[:1].isspace()]
    if not lines or not all(re.match(rb"^[\x21-\x39\x3b-\x7e]+:", line) for line in lines):
        return False
    known = {line.split(b":", 1)[0].lower() for line in lines if _EML_HEADER.match(line)}
    return b"from" in known and bool(known & {b"date", b"received", b"message-id", b"mime-version"})


def _looks_like_csv(body: bytes) -> bool:
    lines = [line for line in body.splitlines()[:20] if line.strip()]
    if len(body) == SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off by the head
    if len(lines) < 2:
        return False
    for delimiter in (b",", b";", b"\t"):
        counts = {line.count(delimiter) for line in lines}
        if len(counts) == 1 and counts != {0}:
            return True
    return False
