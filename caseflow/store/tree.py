"""The stored Merkle tree of the log: the table ``merkle_nodes`` and proofs from it.

Leaf ``i`` is the event with ``seq = i + 1``; its data is the event's chain
hash. Every perfect subtree (:mod:`caseflow.store.merkle`) is a row
``(level, idx, hash)``, inserted by :meth:`EventStore.append_batch` in the
same transaction as the events, under the same lock: about two rows per
event, so that a proof or a past root is one primary-key lookup of a few
dozen rows, whatever the size of the log.

.. warning::
   The table is a cache, not evidence: it is not append-only and nothing
   signed covers it. ``verify`` recomputes every signed root from the events
   themselves, and whoever hands out a proof from here checks it first
   against the signed root it is for (a proof from a damaged table fails).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, Table, and_, insert, or_, select
from sqlalchemy.engine import Connection

from caseflow.store.errors import StoreError
from caseflow.store.merkle import (
    Frontier,
    NodeKey,
    consistency_ranges,
    frontier_keys,
    inclusion_ranges,
    perfect_subtrees,
    range_hash,
    root_from_frontier,
)
from caseflow.store.metadata import metadata

__all__ = [
    "TreeIncomplete",
    "add_leaves",
    "consistency_proof",
    "inclusion_proof",
    "merkle_nodes_table",
    "root_at",
]

merkle_nodes_table = Table(
    "merkle_nodes",
    metadata,
    # The perfect subtree of 2^level leaves starting at leaf idx * 2^level.
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

#: Keys looked up per query: far below every driver's bound-parameter limit.
_LOOKUP_BATCH = 200


class TreeIncomplete(StoreError):
    """The stored tree lacks a node the log's size needs: the table and the log disagree."""


def _nodes(conn: Connection, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
    wanted = sorted(set(keys))
    t = merkle_nodes_table
    found: dict[NodeKey, bytes] = {}
    for start in range(0, len(wanted), _LOOKUP_BATCH):
        part = wanted[start : start + _LOOKUP_BATCH]
        condition = or_(*(and_(t.c.level == level, t.c.idx == idx) for level, idx in part))
        for row in conn.execute(select(t.c.level, t.c.idx, t.c.hash).where(condition)):
            found[(int(row.level), int(row.idx))] = bytes(row.hash)
    missing = [key for key in wanted if key not in found]
    if missing:
        raise TreeIncomplete(
            f"the stored Merkle tree lacks {len(missing)} node(s), e.g. level {missing[0][0]} "
            f"index {missing[0][1]}: it does not match the event log"
        )
    return found


def _frontier(conn: Connection, size: int) -> Frontier:
    keys = frontier_keys(size)
    found = _nodes(conn, keys)
    return Frontier(size, {level: found[(level, idx)] for level, idx in keys})


def add_leaves(conn: Connection, size: int, leaves: Sequence[bytes]) -> None:
    """Grow the stored tree of ``size`` leaves by ``leaves`` (chain hashes), in ``conn``.

    The caller holds the appenders' lock (this runs inside the append).
    """
    if not leaves:
        return
    frontier = _frontier(conn, size)
    rows = frontier.extend(leaves, collect=True)
    conn.execute(
        insert(merkle_nodes_table),
        [{"level": level, "idx": idx, "hash": h} for level, idx, h in rows],
    )


def root_at(conn: Connection, size: int) -> bytes:
    """The stored tree's root at ``size`` leaves (the empty root for 0)."""
    keys = frontier_keys(size)
    found = _nodes(conn, keys)
    return root_from_frontier({level: found[(level, idx)] for level, idx in keys})


def _hashes(conn: Connection, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    keys = [key for start, end in ranges for key in perfect_subtrees(start, end)]
    found = _nodes(conn, keys)
    return [range_hash(start, end, lambda lv, ix: found[(lv, ix)]) for start, end in ranges]


def inclusion_proof(conn: Connection, index: int, size: int) -> tuple[bytes, list[bytes]]:
    """The leaf hash of leaf ``index`` and its inclusion proof in the tree of ``size``."""
    ranges = inclusion_ranges(index, size)
    leaf = _nodes(conn, [(0, index)])[(0, index)]
    return leaf, _hashes(conn, ranges)


def consistency_proof(conn: Connection, old: int, new: int) -> list[bytes]:
    """The consistency proof from the tree of ``old`` leaves to the tree of ``new``."""
    return _hashes(conn, consistency_ranges(old, new))
