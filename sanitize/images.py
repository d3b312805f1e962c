"""Images: JPEG, PNG and GIF segment by segment (streaming); WebP in memory.

Cleaning copies the picture data byte for byte and leaves out the blocks
that carry metadata, so nothing is re-encoded: no loss of quality, and the
memory used is one segment (at most 64 KiB) plus one read piece whatever the
image size. Each walker runs in two modes: ``out=None`` only inspects,
``out=sink`` also writes the cleaned file. Both record the same findings, so
a clean's report says what it removed.

What is kept, and why:

* JPEG: the coding segments, the JFIF header without its thumbnail, ICC
  colour profiles (APP2 ``ICC_PROFILE``: without them colours shift) and the
  Adobe APP14 segment (without it CMYK/YCCK images decode wrongly). All other
  APPn segments (EXIF, XMP, IPTC, MPF extra images, maker data) and comments
  go, and so does anything after the end-of-image marker.
* Orientation: a phone photo stores "rotate 90°" in EXIF rather than
  rotating the pixels. Applying it would mean re-encoding (lossy, and the
  whole bitmap in memory), so instead a new, minimal EXIF block with the
  single Orientation tag replaces the original: it says nothing about who,
  where or with what the photo was taken.
* PNG: critical chunks and the ancillary chunks that affect how the image
  looks (transparency, gamma, colour profile, animation); text, EXIF, time
  and unknown private chunks go.
* GIF: image data, palettes, graphic control and the looping extension;
  comments and other application extensions (XMP) go.
* WebP: image, alpha, animation and ICC chunks; EXIF, XMP and unknown
  chunks go, and the VP8X flags are updated to match. WebP needs the whole
  file in memory only because the RIFF size at the front must be rewritten.
"""

from __future__ import annotations

import math
import warnings
import zlib
from typing import Any, Final

from PIL import ExifTags, Image

from sanitize._io import Damaged, Source, Writable
from sanitize._xmp import xmp_findings
from sanitize.findings import Inspection

__all__ = ["walk_gif", "walk_jpeg", "walk_png", "walk_webp"]

# -- EXIF ---------------------------------------------------------------------

_IFD0: Final = {
    0x013B: "author",
    0x9C9D: "author",
    0x0131: "software",
    0x8298: "copyright",
    0x0132: "modified",
    0x013C: "device",
    0x010E: "description",
    0x9C9C: "comment",
    0x9C9B: "title",
    0x9C9E: "keywords",
    0x9C9F: "subject",
}
_EXIF_IFD: Final = {
    0x9003: "taken",
    0x9004: "created",
    0xA430: "owner",
    0xA431: "serial",
    0xA434: "lens",
    0xA435: "serial",
    0xA420: "document_id",
    0x9286: "comment",
}
_MAKE, _MODEL, _ORIENTATION, _MAKER_NOTE = 0x010F, 0x0110, 0x0112, 0x927C


def _exif_text(value: Any) -> str:
    if isinstance(value, bytes):
        if value.startswith((b"ASCII\x00\x00\x00", b"UNICODE\x00", b"\x00" * 8)):
            # UserComment: an 8-byte character-set prefix, then the text.
            coding = "utf-16" if value.startswith(b"UNICODE") else "latin-1"
            return value[8:].decode(coding, "replace").strip("\x00 ")
        if len(value) % 2 == 0 and value[1:2] == b"\x00":
            return value.decode("utf-16-le", "replace").strip("\x00 ")  # XP* tags
        return value.decode("utf-8", "replace").strip("\x00 ")
    if isinstance(value, tuple):
        return ", ".join(_exif_text(v) for v in value)
    text = str(value).strip("\x00 ")
    if len(text) == 19 and text[4] == ":" and text[7] == ":":
        text = text[:4] + "-" + text[5:7] + "-" + text[8:]  # EXIF dates: 2023:05:01 12:00:00
    return text


