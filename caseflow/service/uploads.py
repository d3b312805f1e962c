"""Attachments sealed while they arrive: no plaintext byte reaches the disk.

The web layer hands each uploaded file's bytes to a :class:`SealedUpload` as
the multipart parser reads them; the upload encrypts them with the case key
into a blob under ``<data_dir>/blobs`` and keeps only a counter in memory.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

import sqlalchemy as sa

from caseflow.store.records import files_table
from crypto import FileTooLarge
from crypto.files import StreamSealer
from crypto.sealing import CaseKey


def sweep_orphan_blobs(engine: sa.Engine, data_dir: Path, today: date) -> int:
    """Remove blobs that no file row references and that are at least a day old.

    A request that died half-way (a killed worker, a full disk) can leave a
    blob behind; the request that writes a blob stores its row within
    seconds. Every finished blob's times are the start of its day (see
    :func:`_blur_times`) and an unfinished one's are the moment of writing,
    so "older than the start of yesterday" never takes a blob of a request
    still in progress. Returns how many were removed.
    """
    directory = data_dir / "blobs"
    if not directory.is_dir():
        return 0
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=1)
    cutoff = midnight.timestamp()
    candidates = [p for p in directory.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
    if not candidates:
        return 0
    with engine.connect() as conn:
        known = set(conn.execute(sa.select(files_table.c.id)).scalars())
    removed = 0
    for path in candidates:
        if path.name not in known:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def blob_dir(data_dir: Path) -> Path:
    path = data_dir / "blobs"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


#: How much of the start of each upload is kept in memory for the content check.
HEAD_BYTES = 65536


def _blur_times(path: Path) -> None:
    """Set a blob's access and modification times to the start of its day.

    The file system would otherwise record the minute a reporter uploaded.
    (The inode change time cannot be set; see SECURITY.md.)
    """
    now = datetime.now(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC).timestamp()
    os.utime(path, (midnight, midnight))


class DescribedFile(Protocol):
    """A checked file with its sealed description (see app.file_review)."""

    sealed: SealedFile

    def description(self) -> dict[str, Any]: ...


def file_item_id(file_id: str) -> str:
    return f"file:{file_id}"


def file_meta_item_id(file_id: str) -> str:
    return f"file-meta:{file_id}"


@dataclass
class SealedFile:
    """A finished upload: the blob and what the reporter told us about it."""

    file_id: str
    path: Path
    name: str
    content_type: str
    size: int


class SealedUpload:
    """A write-only file object that seals what is written to it.

    Werkzeug's form parser writes to it and then calls ``seek(0)``; nothing
    can be read back. :meth:`finish` closes the stream and returns the blob.
    """

    def __init__(
        self,
        data_dir: Path,
        case_id: str,
        key: CaseKey,
        *,
        max_bytes: int,
        name: str,
        content_type: str,
    ) -> None:
        self.file_id = secrets.token_hex(16)
        self.path = blob_dir(data_dir) / self.file_id
        self.name = name
        self.content_type = content_type
        self.too_large = False
        #: The disk error that stopped the sealing, if one did.
        self.failed: OSError | None = None
        #: The first bytes, kept in memory for the content check (sniffing).
        self.head = bytearray()
        self._sink: IO[bytes] = open(  # noqa: SIM115 - closed in finish/discard
            os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb"
        )
        self._sealer = StreamSealer(
            key, case_id, file_item_id(self.file_id), self._sink, max_bytes=max_bytes
        )
        self._size = 0

    def write(self, data: bytes) -> int:
        if self.too_large or self.failed is not None:
            return len(data)  # keep consuming the request; the view refuses it
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        try:
            self._sealer.write(data)
        except FileTooLarge:
            self.too_large = True
        except OSError as error:
            # A full or failing disk: the form's other fields are still read,
            # so the page can come back with them (see app/unavailable.py).
            self.failed = error
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def tell(self) -> int:
        return 0

    def read(self, size: int = -1) -> bytes:
        raise OSError("a sealed upload cannot be read back")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        """Werkzeug closes file streams it no longer needs; finishing is explicit."""

    def finish(self) -> SealedFile:
        """:raises OSError: the disk error met while the file streamed in."""
        if self.failed is not None:
            self.discard()
            raise self.failed
        size = self._sealer.finish()
        self._sink.close()
        _blur_times(self.path)
        return SealedFile(self.file_id, self.path, self.name, self.content_type, size)

    def discard(self) -> None:
        if not self._sink.closed:
            with contextlib.suppress(OSError):  # a full disk cannot take the last buffer
                self._sink.close()
        self.path.unlink(missing_ok=True)


class DiscardingUpload:
    """Where a file goes on a request that accepts none: nowhere."""

    too_large = False

    def write(self, data: bytes) -> int:
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def tell(self) -> int:
        return 0

    def read(self, size: int = -1) -> bytes:
        return b""

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass
