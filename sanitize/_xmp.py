"""Reading XMP packets (in images and PDFs) for what identifies a person.

XMP is RDF/XML with many vocabularies; rather than model them, this looks
for the element and attribute names that carry people, places, devices,
programs and dates, whatever their namespace. The packet is parsed with
defusedxml: a file from a stranger must not be able to make the parser
fetch URLs or expand entities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]

from sanitize.findings import Inspection

if TYPE_CHECKING:  # only the type: parsing goes through defusedxml
    from xml.etree.ElementTree import Element  # nosec B405

__all__ = ["xmp_findings"]

#: local name (lower case) → finding code
_NAMES: Final = {
    "creator": "author",
    "author": "author",
    "artist": "author",
    "by-line": "author",
    "lastmodifiedby": "last_modified_by",
    "creatortool": "producer",
    "producer": "producer",
    "software": "software",
    "createdate": "created",
    "creationdate": "created",
    "datecreated": "created",
    "modifydate": "modified",
    "metadatadate": "modified",
    "datetimeoriginal": "taken",
    "gpslatitude": "gps",
    "gpslongitude": "gps",
    "location": "location",
    "city": "location",
    "sublocation": "location",
    "make": "camera",
    "model": "camera",
    "lensmodel": "lens",
    "serialnumber": "serial",
    "lensserialnumber": "serial",
    "cameraownername": "owner",
    "owner": "owner",
    "ownername": "owner",
    "documentid": "document_id",
    "originaldocumentid": "document_id",
    "instanceid": "document_id",
    "history": "history",
    "company": "company",
    "manager": "manager",
    "rights": "copyright",
    "usercomment": "comment",
}


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def _text_of(element: Element) -> str:
    """An element's own text, or the texts of its rdf:li items, joined."""
    own = (element.text or "").strip()
    if own:
        return own
    items = [(li.text or "").strip() for li in element.iter() if _local(li.tag) == "li"]
    return ", ".join(item for item in items if item)


def xmp_findings(packet: bytes, inspection: Inspection) -> None:
    """Add what ``packet`` reveals to ``inspection``; an unreadable packet is still one finding.

    Everything found here is removed by cleaning, which drops the whole packet.
    """
    found = False
    try:
        root = SafeET.fromstring(packet.strip(b"\x00 \t\r\n"))
    except Exception:  # noqa: BLE001 - any parser failure: the packet is dropped anyway
        inspection.add("xmp")
        return
    for element in root.iter():
        code = _NAMES.get(_local(element.tag))
        if code is not None:
            value = _text_of(element) if code != "history" else ""
            if value or code == "history":
                inspection.add(code, value)
                found = True
        for attribute, value in element.attrib.items():
            code = _NAMES.get(_local(attribute))
            if code is not None and value.strip():
                inspection.add(code, value)
                found = True
    if not found:
        inspection.add("xmp")
