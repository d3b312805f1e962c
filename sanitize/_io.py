"""Reading a file the caller hands over, as bytes or as a file object.

:class:`Source` reads forward only, in pieces of :data:`PIECE` bytes, so the
streaming formats never hold more than a piece and one segment. A damaged
file (cut short, impossible lengths) raises :class:`Damaged`, which the
public functions turn into a refusal.
"""

from __future__ import annotations

from typing import BinaryIO, Final, Protocol

from sanitize.errors import Refused

PIECE: Final = 64 * 1024


class Writable(Protocol):
    """Where output goes: any binary file object will do."""

    def write(self, data: bytes, /) -> int: ...


class Damaged(Exception):
    """The file does not follow its format; becomes ``Refused("damaged")``."""


def read_whole(data: bytes | BinaryIO, max_bytes: int) -> bytes:
    """All of ``data`` in memory, or a refusal if it is over ``max_bytes``.

    Reads at most ``max_bytes + 1`` bytes from a file object, so an oversized
    upload never fills memory before it is refused.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        whole = bytes(data)
        if len(whole) > max_bytes:
            raise Refused("too_large_to_check", str(max_bytes // (1024 * 1024)))
        return whole
    pieces: list[bytes] = []
    have = 0
    while have <= max_bytes:
        piece = data.read(min(PIECE, max_bytes + 1 - have))
        if not piece:
            break
        pieces.append(piece)
        have += len(piece)
    if have > max_bytes:
        raise Refused("too_large_to_check", str(max_bytes // (1024 * 1024)))
    return b"".join(pieces)


class Source:
    """Forward-only reading with a small look-ahead buffer."""

    def __init__(self, data: bytes | BinaryIO) -> None:
        if isinstance(data, bytes | bytearray | memoryview):
            self._buffer = bytes(data)
            self._file: BinaryIO | None = None
        else:
            self._buffer = b""
            self._file = data
        self._at = 0  # read position within _buffer

    def _fill(self, want: int) -> None:
        """Make at least ``want`` unread bytes available, unless the file ends first."""
        if self._file is None or len(self._buffer) - self._at >= want:
            return
        pieces = [self._buffer[self._at :]]
        have = len(pieces[0])
        while have < want:
            piece = self._file.read(max(PIECE, want - have))
            if not piece:
                self._file = None
                break
            pieces.append(piece)
            have += len(piece)
        self._buffer = b"".join(pieces)
        self._at = 0

    def peek(self, size: int) -> bytes:
        """Up to ``size`` unread bytes, without consuming them."""
        self._fill(size)
        return self._buffer[self._at : self._at + size]

    def buffered(self) -> tuple[bytes, int]:
        """The buffer and the position of the first unread byte in it (no copy).

        Reads a piece first if nothing is buffered; at the end of the file
        the position equals the buffer's length. Consume with :meth:`skip`.
        """
        self._fill(1)
        return self._buffer, self._at

    def skip(self, size: int) -> None:
        self._fill(size)
        if len(self._buffer) - self._at < size:
            raise Damaged("cut short")
        self._at += size

    def read_exact(self, size: int) -> bytes:
        piece = self.peek(size)
        if len(piece) != size:
            raise Damaged("cut short")
        self._at += size
        return piece

    def read(self, size: int) -> bytes:
        piece = self.peek(size)
        self._at += len(piece)
        return piece

    def copy_to(self, size: int, out: Writable | None) -> None:
        """Pass ``size`` bytes on to ``out`` (or drop them) a piece at a time."""
        left = size
        while left:
            piece = self.peek(min(left, PIECE))
            if not piece:
                raise Damaged("cut short")
            if out is not None:
                out.write(piece)
            self._at += len(piece)
            left -= len(piece)

    def at_end(self) -> bool:
        return not self.peek(1)


class Counter:
    """Wraps a sink and counts what goes through it (``None``: count only)."""

    def __init__(self, sink: BinaryIO | None) -> None:
        self._sink = sink
        self.written = 0

    def write(self, data: bytes) -> int:
        if self._sink is not None:
            self._sink.write(data)
        self.written += len(data)
        return len(data)