def _degrees(value: Any) -> float | None:
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    total = d + m / 60 + s / 3600
    return total if math.isfinite(total) else None


def _gps(gps: dict[int, Any], inspection: Inspection) -> None:
    lat, lon = _degrees(gps.get(2)), _degrees(gps.get(4))
    if lat is None or lon is None:
        inspection.add("gps")
        return
    lat_ref = _exif_text(gps.get(1, "N"))[:1].upper() or "N"
    lon_ref = _exif_text(gps.get(3, "E"))[:1].upper() or "E"
    en = f"{lat:.4f} {lat_ref}, {lon:.4f} {lon_ref}"
    sv_lon_ref = {"E": "Ö", "W": "V"}.get(lon_ref, lon_ref)
    sv = f"{lat:.4f} {lat_ref}, {lon:.4f} {sv_lon_ref}".replace(".", ",")
    # The comma between latitude and longitude became a decimal comma too;
    # put a semicolon between them so the Swedish form stays readable.
    sv = sv.replace(f" {lat_ref}, ", f" {lat_ref}; ", 1)
    inspection.add("gps", en, value_sv=sv)


def exif_findings(payload: bytes, inspection: Inspection) -> int:
    """Record what an EXIF block holds; returns its orientation (1 = upright)."""
    before = len(inspection.findings)
    try:
        exif = Image.Exif()
        with warnings.catch_warnings():
            # Pillow warns about each broken tag; the block is dropped anyway.
            warnings.simplefilter("ignore")
            exif.load(payload)
            details = exif.get_ifd(ExifTags.IFD.Exif)
            gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
            thumbnail = exif.get_ifd(ExifTags.IFD.IFD1)
        make = _exif_text(exif.get(_MAKE, ""))
        model = _exif_text(exif.get(_MODEL, ""))
        if make or model:
            inspection.add("camera", model if model.startswith(make) else f"{make} {model}".strip())
        for tag, code in _IFD0.items():
            if tag in exif and _exif_text(exif[tag]):
                inspection.add(code, _exif_text(exif[tag]))
        for tag, code in _EXIF_IFD.items():
            if tag in details and _exif_text(details[tag]):
                inspection.add(code, _exif_text(details[tag]))
        if _MAKER_NOTE in details:
            inspection.add("maker_note")
        if gps:
            _gps(gps, inspection)
        if thumbnail:
            inspection.add("thumbnail")
        # A block holding only the orientation (what clean() writes) reveals nothing.
        if len(inspection.findings) == before and set(exif.keys()) - {_ORIENTATION}:
            inspection.add("metadata_block")
        orientation = exif.get(_ORIENTATION, 1)
        return orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1
    except Exception:  # noqa: BLE001 - a broken block is removed anyway; say it was there
        inspection.add("metadata_block")
        return 1


def orientation_only_exif(orientation: int) -> bytes:
    """A JPEG APP1 segment whose EXIF holds only the Orientation tag."""
    tiff = (
        b"MM\x00\x2a"
        + (8).to_bytes(4, "big")  # big-endian TIFF, first IFD at 8
        + (1).to_bytes(2, "big")  # one entry
        + _ORIENTATION.to_bytes(2, "big")
        + (3).to_bytes(2, "big")  # SHORT
        + (1).to_bytes(4, "big")
        + orientation.to_bytes(2, "big")
        + b"\x00\x00"
        + (0).to_bytes(4, "big")  # no next IFD: no thumbnail
    )
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


# -- JPEG ---------------------------------------------------------------------

_SOS, _EOI, _COM, _APP0, _APP1, _APP2, _APP13, _APP14 = (
    0xDA,
    0xD9,
    0xFE,
    0xE0,
    0xE1,
    0xE2,
    0xED,
    0xEE,
)
_XMP_ID: Final = b"http://ns.adobe.com/xap/1.0/\x00"


def _emit(out: Writable | None, data: bytes) -> None:
    if out is not None:
        out.write(data)


