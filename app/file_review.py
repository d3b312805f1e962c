"""Between upload and case: what a file is, what it reveals, and what is kept.

Uploads arrive sealed under a *staging* key that exists only in the request's
memory (see :class:`Staging`). Once the form is valid, each staged file is
decrypted again as a stream, its kind checked from its content, its
structure and identifying metadata inspected (:mod:`sanitize`), and
the version to keep — cleaned, unless the reporter chose to keep the hidden
details as evidence — sealed under the case key as a new blob. The staged
blob is deleted; and since its key dies with the request, a copy that
survived on disk is unreadable.

Memory: streaming kinds (JPEG, PNG, GIF, text) are handled 64 KiB at a time
whatever their size. The others are read whole, up to ``max_check_bytes``; a
larger file of such a kind is kept *unchecked* and the reporter is told so,
rather than refused (a long recording is legitimate evidence).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from caseflow.service.uploads import SealedFile, SealedUpload, discard_blobs, file_item_id
from caseflow.store.blobs import open_blob
from crypto import CryptoError
from crypto.files import decrypt_stream
from crypto.sealing import CaseKey
from sanitize import (
    AttachmentError,
    Finding,
    Kind,
    Refused,
    clean,
    inspect,
    needs_whole_file,
    sniff,
)


@dataclass
class Staging:
    """Where uploads go before they are checked: a key that lives in this request only."""

    case_id: str
    key: CaseKey = field(default_factory=CaseKey.generate)


@dataclass(frozen=True)
class Note:
    """What the reporter is told about one finding."""

    sv: str
    en: str
    removed: bool

    def to_json(self) -> dict[str, Any]:
        return {"sv": self.sv, "en": self.en, "removed": self.removed}


@dataclass
class CheckedFile:
    sealed: SealedFile
    kind: Kind
    notes: list[Note]
    checked: bool

    @property
    def notes_json(self) -> list[dict[str, Any]]:
        return [n.to_json() for n in self.notes]

    def description(self) -> dict[str, Any]:
        """The file's sealed description: name, kind, size, and what was found."""
        return {
            "name": self.sealed.name,
            "content_type": self.kind.media_type,
            "kind": self.kind.value,
            "size": self.sealed.size,
            "checked": self.checked,
            "notes": self.notes_json,
        }


class FileRefused(Exception):
    """A staged file that may not be kept; ``reason`` is a Refused with its messages."""

    def __init__(self, name: str, reason: Refused) -> None:
        super().__init__(name)
        self.name = name
        self.reason = reason


class _StreamReader(io.RawIOBase):
    """A readable file object over decrypted pieces (constant memory)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._pieces)
            except StopIteration:
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def _plaintext(engine: sa.Engine, staging: Staging, staged: SealedFile) -> io.BufferedReader:
    source = open_blob(engine, staged.file_id)
    pieces = decrypt_stream(staging.key, staging.case_id, file_item_id(staged.file_id), source)
    return io.BufferedReader(_StreamReader(pieces), buffer_size=65536)


def _read_bounded(reader: io.BufferedReader, limit: int) -> bytes | None:
    data = reader.read(limit + 1)
    return None if len(data) > limit else data


def check_and_keep(
    staged: SealedFile,
    head: bytes,
    staging: Staging,
    case_key: CaseKey,
    engine: sa.Engine,
    *,
    keep_metadata: bool,
    max_file_bytes: int,
    max_check_bytes: int,
) -> CheckedFile:
    """Check one staged file and seal the version to keep under the case key.

    Raises :class:`FileRefused` when the file may not be kept. The staged blob
    is deleted either way.
    """
    final: SealedUpload | None = None
    try:
        kind = sniff(head, staged.name)
        whole = None
        if needs_whole_file(kind):
            with _plaintext(engine, staging, staged) as reader:
                whole = _read_bounded(reader, max_check_bytes)
            if whole is None:
                # Too large to check in memory: kept as it is, and said so.
                final = _new_upload(staging, case_key, engine, staged, kind, max_file_bytes)
                with _plaintext(engine, staging, staged) as reader:
                    _copy(reader, final)
                return CheckedFile(final.finish(), kind, [], checked=False)
        if whole is not None:
            inspection = inspect(whole, kind, max_in_memory_bytes=max_check_bytes)
        else:
            with _plaintext(engine, staging, staged) as reader:
                inspection = inspect(reader, kind)
        if inspection.refused is not None:
            raise FileRefused(staged.name, inspection.refused)
        kind = inspection.kind
        remove = bool(inspection.identifying) and not keep_metadata
        final = _new_upload(staging, case_key, engine, staged, kind, max_file_bytes)
        source: Any = whole if whole is not None else None
        if remove:
            if source is None:
                with _plaintext(engine, staging, staged) as reader:
                    clean(reader, kind, final)  # type: ignore[arg-type]
            else:
                clean(source, kind, final, max_in_memory_bytes=max_check_bytes)  # type: ignore[arg-type]
        elif source is None:
            with _plaintext(engine, staging, staged) as reader:
                _copy(reader, final)
        else:
            final.write(source)
        notes = [_note(f, removed=remove and f.removable) for f in inspection.findings]
        return CheckedFile(final.finish(), kind, notes, checked=True)
    except FileRefused:
        if final is not None:
            final.discard()
        raise
    except Refused as e:
        if final is not None:
            final.discard()
        raise FileRefused(staged.name, e) from None
    except (AttachmentError, CryptoError, ValueError, OSError) as e:
        # Failing closed: a file we could not check is not kept.
        if final is not None:
            final.discard()
        raise FileRefused(staged.name, Refused("damaged")) from e
    finally:
        discard_blobs(engine, [staged])


def _new_upload(
    staging: Staging, key: CaseKey, engine: sa.Engine, staged: SealedFile, kind: Kind, limit: int
) -> SealedUpload:
    # A cleaned file may gain a few bytes (an orientation-only EXIF block):
    # the final blob gets a margin over the upload limit.
    return SealedUpload(
        engine,
        staging.case_id,
        key,
        max_bytes=limit + 65536,
        name=staged.name,
        content_type=kind.media_type,
    )


def _copy(reader: io.BufferedReader, sink: SealedUpload) -> None:
    while piece := reader.read(65536):
        sink.write(piece)


def _note(finding: Finding, *, removed: bool) -> Note:
    return Note(sv=finding.text("sv"), en=finding.text("en"), removed=removed)
