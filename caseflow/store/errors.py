"""Errors raised by the event store.

Every error the store raises derives from :class:`StoreError`, so the layers
above catch one root. Driver errors are translated here, at the boundary, with
the original kept as ``__cause__``.
"""

from __future__ import annotations


class StoreError(Exception):
    """Root of every error raised by ``caseflow.store``."""


class ConcurrencyConflict(StoreError):
    """Another writer appended to the stream first.

    The caller's view of the stream is stale: reload the stream, decide again
    and retry the command (in a new transaction).
    """

    def __init__(
        self, stream_id: str, expected_version: int, actual_version: int | None = None
    ) -> None:
        self.stream_id = stream_id
        self.expected_version = expected_version
        #: The version found in the database, when it is known (it is not
        #: when the conflict surfaced as a unique-key collision on insert).
        self.actual_version = actual_version
        found = "" if actual_version is None else f", found version {actual_version}"
        super().__init__(
            f"concurrent append to stream {stream_id!r}: expected version {expected_version}{found}"
        )


class ChainBroken(StoreError):
    """The hash chain of the event log does not verify at ``seq``."""

    def __init__(self, seq: int, reason: str) -> None:
        self.seq = seq
        self.reason = reason
        super().__init__(f"event chain broken at seq {seq}: {reason}")
