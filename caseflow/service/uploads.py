"""Attachments sealed while they arrive: no plaintext byte reaches the disk.

The web layer hands each uploaded file's bytes to a :class:`SealedUpload` as
the multipart parser reads them; the upload encrypts them with the case key
into a blob stored in the database (:mod:`caseflow.store.blobs`, a row per
MiB of ciphertext) and keeps only a counter and one row in memory.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import sqlalchemy as sa

from caseflow.store.blobs import BlobWriter, delete_blobs, sweep_orphans
from caseflow.store.records import files_table
from crypto import FileTooLarge
from crypto.files import StreamSealer
from crypto.sealing import CaseKey


def sweep_orphan_blobs(engine: sa.Engine, today: date) -> int:
    """Remove blobs that no file row references and that are at least a day old.

    A request that died half-way (a killed worker, a full disk) can leave a
    blob behind; the request that writes a blob stores its row within
    seconds. Returns how many were removed.
    """
    return sweep_orphans(engine, today, files_table.c.id)


#: How much of the start of each upload is kept in memory for the content check.
HEAD_BYTES = 65536


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
    name: str
    content_type: str
    #: Plaintext bytes.
    size: int
    #: Bytes of the stored blob (the sealed form).
    encrypted_bytes: int


class SealedUpload:
    """A write-only file object that seals what is written to it.

    Werkzeug's form parser writes to it and then calls ``seek(0)``; nothing
    can be read back. :meth:`finish` completes the blob and describes it.
    """

    def __init__(
        self,
        engine: sa.Engine,
        case_id: str,
        key: CaseKey,
        *,
        max_bytes: int,
        name: str,
        content_type: str,
    ) -> None:
        self.file_id = secrets.token_hex(16)
        self.name = name
        self.content_type = content_type
        self.too_large = False
        #: The storage error that stopped the sealing (a full disk, a database
        #: gone), if one did.
        self.failed: Exception | None = None
        #: The first bytes, kept in memory for the content check (sniffing).
        self.head = bytearray()
        self._sink = BlobWriter(engine, self.file_id)
        self._sealer: StreamSealer | None = None
        try:
            self._sealer = StreamSealer(
                key, case_id, file_item_id(self.file_id), self._sink, max_bytes=max_bytes
            )
        except (OSError, sa.exc.SQLAlchemyError) as error:
            self.failed = error

    def write(self, data: bytes) -> int:
        if self.too_large or self.failed is not None or self._sealer is None:
            return len(data)  # keep consuming the request; the view refuses it
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        try:
            self._sealer.write(data)
        except FileTooLarge:
            self.too_large = True
        except (OSError, sa.exc.SQLAlchemyError) as error:
            # A full disk or a failing database: the form's other fields are
            # still read, so the page can come back with them (app/unavailable.py).
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
        """:raises OSError, SQLAlchemyError: the storage error met while the file streamed in."""
        if self.failed is not None or self._sealer is None:
            failed = self.failed
            self.discard()
            assert failed is not None
            raise failed
        try:
            size = self._sealer.finish()
            stored = self._sink.finish()
        except (OSError, sa.exc.SQLAlchemyError):
            self.discard()
            raise
        return SealedFile(self.file_id, self.name, self.content_type, size, stored)

    def discard(self) -> None:
        with contextlib.suppress(OSError, sa.exc.SQLAlchemyError):  # the database may be down
            self._sink.discard()


def discard_blobs(engine: sa.Engine, files: list[SealedFile]) -> None:
    """Remove finished blobs that will not be kept (a refused file, a failed request)."""
    with contextlib.suppress(OSError, sa.exc.SQLAlchemyError):
        delete_blobs(engine, [f.file_id for f in files])


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
