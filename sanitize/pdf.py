"""PDF: metadata found and removed with pypdf; active content refused.

A PDF is read whole (its cross-reference table is at the end), so it needs
the whole file in memory. Inspection reads the document information
dictionary (/Info: author, creator tool, producer, dates), the XMP packet,
per-page and per-object metadata, the authors of comments (annotations), and
counts saved versions (each incremental save keeps the earlier text).

It refuses, as active content: JavaScript anywhere, launch and import
actions, embedded or attached files, rich media and XFA forms. Names are
compared after pypdf decodes them, so ``/J#61vaScript`` is caught too.

Cleaning writes a new file from the parsed objects, which also drops every
earlier saved version, and gives it a fresh random file identifier (the old
one could match the original in the sender's document system).

.. warning::
   Only structure is cleaned: text, images and drawings in the pages are kept
   as they are, including anything white-on-white, covered by a black box
   (a "redaction" that only draws over the text) or outside the page. Tell
   reporters that hiding text is not removing it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any, Final

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from sanitize._xmp import xmp_findings
from sanitize.errors import Refused
from sanitize.findings import Inspection

__all__ = ["clean_pdf", "inspect_pdf"]

_INFO_KEYS: Final = {
    "/Author": "author",
    "/Creator": "producer",
    "/Producer": "producer",
    "/CreationDate": "created",
    "/ModDate": "modified",
    "/Title": "title",
    "/Subject": "subject",
    "/Keywords": "keywords",
}
_ACTIVE_KEYS: Final = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/EmbeddedFiles",
        "/EmbeddedFile",
        "/EF",
        "/RichMedia",
        "/RichMediaContent",
        "/XFA",
    }
)
_ACTIVE_ACTIONS: Final = frozenset(
    {"/JavaScript", "/Launch", "/ImportData", "/GoToE", "/Rendition"}
)
_ACTIVE_SUBTYPES: Final = frozenset(
    {"/FileAttachment", "/RichMedia", "/Movie", "/Sound", "/Screen"}
)
#: Dictionary keys that carry private or identifying data and that cleaning drops.
_DROPPED_KEYS: Final = ("/Metadata", "/PieceInfo", "/LastModified")
#: Bound on the objects walked, so a crafted file cannot keep the inspector busy.
_MAX_OBJECTS: Final = 500_000
_PDF_DATE: Final = re.compile(r"^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?")


def _date(value: str) -> str:
    match = _PDF_DATE.match(value)
    if not match:
        return value
    y, mo, d, h, mi, s = (part or "" for part in match.groups())
    date = "-".join(p for p in (y, mo, d) if p)
    time = ":".join(p for p in (h, mi, s) if p)
    return f"{date} {time}".strip()


def _open(data: bytes) -> PdfReader:
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        # Many PDFs are "encrypted" only to restrict printing or copying, with
        # an empty password to open them; those can be checked and cleaned.
        try:
            opened = bool(reader.decrypt(""))
        except Exception:  # noqa: BLE001 - unsupported or broken encryption
            opened = False
        if not opened:
            raise Refused("encrypted")
    return reader


def _walk(root: Any) -> Iterator[DictionaryObject]:
    """Every dictionary (and stream dictionary) reachable from ``root``, each once."""
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [root]
    count = 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            ref = (item.idnum, item.generation)
            if ref in seen:
                continue
            seen.add(ref)
            item = item.get_object()
        count += 1
        if count > _MAX_OBJECTS:
            raise Refused("damaged")
        if isinstance(item, DictionaryObject):  # StreamObject is one too
            yield item
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def _check(obj: DictionaryObject, inspection: Inspection) -> None:
    if _ACTIVE_KEYS.intersection(obj.keys()):
        raise Refused("pdf_active")
    if obj.get("/S") in _ACTIVE_ACTIONS or obj.get("/Subtype") in _ACTIVE_SUBTYPES:
        raise Refused("pdf_active")
    if obj.get("/Type") == "/EmbeddedFile":
        raise Refused("pdf_active")
    subtype = obj.get("/Subtype")
    if "/T" in obj and subtype is not None and subtype != "/Widget" and "/Rect" in obj:
        # On a markup annotation /T is its author; on a form field it is the field name.
        inspection.add("annotation_author", str(obj["/T"]))
    if "/PieceInfo" in obj:
        inspection.add("metadata_block")
    if "/LastModified" in obj:
        inspection.add("modified", _date(str(obj["/LastModified"])))
    metadata = obj.get("/Metadata")
    if metadata is not None:
        stream = metadata.get_object()
        if isinstance(stream, StreamObject):
            xmp_findings(stream.get_data()[: 1024 * 1024], inspection)


def inspect_pdf(data: bytes, inspection: Inspection) -> PdfReader:
    """Find metadata and refuse active content; returns the parsed document.

    :raises Refused: ``pdf_active``, ``encrypted`` or ``damaged``.
    """
    try:
        reader = _open(data)
        info: dict[str, Any] = dict(reader.metadata or {})
        for key, value in info.items():
            text = str(value.get_object() if isinstance(value, IndirectObject) else value)
            if not text.strip():
                continue
            code = _INFO_KEYS.get(key)
            if code in ("created", "modified"):
                text = _date(text)
            if code is None:
                inspection.add("custom", f"{key.lstrip('/')}: {text}")
            else:
                inspection.add(code, text)
        for obj in _walk(reader.trailer["/Root"]):
            _check(obj, inspection)
        if len(reader.pages) < 1:
            raise Refused("damaged")
    except Refused:
        raise
    except Exception as error:  # noqa: BLE001 - pypdf raises many kinds on hostile input
        raise Refused("damaged") from error
    eofs = data.count(b"%%EOF") - (1 if b"/Linearized" in data[:1024] else 0)
    if eofs > 1:
        inspection.add("earlier_versions")
    return reader


def clean_pdf(data: bytes, inspection: Inspection) -> bytes:
    """The PDF rebuilt without /Info, XMP, private data, comment authors or old versions."""
    reader = inspect_pdf(data, inspection)
    try:
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        writer.xmp_metadata = None
        for obj in _walk(writer.root_object):
            for key in _DROPPED_KEYS:
                obj.pop(key, None)
            if "/T" in obj and obj.get("/Subtype") not in (None, "/Widget") and "/Rect" in obj:
                del obj["/T"]
        # A fresh identifier: the old one could be looked up in the sender's
        # document system. pypdf keeps the first half of an existing one.
        # The removed dictionaries and streams are still in the writer's object
        # table; without this they would be written out, unreferenced but readable.
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        writer._ID = None  # noqa: SLF001 - no public way to drop the cloned /ID
        writer.generate_file_identifiers()
        output = io.BytesIO()
        writer.write(output)
    except Refused:
        raise
    except Exception as error:  # noqa: BLE001 - as in inspect_pdf
        raise Refused("damaged") from error
    return output.getvalue()
