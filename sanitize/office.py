"""Zip-based office documents: OOXML (DOCX, XLSX, PPTX) and ODF (ODT, ODS, ODP).

Both are zip archives of XML parts, so they need the whole file in memory
(the zip directory is at the end). Before any part is read, the archive's
own directory is checked against :class:`ArchiveLimits`: too many entries,
too much data once unpacked, or a part that unpacks to more than
``max_ratio`` times its packed size is refused as a possible zip bomb.
zipfile itself stops each part at its declared size, so a directory that
lies cannot make a part unpack further.

Refused as dangerous structure: macros (VBA projects, macro-enabled types,
ODF Basic/Scripts), embedded objects and nested archives (``embeddings/``,
OLE objects, ActiveX, any part whose content starts like an archive or a
program), relationships that fetch content from the internet when the file
is opened (remote templates, linked OLE objects: the "Follina" family; plain
hyperlinks are allowed), encrypted documents, and duplicate part names
(different programs would read different parts).

Every XML part this module reads is parsed with defusedxml.

Cleaning rewrites the archive: ``docProps/core.xml`` and ``docProps/app.xml``
(author, last modified by, dates, company, manager, template, editing time)
or ODF ``meta.xml`` become empty property sets; ``docProps/custom.xml``,
thumbnails and printer settings are removed together with their entries in
``[Content_Types].xml``, the manifest and the relationships; printer names
in ODF ``settings.xml`` go; pictures inside the document are cleaned like
uploaded ones (a photo pasted into a report keeps its GPS position
otherwise). Part timestamps and zip extra fields (which can hold owner ids)
are not copied. The text parts themselves are copied unchanged.

.. warning::
   The authors of tracked changes and comments are written inside the text
   parts; they are reported (``revision_author``) but not removed. So are
   Word's revision-session ids (``w:rsid``), which can link two documents
   edited in the same session.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

# quoteattr escapes what is written; it parses nothing.
from xml.sax.saxutils import quoteattr  # nosec B406

import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]

from sanitize._io import Damaged, Source
from sanitize.errors import Refused
from sanitize.findings import Inspection
from sanitize.images import walk_jpeg, walk_png
from sanitize.kinds import Kind, odf_kind, ooxml_kind

if TYPE_CHECKING:  # only the type: parsing goes through defusedxml
    from xml.etree.ElementTree import Element  # nosec B405

__all__ = ["ArchiveLimits", "clean_office", "inspect_office"]


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what a zip-based document may unpack to.

    ``max_ratio`` applies to parts larger than ``ratio_floor_bytes`` (a tiny
    part of repeated spaces compresses far better than 100:1 and is harmless)
    and to the archive as a whole.
    """

    max_entries: int = 5000
    max_uncompressed_bytes: int = 512 * 1024 * 1024
    max_ratio: int = 100
    ratio_floor_bytes: int = 1024 * 1024


_NESTED_EXTENSIONS: Final = (
    ".zip",
    ".7z",
    ".rar",
    ".gz",
    ".tgz",
    ".tar",
    ".bz2",
    ".xz",
    ".cab",
    ".jar",
    ".apk",
    ".docx",
    ".docm",
    ".xlsx",
    ".xlsm",
    ".pptx",
    ".pptm",
    ".odt",
    ".ods",
    ".odp",
    ".exe",
    ".dll",
    ".msi",
    ".iso",
    ".lnk",
    ".bat",
    ".cmd",
    ".ps1",
    ".vbs",
    ".js",
    ".hta",
)
_NESTED_MAGIC: Final = (
    b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0",
    b"7z\xbc\xaf",
    b"Rar!",
    b"\x1f\x8b",
    b"MZ",
    b"\x7fELF",
    b"BZh",
    b"\xfd7zXZ",
    b"MSCF",
)
_NESTED_NAMES: Final = ("/embeddings/", "activex", "oleobject", "/objectpool/")
_MACRO_NAMES: Final = ("vbaproject", "vbadata", "basic/", "scripts/", "macrosheets/")
_MEDIA: Final = re.compile(r"^(?:word|xl|ppt)/media/|^Pictures/", re.IGNORECASE)


# -- the archive --------------------------------------------------------------


def _open_checked(data: bytes, limits: ArchiveLimits) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise Refused("damaged") from error
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise Refused("damaged")
    if len(infos) > limits.max_entries:
        raise Refused("archive_bomb")
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        raise Refused("archive_bomb")
    if total > limits.ratio_floor_bytes and total > limits.max_ratio * max(len(data), 1):
        raise Refused("archive_bomb")
    for info in infos:
        if info.flag_bits & 0x1:
            raise Refused("encrypted")
        big = info.file_size > limits.ratio_floor_bytes
        if big and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise Refused("archive_bomb")
        lowered = "/" + info.filename.lower()
        if any(part in lowered for part in _MACRO_NAMES):
            raise Refused("macros")
        if lowered.endswith(_NESTED_EXTENSIONS) or any(p in lowered for p in _NESTED_NAMES):
            raise Refused("nested_archive")
    return archive


