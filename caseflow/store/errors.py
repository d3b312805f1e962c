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


class StoreUnavailable(StoreError):
    """The database did not answer (down, unreachable, refusing connections)."""


class SchemaNotCurrent(StoreError):
    """The database's schema is not the one this version of the code needs.

    ``current`` is the revision the database is at (None: no tables yet),
    ``head`` the one the code needs; the message says which command to run.
    """

    def __init__(self, current: str | None, head: str, *, known: bool = True) -> None:
        self.current = current
        self.head = head
        if current is None:
            advice = f"the database has no tables yet (this version needs migration {head}): "
            advice += "run `visselpipa init`"
        elif not known:
            advice = (
                f"the database is at migration {current}, which this version of Visselpipa "
                f"does not know (it needs {head}): it was upgraded by a newer version; run that"
            )
        else:
            advice = (
                f"the database is at migration {current}, this version needs {head}: back up "
                "the data, then run `visselpipa migrate`"
            )
        super().__init__(advice)
