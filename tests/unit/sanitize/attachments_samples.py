"""Real files for the attachment tests, built in memory with the libraries that read them.

Each builder returns bytes of a file that a normal program would write, with
identifying metadata in the usual places.
"""

from __future__ import annotations

import io
import zipfile

import mutagen.flac
import mutagen.id3
from PIL import Image, PngImagePlugin
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:CreatorTool="Bildverktyg 3.1">'
    b"<dc:creator><rdf:Seq><rdf:li>Anna Svensson</rdf:li></rdf:Seq></dc:creator>"
    b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def picture() -> Image.Image:
    """A small picture with some structure, so decoding differences would show."""
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    for x in range(0, 64, 8):
        for y in range(48):
            image.putpixel((x, y), (20, 20, 220))
    return image


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 13"
    exif[0x0131] = "17.1"
    exif[0x0112] = 6  # rotate 90°: must survive cleaning
    exif.get_ifd(0x8769)[0xA431] = "F17GH4ABC123"  # body serial number
    exif.get_ifd(0x8769)[0x9003] = "2024:03:14 08:15:00"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (59.0, 19.0, 45.48)
    gps[3] = "E"
    gps[4] = (18.0, 4.0, 7.2)
    out = io.BytesIO()
    picture().save(out, "JPEG", exif=exif, comment=b"Annas foto", xmp=XMP, quality=90)
    return out.getvalue()


def png_with_author() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Anna Svensson")
    info.add_text("Comment", "skannat på kontoret", zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    out = io.BytesIO()
    picture().save(out, "PNG", pnginfo=info)
    return out.getvalue()


def gif_with_comment() -> bytes:
    out = io.BytesIO()
    picture().convert("P").save(out, "GIF", comment=b"Anna Svensson, Kansliet")
    return out.getvalue()


def webp_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS R6"
    out = io.BytesIO()
    picture().save(out, "WEBP", exif=exif, xmp=XMP, lossless=True)
    return out.getvalue()


PAGE_TEXT = "Protokoll fran upphandlingen 2024"


def _minimal_pdf(text: str) -> bytes:
    """One page with a line of text, written by hand (every offset computed)."""
    stream = f"BT /F1 18 Tf 40 700 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def pdf_with_author(*, javascript: bool = False, attachment: bool = False) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_minimal_pdf(PAGE_TEXT))))
    writer.add_metadata(
        {
            "/Author": "Anna Svensson",
            "/Producer": "Kontorsskrivaren 2.0",
            "/Creator": "Microsoft Word",
            "/CreationDate": "D:20240314081500+01'00'",
        }
    )
    writer.xmp_metadata = XMP
    if javascript:
        action = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.alert('hej');"),
            }
        )
        writer.root_object[NameObject("/OpenAction")] = action
    if attachment:
        writer.add_attachment("program.exe", b"MZ\x90\x00")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


DOCX_TEXT = "Chefen godkände fakturan utan underlag."
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.{main}"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    '<Override PartName="/docProps/custom.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
    'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/extended-properties" Target="docProps/app.xml"/>'
    '<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/custom-properties" Target="docProps/custom.xml"/>'
    "</Relationships>"
)
DOCUMENT_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    f"<w:body><w:p><w:r><w:t>{DOCX_TEXT}</w:t></w:r></w:p>"
    '<w:p><w:ins w:id="1" w:author="Bertil Berg" w:date="2024-03-01T10:00:00Z">'
    "<w:r><w:t>Tillagt.</w:t></w:r></w:ins></w:p></w:body></w:document>"
).encode()
_CORE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<dc:creator>Anna Svensson</dc:creator><cp:lastModifiedBy>Anna S</cp:lastModifiedBy>"
    '<dcterms:created xsi:type="dcterms:W3CDTF">2024-03-14T08:15:00Z</dcterms:created>'
    "</cp:coreProperties>"
)
_APP = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    'extended-properties"><Application>Microsoft Office Word</Application>'
    "<Company>Myndigheten för exempel</Company><Manager>Carl Chef</Manager></Properties>"
)
_CUSTOM = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    'custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
    'docPropsVTypes"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" '
    'name="Diarienummer"><vt:lpwstr>2024/123</vt:lpwstr></property></Properties>'
)