def _read(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.read(name)
    except KeyError:
        raise
    except Exception as error:  # noqa: BLE001 - bad CRC, bad deflate data, NotImplemented method
        raise Refused("damaged") from error


def _check_parts(archive: zipfile.ZipFile) -> None:
    """Refuse a part whose content is an archive or a program, whatever it is called."""
    for info in archive.infolist():
        if info.is_dir():
            continue
        try:
            with archive.open(info) as part:
                start = part.read(8)
        except Exception as error:  # noqa: BLE001 - as in _read
            raise Refused("damaged") from error
        if start.startswith(_NESTED_MAGIC):
            raise Refused("nested_archive")


def _xml(data: bytes) -> Element:
    try:
        root: Element = SafeET.fromstring(data)
    except Exception as error:  # noqa: BLE001 - malformed XML or a defused entity attack
        raise Refused("damaged") from error
    return root


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(element: Element, local: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == local:
            return value
    return None


def _media_findings(
    archive: zipfile.ZipFile, inspection: Inspection, cleaned: dict[str, bytes], clean: bool
) -> None:
    """Inspect (and clean) the pictures inside a document like uploaded ones."""
    for info in archive.infolist():
        if not _MEDIA.match(info.filename):
            continue
        data = _read(archive, info.filename)
        walk = (
            walk_jpeg
            if data.startswith(b"\xff\xd8\xff")
            else (walk_png if data.startswith(b"\x89PNG") else None)
        )
        if walk is None:
            continue
        out = io.BytesIO() if clean else None
        try:
            walk(Source(data), inspection, out)
        except Damaged:
            continue  # a picture the program could not read is not ours to judge
        if out is not None:
            cleaned[info.filename] = out.getvalue()


# -- OOXML --------------------------------------------------------------------

_CORE: Final = {
    "creator": "author",
    "lastModifiedBy": "last_modified_by",
    "created": "created",
    "modified": "modified",
    "lastPrinted": "printed",
    "title": "title",
    "subject": "subject",
    "keywords": "keywords",
    "description": "description",
    "category": "keywords",
    "identifier": "document_id",
}
_APP: Final = {
    "Company": "company",
    "Manager": "manager",
    "Template": "template",
    "HyperlinkBase": "text_field",
}
_EMPTY_CORE: Final = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
    b'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'xmlns:dcterms="http://purl.org/dc/terms/" '
    b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
)
_EMPTY_APP: Final = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'extended-properties"/>'
)
_REVISION_AUTHORS: Final = re.compile(
    rb'(?:w:author|w15:author|w15:userId|authorId|userId)="([^"]{1,200})"|<author>([^<]{1,200})</author>'
)
_PRINTER_SETTINGS: Final = re.compile(r"^(?:word|xl|ppt)/printerSettings/", re.IGNORECASE)
_THUMBNAIL: Final = re.compile(r"^docProps/thumbnail\.", re.IGNORECASE)
#: Parts that name the authors of comments and tracked changes.
_AUTHORED_PARTS: Final = re.compile(
    r"^(?:word/document\.xml|word/(?:comments\w*|people)\.xml|xl/comments\w*\.xml|"
    r"xl/threadedComments/.*\.xml|xl/persons/.*\.xml|ppt/commentAuthors\.xml|"
    r"ppt/comments/.*\.xml)$",
    re.IGNORECASE,
)


def _ooxml_findings(archive: zipfile.ZipFile, names: set[str], inspection: Inspection) -> None:
    if "docProps/core.xml" in names:
        for element in _xml(_read(archive, "docProps/core.xml")):
            code = _CORE.get(_local(element.tag))
            if code and (element.text or "").strip():
                inspection.add(code, element.text)
    if "docProps/app.xml" in names:
        app = {
            _local(e.tag): (e.text or "").strip() for e in _xml(_read(archive, "docProps/app.xml"))
        }
        for key, code in _APP.items():
            if app.get(key):
                inspection.add(code, app[key] if code != "text_field" else f"{key}: {app[key]}")
        if app.get("Application"):
            inspection.add("producer", f"{app['Application']} {app.get('AppVersion', '')}".strip())
        if app.get("TotalTime", "0") not in ("", "0"):
            minutes = app["TotalTime"]
            inspection.add("editing_time", f"{minutes} min")
    if "docProps/custom.xml" in names:
        for prop in _xml(_read(archive, "docProps/custom.xml")):
            name = _attr(prop, "name") or "?"
            value = " ".join((child.text or "").strip() for child in prop)
            inspection.add("custom", f"{name}: {value}".strip(": "))
    for name in sorted(names):
        if _THUMBNAIL.match(name):
            inspection.add("thumbnail")
        elif _PRINTER_SETTINGS.match(name):
            # A Windows DEVMODE: the printer's name in UTF-16 comes first.
            devmode = _read(archive, name)[:64]
            inspection.add("printer", devmode.decode("utf-16-le", "replace").split("\x00")[0])
        elif _AUTHORED_PARTS.match(name):
            for match in _REVISION_AUTHORS.finditer(_read(archive, name)):
                who = (match.group(1) or match.group(2)).decode("utf-8", "replace")
                if not who.isdigit():  # authorId="0" is an index, not a name
                    inspection.add("revision_author", who, removable=False)