def _jpeg_app(marker: int, payload: bytes, inspection: Inspection, out: Writable | None) -> None:
    """Keep, shorten or drop one APPn/COM segment."""
    if marker == _APP0 and payload.startswith(b"JFIF\x00") and len(payload) >= 14:
        if payload[12] or payload[13]:
            inspection.add("thumbnail")
        kept = payload[:12] + b"\x00\x00"  # same header, no thumbnail
        _emit(out, b"\xff\xe0" + (len(kept) + 2).to_bytes(2, "big") + kept)
    elif marker == _APP0 and payload.startswith(b"JFXX\x00"):
        inspection.add("thumbnail")
    elif marker == _APP1 and payload.startswith(b"Exif\x00"):
        orientation = exif_findings(payload, inspection)
        if orientation != 1:
            _emit(out, orientation_only_exif(orientation))
    elif marker == _APP1 and payload.startswith(_XMP_ID):
        xmp_findings(payload[len(_XMP_ID) :], inspection)
    elif marker == _APP1 and payload.startswith(b"http://ns.adobe.com/xmp/extension/\x00"):
        inspection.add("xmp")
    elif marker == _APP2 and payload.startswith(b"ICC_PROFILE\x00"):
        _emit(out, b"\xff\xe2" + (len(payload) + 2).to_bytes(2, "big") + payload)
    elif marker == _APP2 and payload.startswith(b"MPF\x00"):
        inspection.add("extra_images")
    elif marker == _APP13:
        inspection.add("iptc")
    elif marker == _APP14 and payload.startswith(b"Adobe"):
        _emit(out, b"\xff\xee" + (len(payload) + 2).to_bytes(2, "big") + payload)
    elif marker == _COM:
        text = payload.decode("utf-8", "replace").strip("\x00 \r\n")
        if text:
            inspection.add("comment", text)
    else:
        inspection.add("metadata_block")


def walk_jpeg(source: Source, inspection: Inspection, out: Writable | None) -> None:
    """Check a JPEG's structure and find (or, with ``out``, also drop) its metadata.

    :raises Damaged: if the structure is broken or the image has no end.
    """
    if source.read_exact(2) != b"\xff\xd8":
        raise Damaged("no start of image")
    _emit(out, b"\xff\xd8")
    in_scan = False
    while True:
        if in_scan:
            buffer, at = source.buffered()
            if at >= len(buffer):
                raise Damaged("no end of image")
            found = buffer.find(b"\xff", at)
            if found < 0:
                _emit(out, buffer[at:])
                source.skip(len(buffer) - at)
                continue
            if found > at:
                _emit(out, buffer[at:found])
                source.skip(found - at)
            pair = source.peek(2)
            if len(pair) < 2:
                raise Damaged("cut short")
            if pair[1] == 0x00 or 0xD0 <= pair[1] <= 0xD7:  # stuffed byte or restart marker
                _emit(out, pair)
                source.skip(2)
            elif pair[1] == 0xFF:  # fill byte before a marker
                source.skip(1)
            else:
                in_scan = False  # a marker: DHT/SOS between progressive scans, or the end
            continue
        if source.read_exact(1) != b"\xff":
            raise Damaged("expected a marker")
        marker = source.read_exact(1)[0]
        while marker == 0xFF:
            marker = source.read_exact(1)[0]
        if marker == _EOI:
            _emit(out, b"\xff\xd9")
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            _emit(out, bytes((0xFF, marker)))
            continue
        if marker in (0x00, 0xD8):
            raise Damaged("unexpected marker")
        length_bytes = source.read_exact(2)
        length = int.from_bytes(length_bytes, "big")
        if length < 2:
            raise Damaged("bad segment length")
        if 0xE0 <= marker <= 0xEF or marker == _COM:
            _jpeg_app(marker, source.read_exact(length - 2), inspection, out)
            continue
        _emit(out, bytes((0xFF, marker)) + length_bytes)
        source.copy_to(length - 2, out)
        if marker == _SOS:
            in_scan = True
    if not source.at_end():
        inspection.add("trailing_data")