def docx(
    *,
    main: str = "wordprocessingml.document.main+xml",
    extra: dict[str, bytes] | None = None,
    document_rels: str | None = None,
) -> bytes:
    """A DOCX with creator, last-modified-by, company, manager and a custom property."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES.format(main=main))
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("word/document.xml", DOCUMENT_XML)
        if document_rels is not None:
            archive.writestr("word/_rels/document.xml.rels", document_rels)
        archive.writestr("docProps/core.xml", _CORE)
        archive.writestr("docProps/app.xml", _APP)
        archive.writestr("docProps/custom.xml", _CUSTOM)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


ODT_CONTENT = (
    '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3">'
    "<office:body><office:text><text:p>Mötet hölls aldrig.</text:p></office:text></office:body>"
    "</office:document-content>"
).encode()


def odt() -> bytes:
    """An ODT with initial creator, last editor, generator and a printer name."""
    meta = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-meta '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.3"><office:meta>'
        "<meta:initial-creator>Anna Svensson</meta:initial-creator>"
        "<dc:creator>Anna S</dc:creator>"
        "<meta:creation-date>2024-03-14T08:15:00</meta:creation-date>"
        "<meta:generator>LibreOffice/7.6</meta:generator>"
        "</office:meta></office:document-meta>"
    )
    settings = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-settings '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0"><office:settings>'
        '<config:config-item-set config:name="ooo:configuration-settings">'
        '<config:config-item config:name="PrinterName" config:type="string">'
        "HP-Plan3-Ekonomi</config:config-item>"
        "</config:config-item-set></office:settings></office:document-settings>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.3"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.text",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", ODT_CONTENT)
        archive.writestr("meta.xml", meta)
        archive.writestr("settings.xml", settings)
    return out.getvalue()


def _riff_chunk(chunk_id: bytes, payload: bytes) -> bytes:
    return chunk_id + len(payload).to_bytes(4, "little") + payload + b"\x00" * (len(payload) & 1)


SOUND = bytes(range(256)) * 8  # the "samples": must come through cleaning unchanged


def wav_with_info() -> bytes:
    fmt = (
        (1).to_bytes(2, "little")  # PCM
        + (1).to_bytes(2, "little")  # mono
        + (8000).to_bytes(4, "little")
        + (8000).to_bytes(4, "little")
        + (1).to_bytes(2, "little")
        + (8).to_bytes(2, "little")
    )
    info = (
        b"INFO"
        + _riff_chunk(b"IART", b"Anna Svensson\x00")
        + _riff_chunk(b"ICMT", b"Inspelat i konferensrummet\x00")
    )
    body = b"WAVE" + _riff_chunk(b"fmt ", fmt) + _riff_chunk(b"LIST", info)
    body += _riff_chunk(b"data", SOUND)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _mp3_frames(count: int = 20) -> bytes:
    # MPEG-1 layer III, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames.
    frame = b"\xff\xfb\x90\x64" + bytes(range(256)) + bytes(417 - 4 - 256)
    return frame * count


def mp3_with_id3() -> bytes:
    tags = mutagen.id3.ID3()
    tags.add(mutagen.id3.TPE1(encoding=3, text=["Anna Svensson"]))
    tags.add(mutagen.id3.COMM(encoding=3, lang="swe", desc="", text=["Mötet 14 mars"]))
    tags.add(mutagen.id3.TSSE(encoding=3, text=["Röstmemo 2.1"]))
    out = io.BytesIO()
    tags.save(out)
    return out.getvalue() + _mp3_frames()


FLAC_FRAMES = b"\xff\xf8\x69\x08\x00\x00" + bytes(range(200))


def flac_with_comment() -> bytes:
    streaminfo = (
        (4096).to_bytes(2, "big")
        + (4096).to_bytes(2, "big")
        + (0).to_bytes(3, "big")
        + (0).to_bytes(3, "big")
        # 44100 Hz (20 bits), mono (3 bits: 0), 16 bits (5 bits: 15), 0 samples (36 bits)
        + ((44100 << 44) | (0 << 41) | (15 << 36) | 0).to_bytes(8, "big")
        + bytes(16)
    )
    data = b"fLaC" + bytes((0x80,)) + len(streaminfo).to_bytes(3, "big") + streaminfo
    data += FLAC_FRAMES
    buffer = io.BytesIO(data)
    audio = mutagen.flac.FLAC(buffer)
    audio.add_tags()
    assert audio.tags is not None
    audio.tags["ARTIST"] = "Anna Svensson"
    audio.tags["COMMENT"] = "Inspelat i fikarummet"
    buffer.seek(0)
    audio.save(buffer)
    return buffer.getvalue()


def zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()
