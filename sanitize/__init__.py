"""File checks and metadata removal for uploads; imports no Flask, no app and nothing of a case.

What a file is, what it reveals, and a copy without it.

Three steps, meant for an upload flow that never writes plaintext to disk:

1. :func:`sniff` the first :data:`SNIFF_BYTES` of the upload (as the first
   chunk streams in) against the allow-list in :mod:`sanitize.kinds`;
   anything else raises :class:`Refused`.
2. :func:`inspect` the whole file: it checks the structure (refusing archive
   bombs, nested archives, macros, embedded objects, PDF JavaScript, content
   that does not match the kind) and lists the identifying metadata as
   :class:`Finding` objects that say in Swedish and English what was found.
3. :func:`clean` writes a copy without that metadata to a sink the caller
   gives (a sealing stream, or a :class:`io.BytesIO`).

Nothing here touches the file system: every function reads bytes or a file
object and writes to a file object.

Memory per kind (what :func:`needs_whole_file` answers):

================================  ======================================================
streaming (a segment + 64 KiB)    JPEG, PNG, GIF (segment by segment); text, CSV, EML
whole file in memory              PDF (pypdf), DOCX/XLSX/PPTX/ODT/ODS/ODP (zip directory
                                  at the end), WebP and WAV (RIFF size at the front),
                                  MP3/AAC/M4A/Ogg/Opus/FLAC (mutagen edits in place)
================================  ======================================================

For the whole-file kinds, ``max_in_memory_bytes`` bounds the file read into
memory; a larger file is refused with ``too_large_to_check`` rather than read.
Peak use is a small multiple of it (the parsed PDF, the rebuilt zip, the
cleaned copy), so choose it as a fraction of the memory budget per request.
Streaming kinds have no size limit here; the upload's own limit applies.

Errors: :class:`AttachmentError` is the root. :func:`sniff` and
:func:`clean` raise :class:`Refused`; :func:`inspect` returns the refusal in
:attr:`Inspection.refused` so the caller can show findings and reason together.

.. warning::
   A refusal or error in :func:`clean` can leave part of a file in ``sink``:
   discard the sink, as with :class:`crypto.files.StreamSealer`. And cleaning
   removes metadata, not content: a face, a letterhead, a distinctive phrase
   or a watermark in the picture or text still identifies; tell the reporter.
"""

from __future__ import annotations

from typing import BinaryIO, Final

from sanitize import audio, images, office, pdf, text
from sanitize._io import Counter, Damaged, Source, Writable, read_whole
from sanitize.errors import REASONS, AttachmentError, Refused
from sanitize.findings import LABELS, CleanReport, Finding, Inspection
from sanitize.kinds import SNIFF_BYTES, Family, Kind, accepted_summary, sniff
from sanitize.office import ArchiveLimits

__all__ = [
    "DEFAULT_MAX_IN_MEMORY_BYTES",
    "LABELS",
    "REASONS",
    "SNIFF_BYTES",
    "ArchiveLimits",
    "AttachmentError",
    "CleanReport",
    "Family",
    "Finding",
    "Inspection",
    "Kind",
    "Refused",
    "accepted_summary",
    "clean",
    "inspect",
    "needs_whole_file",
    "sniff",
]

#: Default bound for the kinds read whole (see the module docstring).
DEFAULT_MAX_IN_MEMORY_BYTES: Final = 32 * 1024 * 1024

_STREAMING: Final = frozenset({Kind.JPEG, Kind.PNG, Kind.GIF, Kind.TEXT, Kind.CSV, Kind.EML})
_AUDIO: Final = frozenset({Kind.MP3, Kind.AAC, Kind.M4A, Kind.OGG, Kind.OPUS, Kind.WAV, Kind.FLAC})
_OFFICE: Final = frozenset({Kind.DOCX, Kind.XLSX, Kind.PPTX, Kind.ODT, Kind.ODS, Kind.ODP})
_DEFAULT_LIMITS: Final = ArchiveLimits()


def needs_whole_file(kind: Kind) -> bool:
    """True if inspecting or cleaning ``kind`` holds the whole file in memory."""
    return kind not in _STREAMING