# -- PNG ----------------------------------------------------------------------

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PNG_KEEP: Final = frozenset(
    {
        b"tRNS",
        b"cHRM",
        b"gAMA",
        b"iCCP",
        b"sBIT",
        b"sRGB",
        b"cICP",
        b"mDCV",
        b"cLLI",
        b"mDCv",
        b"cLLi",
        b"bKGD",
        b"hIST",
        b"pHYs",
        b"sPLT",
        b"acTL",
        b"fcTL",
        b"fdAT",
    }
)
_PNG_TEXT: Final = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf"})
_PNG_KEYWORDS: Final = {
    "author": "author",
    "software": "software",
    "comment": "comment",
    "description": "description",
    "copyright": "copyright",
    "creation time": "created",
    "title": "title",
    "source": "camera",
}
_MAX_TEXT_CHUNK: Final = 1024 * 1024


def _inflate(data: bytes) -> bytes:
    try:
        # Bounded: a text chunk must not be a decompression bomb for the inspector.
        return zlib.decompressobj().decompress(data, 64 * 1024)
    except zlib.error:
        return b""


def _png_text(chunk_type: bytes, data: bytes, inspection: Inspection) -> None:
    if chunk_type == b"eXIf":
        exif_findings(data, inspection)
        return
    keyword_bytes, _, rest = data.partition(b"\x00")
    keyword = keyword_bytes.decode("latin-1")
    if chunk_type == b"tEXt":
        text = rest.decode("latin-1")
    elif chunk_type == b"zTXt":
        text = _inflate(rest[1:]).decode("latin-1")
    else:  # iTXt: flag, method, language\0, translated keyword\0, text
        compressed = rest[:1] == b"\x01"
        parts = rest[2:].split(b"\x00", 2)
        raw = parts[2] if len(parts) == 3 else b""
        text = (_inflate(raw) if compressed else raw).decode("utf-8", "replace")
    if keyword == "XML:com.adobe.xmp":
        xmp_findings(text.encode("utf-8"), inspection)
        return
    code = _PNG_KEYWORDS.get(keyword.lower())
    if code is not None:
        inspection.add(code, text)
    else:
        inspection.add("text_field", f"{keyword}: {text}")


def walk_png(source: Source, inspection: Inspection, out: Writable | None) -> None:
    """Check a PNG's chunks and find (or, with ``out``, also drop) its metadata."""
    if source.read_exact(8) != _PNG_SIGNATURE:
        raise Damaged("not a PNG")
    _emit(out, _PNG_SIGNATURE)
    while True:
        header = source.read_exact(8)
        length = int.from_bytes(header[:4], "big")
        chunk_type = header[4:]
        if length > 0x7FFFFFFF or not chunk_type.isalpha():
            raise Damaged("bad chunk")
        if chunk_type == b"IEND":
            _emit(out, header)
            source.copy_to(length + 4, out)
            break
        # Critical chunks (upper-case first letter) are needed to draw the image.
        if chunk_type[:1].isupper() or chunk_type in _PNG_KEEP:
            _emit(out, header)
            source.copy_to(length + 4, out)
        elif chunk_type in _PNG_TEXT and length <= _MAX_TEXT_CHUNK:
            _png_text(chunk_type, source.read_exact(length), inspection)
            source.skip(4)
        else:
            if chunk_type == b"tIME" and length == 7:
                t = source.read_exact(7)
                stamp = (
                    f"{int.from_bytes(t[:2], 'big'):04d}-{t[2]:02d}-{t[3]:02d} "
                    f"{t[4]:02d}:{t[5]:02d}:{t[6]:02d}"
                )
                inspection.add("modified", stamp)
                source.skip(4)
            else:
                inspection.add("metadata_block")
                source.copy_to(length + 4, None)
    if not source.at_end():
        inspection.add("trailing_data")


# -- GIF ----------------------------------------------------------------------