def _check_relationships(archive: zipfile.ZipFile, names: set[str]) -> None:
    for name in names:
        if not name.endswith(".rels"):
            continue
        for rel in _xml(_read(archive, name)):
            kind = (_attr(rel, "Type") or "").rsplit("/", 1)[-1]
            if kind == "oleObject" or kind == "package":
                raise Refused("nested_archive")
            if (_attr(rel, "TargetMode") or "").lower() == "external" and kind != "hyperlink":
                raise Refused("external_content")
    for name in names:
        if name.lower().startswith("xl/externallinks/") and b"ddeLink" in _read(archive, name):
            raise Refused("formula")


def _rels_source_dir(rels_name: str) -> str:
    """The folder targets in ``rels_name`` are relative to.

    ``word/_rels/document.xml.rels`` describes ``word/document.xml``, so ``word``.
    """
    return posixpath.dirname(posixpath.dirname(rels_name))


def _without_parts(
    archive: zipfile.ZipFile, names: set[str], dropped: set[str]
) -> dict[str, bytes]:
    """New [Content_Types].xml and .rels parts that no longer mention ``dropped``."""
    rewritten: dict[str, bytes] = {}
    types = _xml(_read(archive, "[Content_Types].xml"))
    lines = []
    for item in types:
        part = (_attr(item, "PartName") or "").lstrip("/")
        if _local(item.tag) == "Override" and part in dropped:
            continue
        attrs = "".join(f" {_local(k)}={quoteattr(v)}" for k, v in item.attrib.items())
        lines.append(f"<{_local(item.tag)}{attrs}/>")
    rewritten["[Content_Types].xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns='
        '"http://schemas.openxmlformats.org/package/2006/content-types">'
        + "".join(lines)
        + "</Types>"
    ).encode()
    for name in names:
        if not name.endswith(".rels"):
            continue
        base = _rels_source_dir(name)
        relationships = _xml(_read(archive, name))
        kept = []
        changed = False
        for rel in relationships:
            target = _attr(rel, "Target") or ""
            internal = (_attr(rel, "TargetMode") or "").lower() != "external"
            resolved = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(base, target))
            )
            if internal and resolved in dropped:
                changed = True
                continue
            attrs = "".join(f" {_local(k)}={quoteattr(v)}" for k, v in rel.attrib.items())
            kept.append(f"<Relationship{attrs}/>")
        if changed:
            rewritten[name] = (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns='
                '"http://schemas.openxmlformats.org/package/2006/relationships">'
                + "".join(kept)
                + "</Relationships>"
            ).encode()
    return rewritten


# -- ODF ----------------------------------------------------------------------

_META: Final = {
    "initial-creator": "author",
    "creator": "last_modified_by",
    "creation-date": "created",
    "date": "modified",
    "printed-by": "printed_by",
    "print-date": "printed",
    "generator": "producer",
    "editing-duration": "editing_time",
    "title": "title",
    "subject": "subject",
    "description": "description",
    "keyword": "keywords",
}
_PRINTER_ITEMS: Final = re.compile(
    rb'<config:config-item config:name="(?:PrinterName|PrinterSetup|PrinterPaperFromSetup)"'
    rb"[^>]*?(?:/>|>[^<]*</config:config-item>)"
)
_PRINTER_NAME: Final = re.compile(rb'config:name="PrinterName"[^>]*>([^<]+)<')
_ODF_THUMBNAIL: Final = "Thumbnails/thumbnail.png"