def _walk_streaming(
    source: Source, kind: Kind, inspection: Inspection, out: Writable | None
) -> None:
    if kind is Kind.JPEG:
        images.walk_jpeg(source, inspection, out)
    elif kind is Kind.PNG:
        images.walk_png(source, inspection, out)
    elif kind is Kind.GIF:
        images.walk_gif(source, inspection, out)
    else:
        text.walk_text(source, kind, inspection, out)


def _process_whole(
    data: bytes, kind: Kind, inspection: Inspection, limits: ArchiveLimits, clean: bool
) -> bytes | None:
    """Inspect (and with ``clean``, return the cleaned copy of) a whole-file kind."""
    if not data:
        raise Refused("empty")
    if kind is Kind.PDF:
        if clean:
            return pdf.clean_pdf(data, inspection)
        pdf.inspect_pdf(data, inspection)
        return None
    if kind in _OFFICE:
        if clean:
            return office.clean_office(data, inspection, limits)
        office.inspect_office(data, inspection, limits)
        return None
    if kind is Kind.WEBP:
        cleaned = images.walk_webp(data, inspection)
        return cleaned if clean else None
    if kind in _AUDIO:
        if clean:
            return audio.clean_audio(data, kind, inspection)
        audio.inspect_audio(data, kind, inspection)
        return None
    raise AssertionError(f"no handler for {kind}")  # every Kind is streaming or here


def inspect(
    data: bytes | BinaryIO,
    kind: Kind,
    *,
    max_in_memory_bytes: int = DEFAULT_MAX_IN_MEMORY_BYTES,
    limits: ArchiveLimits = _DEFAULT_LIMITS,
) -> Inspection:
    """Check the whole file's structure and list the identifying metadata it carries.

    :param data: the file, as bytes or a readable binary file object (read to
        its end for streaming kinds, up to ``max_in_memory_bytes + 1`` bytes
        for the others; it is not closed).
    :param kind: what :func:`sniff` said. For office files the confirmed kind
        is in :attr:`Inspection.kind`.
    :returns: an :class:`Inspection`; a file that must not be accepted has
        :attr:`Inspection.refused` set (and then possibly incomplete findings).
    """
    inspection = Inspection(kind)
    try:
        if kind in _STREAMING:
            source = Source(data)
            if source.at_end():
                raise Refused("empty")
            _walk_streaming(source, kind, inspection, None)
        else:
            _process_whole(
                read_whole(data, max_in_memory_bytes), kind, inspection, limits, clean=False
            )
    except Refused as refusal:
        inspection.refused = refusal
    except Damaged:
        inspection.refused = Refused("damaged")
    return inspection


def clean(
    data: bytes | BinaryIO,
    kind: Kind,
    sink: BinaryIO,
    *,
    max_in_memory_bytes: int = DEFAULT_MAX_IN_MEMORY_BYTES,
    limits: ArchiveLimits = _DEFAULT_LIMITS,
) -> CleanReport:
    """Write ``data`` to ``sink`` without its identifying metadata.

    Runs the same checks as :func:`inspect` (a file it would refuse is not
    written) and reports what was removed and what was found but kept.

    :raises Refused: as :func:`inspect` would refuse.

    .. warning::
       For streaming kinds the checks run while writing: on :class:`Refused`
       ``sink`` may already hold the start of the file. Discard it.
    """
    inspection = Inspection(kind)
    counter = Counter(sink)
    try:
        if kind in _STREAMING:
            source = Source(data)
            if source.at_end():
                raise Refused("empty")
            _walk_streaming(source, kind, inspection, counter)
        else:
            whole = read_whole(data, max_in_memory_bytes)
            cleaned = _process_whole(whole, kind, inspection, limits, clean=True)
            if cleaned is None:  # pragma: no cover - _process_whole returns bytes when cleaning
                raise AssertionError(f"no cleaned copy of {kind}")
            counter.write(cleaned)
    except Damaged as error:
        raise Refused("damaged") from error
    return CleanReport(
        kind=inspection.kind,
        removed=[f for f in inspection.findings if f.removable],
        kept=[f for f in inspection.findings if not f.removable],
        bytes_written=counter.written,
    )