_GIF_KEEP_APPS: Final = (b"NETSCAPE2.0", b"ANIMEXTS1.0", b"ICCRGBG1012")


def _gif_sub_blocks(source: Source, out: Writable | None) -> None:
    while True:
        size = source.read_exact(1)
        _emit(out, size)
        if size == b"\x00":
            return
        source.copy_to(size[0], out)


def _gif_read_sub_blocks(source: Source, limit: int) -> bytes:
    data = bytearray()
    while True:
        size = source.read_exact(1)[0]
        if not size:
            return bytes(data)
        piece = source.read_exact(size)
        if len(data) < limit:
            data += piece


def walk_gif(source: Source, inspection: Inspection, out: Writable | None) -> None:
    """Check a GIF's blocks and find (or, with ``out``, also drop) comments and XMP."""
    header = source.read_exact(13)
    if header[:6] not in (b"GIF87a", b"GIF89a"):
        raise Damaged("not a GIF")
    _emit(out, header)
    if header[10] & 0x80:
        source.copy_to(3 * (2 << (header[10] & 7)), out)  # global colour table
    while True:
        block = source.read_exact(1)
        if block == b"\x3b":  # trailer
            _emit(out, block)
            break
        if block == b"\x2c":  # image
            descriptor = source.read_exact(9)
            _emit(out, block + descriptor)
            if descriptor[8] & 0x80:
                source.copy_to(3 * (2 << (descriptor[8] & 7)), out)
            _emit(out, source.read_exact(1))  # LZW minimum code size
            _gif_sub_blocks(source, out)
        elif block == b"\x21":
            label = source.read_exact(1)
            if label == b"\xfe":
                text = _gif_read_sub_blocks(source, 4096).decode("latin-1").strip()
                if text:
                    inspection.add("comment", text)
            elif label == b"\xff":
                first = source.read_exact(1)
                app = source.read_exact(first[0])
                if app[:11] in _GIF_KEEP_APPS:
                    _emit(out, block + label + first + app)
                    _gif_sub_blocks(source, out)
                else:
                    if app[:11] == b"XMP DataXMP":
                        inspection.add("xmp")
                    else:
                        inspection.add("metadata_block")
                    _gif_sub_blocks(source, None)
            else:  # graphic control, plain text: part of how the image is drawn
                _emit(out, block + label)
                _gif_sub_blocks(source, out)
        else:
            raise Damaged("unknown GIF block")
    if not source.at_end():
        inspection.add("trailing_data")


# -- WebP (in memory) ---------------------------------------------------------

_WEBP_KEEP: Final = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def walk_webp(data: bytes, inspection: Inspection) -> bytes:
    """Check a WebP's chunks; returns the file without EXIF, XMP or unknown chunks."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise Damaged("not a WebP")
    end = 8 + int.from_bytes(data[4:8], "little")
    if end > len(data):
        raise Damaged("cut short")
    kept: list[bytes] = []
    at = 12
    while at < end:
        if at + 8 > end:
            raise Damaged("bad chunk")
        fourcc = data[at : at + 4]
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        payload = data[at + 8 : at + 8 + size]
        if len(payload) != size:
            raise Damaged("cut short")
        at += 8 + size + (size & 1)
        if fourcc == b"VP8X" and size >= 1:
            payload = bytes((payload[0] & ~(_VP8X_EXIF | _VP8X_XMP),)) + payload[1:]
        if fourcc in _WEBP_KEEP:
            kept.append(fourcc + size.to_bytes(4, "little") + payload + b"\x00" * (size & 1))
        elif fourcc == b"EXIF":
            exif_findings(payload, inspection)
        elif fourcc == b"XMP ":
            xmp_findings(payload, inspection)
        else:
            inspection.add("metadata_block")
    if end < len(data):
        inspection.add("trailing_data")
    body = b"WEBP" + b"".join(kept)
    return b"RIFF" + len(body).to_bytes(4, "little") + body