def _odf_findings(archive: zipfile.ZipFile, names: set[str], inspection: Inspection) -> None:
    manifest = "META-INF/manifest.xml"
    if manifest in names and b"encryption-data" in _read(archive, manifest):
        raise Refused("encrypted")
    if "meta.xml" in names:
        for element in _xml(_read(archive, "meta.xml")).iter():
            local = _local(element.tag)
            text = (element.text or "").strip()
            if local == "user-defined":
                inspection.add("custom", f"{_attr(element, 'name') or '?'}: {text}")
            elif local == "template":
                inspection.add("template", _attr(element, "href") or _attr(element, "title") or "")
            elif local in _META and text:
                inspection.add(_META[local], text)
    if "settings.xml" in names:
        settings = _read(archive, "settings.xml")
        _xml(settings)
        for match in _PRINTER_NAME.finditer(settings):
            inspection.add("printer", match.group(1).decode("utf-8", "replace"))
    if _ODF_THUMBNAIL in names:
        inspection.add("thumbnail")


def _empty_meta(archive: zipfile.ZipFile) -> bytes:
    version = _attr(_xml(_read(archive, "meta.xml")), "version") or "1.2"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta xmlns:office='
        '"urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        f"office:version={quoteattr(version)}><office:meta/></office:document-meta>"
    ).encode()


# -- the two entry points -----------------------------------------------------


def _confirm_kind(archive: zipfile.ZipFile, names: set[str]) -> Kind:
    """The kind the archive's own type declaration names; refuses a plain zip."""
    if "mimetype" in names:
        kind = odf_kind(_read(archive, "mimetype"))
    elif "[Content_Types].xml" in names:
        kind = ooxml_kind(_read(archive, "[Content_Types].xml"))
    else:
        kind = None
    if kind is None:
        raise Refused("archive")
    # The content decides, whatever sniff (maybe helped by the name) said:
    # a ".docx" that declares itself a spreadsheet is an XLSX.
    return kind


def _inspect(
    data: bytes, inspection: Inspection, limits: ArchiveLimits, clean: bool
) -> tuple[zipfile.ZipFile, set[str], dict[str, bytes]]:
    archive = _open_checked(data, limits)
    names = {info.filename for info in archive.infolist()}
    inspection.kind = _confirm_kind(archive, names)
    _check_parts(archive)
    cleaned: dict[str, bytes] = {}
    if inspection.kind in (Kind.ODT, Kind.ODS, Kind.ODP):
        _odf_findings(archive, names, inspection)
    else:
        _check_relationships(archive, names)
        _ooxml_findings(archive, names, inspection)
    _media_findings(archive, inspection, cleaned, clean)
    return archive, names, cleaned


def inspect_office(data: bytes, inspection: Inspection, limits: ArchiveLimits) -> None:
    """Check the archive and record what its properties reveal.

    Sets ``inspection.kind`` to the kind the archive declares itself to be.

    :raises Refused: see the module docstring.
    """
    _inspect(data, inspection, limits, clean=False)


def clean_office(data: bytes, inspection: Inspection, limits: ArchiveLimits) -> bytes:
    """The document rewritten without its identifying properties (see the module docstring)."""
    archive, names, replaced = _inspect(data, inspection, limits, clean=True)
    odf = inspection.kind in (Kind.ODT, Kind.ODS, Kind.ODP)
    dropped: set[str] = set()
    if odf:
        if "meta.xml" in names:
            replaced["meta.xml"] = _empty_meta(archive)
        if "settings.xml" in names:
            replaced["settings.xml"] = _PRINTER_ITEMS.sub(b"", _read(archive, "settings.xml"))
        if _ODF_THUMBNAIL in names:
            dropped.add(_ODF_THUMBNAIL)
            manifest = _read(archive, "META-INF/manifest.xml")
            replaced["META-INF/manifest.xml"] = re.sub(
                rb'<manifest:file-entry[^>]*manifest:full-path="Thumbnails/thumbnail\.png"[^>]*/>',
                b"",
                manifest,
            )
    else:
        if "docProps/core.xml" in names:
            replaced["docProps/core.xml"] = _EMPTY_CORE
        if "docProps/app.xml" in names:
            replaced["docProps/app.xml"] = _EMPTY_APP
        dropped = {
            n
            for n in names
            if n == "docProps/custom.xml" or _THUMBNAIL.match(n) or _PRINTER_SETTINGS.match(n)
        }
        if dropped:
            replaced.update(_without_parts(archive, names, dropped))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as rebuilt:
        infos = archive.infolist()
        if odf:
            # ODF readers expect "mimetype" first and stored uncompressed.
            infos.sort(key=lambda info: info.filename != "mimetype")
        for info in infos:
            if info.filename in dropped:
                continue
            # A fresh entry: no timestamps, comments or extra fields (owner ids) from the original.
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            stored = info.filename == "mimetype" or info.is_dir()
            entry.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            payload = replaced.get(info.filename)
            if payload is None:
                payload = b"" if info.is_dir() else _read(archive, info.filename)
            rebuilt.writestr(entry, payload)
    return output.getvalue()
