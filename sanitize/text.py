"""Plain text, CSV and e-mail (EML), read as a stream in pieces.

Every piece is checked to be text (no control characters), so a file that
starts as text and carries a binary later is refused. Text and CSV have no
metadata; cleaning copies them unchanged.

CSV: a cell that starts a spreadsheet formula able to run commands or fetch
from the internet (DDE ``=cmd|…``, ``HYPERLINK``, ``WEBSERVICE``,
``IMPORTXML`` …) is refused: staff may open the file in a spreadsheet program.

E-mail: the sender and recipients are shown but kept (they are usually the
evidence; the reporter decides whether to upload the message at all). The
trace headers that show the route and the reporter's own systems
(``Received``, ``Return-Path``, ``Delivered-To``, ``Message-ID``, DKIM/ARC,
``User-Agent``/``X-Mailer``, every ``X-`` header) are reported and removed
by cleaning. A message with attached files is refused: the files inside
would escape every check here, so the reporter attaches them separately.
"""

from __future__ import annotations

import re
from typing import Final

from sanitize._io import PIECE, Damaged, Source, Writable
from sanitize.errors import Refused
from sanitize.findings import Inspection
from sanitize.kinds import Kind, is_text

__all__ = ["walk_text"]

_FORMULA: Final = re.compile(
    rb"(?:^|[\r\n,;\t])[ \"']*[=+\-@][^\r\n,;\t]*(?:\||\b(?:HYPERLINK|WEBSERVICE|IMPORTXML|"
    rb"IMPORTDATA|IMPORTHTML|IMPORTFEED|IMPORTRANGE|IMAGE|FILTERXML|CALL|REGISTER|EXEC|DDE)\s*\()",
    re.IGNORECASE,
)
_ATTACHMENT: Final = re.compile(
    rb"^content-disposition:[ \t]*attachment|"
    rb"^content-type:[ \t]*(?!text/|multipart/|message/|image/)[a-z]",
    re.IGNORECASE | re.MULTILINE,
)
#: Overlap between pieces, so a pattern split across two pieces is still seen.
_OVERLAP: Final = 512
_MAX_HEADER: Final = 1024 * 1024
_TRACE: Final = frozenset(
    {
        b"received",
        b"return-path",
        b"delivered-to",
        b"message-id",
        b"dkim-signature",
        b"authentication-results",
        b"received-spf",
        b"user-agent",
        b"x-mailer",
        b"thread-index",
        b"x-originating-ip",
        b"domainkey-signature",
    }
)
_SENDER: Final = frozenset({b"from", b"sender", b"reply-to"})
_RECIPIENT: Final = frozenset({b"to", b"cc", b"bcc"})


def _is_trace(name: bytes) -> bool:
    return name in _TRACE or name.startswith((b"x-", b"arc-"))


def _header_lines(header: bytes) -> list[tuple[bytes, bytes]]:
    """(lower-cased name, whole field with folded continuation lines) in order."""
    fields: list[tuple[bytes, bytes]] = []
    for line in header.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            name, text = fields[-1]
            fields[-1] = (name, text + line)
        else:
            fields.append((line.split(b":", 1)[0].strip().lower(), line))
    return fields


def _mail_header(source: Source, inspection: Inspection, out: Writable | None) -> None:
    header = bytearray()
    while True:
        line = _read_line(source)
        if not line:
            break
        header += line
        if len(header) > _MAX_HEADER:
            raise Damaged("header too long")
        if line in (b"\n", b"\r\n"):
            break
    if not is_text(bytes(header)):
        raise Damaged("not text")
    received = 0
    for name, field in _header_lines(bytes(header)):
        value = field.split(b":", 1)[1].decode("utf-8", "replace") if b":" in field else ""
        if name in _SENDER:
            inspection.add("mail_sender", value, removable=False)
        elif name in _RECIPIENT:
            inspection.add("mail_recipient", value, removable=False)
        elif name in (b"user-agent", b"x-mailer"):
            inspection.add("software", value)
        elif name == b"received":
            received += 1
        elif name == b"x-originating-ip":
            inspection.add("mail_trace", f"X-Originating-IP: {value.strip()}")
        elif _is_trace(name):
            inspection.add("mail_trace", field.split(b":", 1)[0].decode("latin-1"))
        if out is not None and not _is_trace(name):
            out.write(field)
    if received:
        inspection.add("mail_trace", f"Received ×{received}")
    if _ATTACHMENT.search(bytes(header)):
        raise Refused("mail_attachments")


def _read_line(source: Source) -> bytes:
    line = bytearray()
    while len(line) <= _MAX_HEADER:
        buffer, at = source.buffered()
        if at >= len(buffer):
            break
        end = buffer.find(b"\n", at)
        if end >= 0:
            line += buffer[at : end + 1]
            source.skip(end + 1 - at)
            break
        line += buffer[at:]
        source.skip(len(buffer) - at)
    return bytes(line)


def walk_text(source: Source, kind: Kind, inspection: Inspection, out: Writable | None) -> None:
    """Check every piece is text, find mail headers, refuse formulas and mail attachments."""
    if kind is Kind.EML:
        _mail_header(source, inspection, out)
    tail = b""
    first = True
    while piece := source.read(PIECE):
        piece_checked = piece[3:] if first and piece.startswith(b"\xef\xbb\xbf") else piece
        first = False
        if not is_text(piece_checked):
            raise Damaged("not text")
        window = tail + piece
        if kind is Kind.CSV and _FORMULA.search(window):
            raise Refused("formula")
        if kind is Kind.EML and _ATTACHMENT.search(window):
            raise Refused("mail_attachments")
        tail = window[-_OVERLAP:]
        if out is not None:
            out.write(piece)
