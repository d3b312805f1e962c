"""The Merkle tree over the event log (RFC 9162 §2.1): hashing and proofs, no I/O.

The leaves are the events in ``seq`` order: leaf ``i`` (0-based) is event
``seq = i + 1``, and its *data* is that event's 32-byte chain hash
(:func:`caseflow.store.hashing.event_hash`). Hashing is RFC 9162's, with
SHA-256::

    leaf hash  = SHA-256(0x00 || data)
    node hash  = SHA-256(0x01 || left || right)
    MTH({})    = SHA-256("")                    (the empty tree)
    MTH(D[n])  = leaf hash of D[0]              when n = 1
    MTH(D[n])  = node hash(MTH(D[0:k]), MTH(D[k:n]))
                 where k is the largest power of two smaller than n

Inclusion proofs (§2.1.3) and consistency proofs (§2.1.4) are lists of
subtree hashes, generated and verified here exactly as the RFC writes them.

How the tree is stored, and why
-------------------------------

A proof is a list of ``MTH(D[a:b])`` of ranges whose start ``a`` is a
multiple of a power of two at least ``b - a`` (:func:`inclusion_ranges`,
:func:`consistency_ranges`). Each such range is the fold of at most
log2(n) *perfect* subtrees, the complete subtrees of 2^level leaves starting
at ``index * 2^level`` (:func:`perfect_subtrees`). So the store keeps every
perfect subtree's hash, ``(level, index, hash)``, in the table
``merkle_nodes``, filled in the same transaction as the events are appended
(:class:`Frontier` computes the new nodes: about two rows per event). A
proof is then one lookup of a few dozen rows by primary key, whatever the
size of the log, instead of O(n) hashing; the root of any past size is the
fold of its at most 64 frontier nodes. Keeping only the perfect subtree roots
of each checkpoint would be smaller, but an inclusion proof needs the
siblings deep inside the tree, which only the full levels hold.

The table is a cache the verifier does not trust: ``verify`` recomputes every
signed root from the events themselves, and every proof handed out is checked
against its signed root first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Frontier",
    "NodeKey",
    "NodeLookup",
    "ProofFailed",
    "consistency_ranges",
    "frontier_keys",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "perfect_subtrees",
    "range_hash",
    "root_from_frontier",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
#: MTH of the empty tree: SHA-256 of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF = b"\x00"
_NODE = b"\x01"

#: ``(level, index)`` of a perfect subtree: leaves ``[index * 2^level, (index + 1) * 2^level)``.
NodeKey = tuple[int, int]
#: The hash of a perfect subtree, given its key (the stored tree, or a test's dict).
NodeLookup = Callable[[int, int], bytes]


class ProofFailed(ValueError):
    """A proof does not verify; the message says which check failed."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# --- roots ----------------------------------------------------------------------------


def _pair_up(hashes: list[bytes]) -> list[bytes]:
    sha256 = hashlib.sha256
    it = iter(hashes)
    return [sha256(_NODE + left + right).digest() for left, right in zip(it, it, strict=False)]


class Frontier:
    """The perfect subtrees on the right edge of a tree: all it takes to grow it.

    For a tree of ``size`` leaves there is one node for each bit set in
    ``size``: level ``l`` holds the node ``(l, (size >> l) - 1)``. Extending
    the tree with new leaves combines them with these nodes, level by level,
    in batches (one list comprehension per level), and can report every
    perfect subtree that became complete — the rows the store inserts.
    """

    def __init__(self, size: int = 0, nodes: dict[int, bytes] | None = None) -> None:
        if size < 0:
            raise ValueError("a tree size is 0 or more")
        nodes = dict(nodes or {})
        expected = {level for level in range(size.bit_length()) if size >> level & 1}
        if set(nodes) != expected:
            raise ValueError(f"a frontier of size {size} has nodes at levels {sorted(expected)}")
        self.size = size
        self._nodes = nodes

    def extend(self, datas: Sequence[bytes], collect: bool = False) -> list[tuple[int, int, bytes]]:
        """Append leaves with these data; return the newly complete subtrees if ``collect``.

        Each returned item is ``(level, index, hash)``; level 0 are the leaf hashes.
        """
        new: list[tuple[int, int, bytes]] = []
        sha256 = hashlib.sha256
        items = [sha256(_LEAF + data).digest() for data in datas]
        start, level = self.size, 0
        while items:
            if collect:
                new.extend((level, start + i, h) for i, h in enumerate(items))
            if start & 1:
                # The first new node's left sibling is complete already: the frontier's.
                items.insert(0, self._nodes.pop(level))
                start -= 1
            if len(items) & 1:
                self._nodes[level] = items.pop()
            items = _pair_up(items)
            start >>= 1
            level += 1
        self.size += len(datas)
        return new

    def root(self) -> bytes:
        """MTH of the tree so far."""
        return root_from_frontier(self._nodes)

    def nodes(self) -> dict[int, bytes]:
        """The frontier's nodes by level (a copy)."""
        return dict(self._nodes)


def frontier_keys(size: int) -> list[NodeKey]:
    """The perfect subtrees whose fold is the root of a tree of ``size`` leaves."""
    return [(level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1]


def root_from_frontier(nodes: dict[int, bytes]) -> bytes:
    """Fold frontier nodes (by level) into the root: from the smallest subtree up."""
    root: bytes | None = None
    for level in sorted(nodes):
        root = nodes[level] if root is None else node_hash(nodes[level], root)
    return EMPTY_ROOT if root is None else root


def root_of(datas: Iterable[bytes]) -> bytes:
    """MTH of the leaves with these data (O(n), no recursion)."""
    frontier = Frontier()
    frontier.extend(list(datas))
    return frontier.root()


def perfect_subtrees(start: int, end: int) -> list[NodeKey]:
    """The perfect subtrees that make up ``D[start:end]``, largest first.

    ``start`` must be a multiple of a power of two at least ``end - start`` —
    true of every range a proof names. ``MTH(D[start:end])`` is then the fold
    of these from the right (:func:`range_hash`).
    """
    size = end - start
    if size < 1:
        raise ValueError("an empty range has no subtrees")
    if start % (1 << (size - 1).bit_length()):
        raise ValueError(f"the range {start}:{end} is not aligned to a subtree")
    keys: list[NodeKey] = []
    position = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, position >> level))
            position += 1 << level
    return keys


def range_hash(start: int, end: int, lookup: NodeLookup) -> bytes:
    """MTH(D[start:end]) from the perfect subtrees' hashes."""
    keys = perfect_subtrees(start, end)
    result = lookup(*keys[-1])
    for level, index in reversed(keys[:-1]):
        result = node_hash(lookup(level, index), result)
    return result


# --- proofs: which ranges ------------------------------------------------------------


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose MTH form PATH(index, D[size]) (RFC 9162 §2.1.3.1), leaf first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    # The recursion of the RFC, unrolled: each step names the sibling range
    # and descends into the half holding the leaf; the sibling of the deepest
    # step comes first in the path.
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The ranges whose MTH form PROOF(old, D[new]) (RFC 9162 §2.1.4.1).

    Empty when ``old`` is 0 or equals ``new`` (nothing to prove).
    """
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    ranges: list[tuple[int, int]] = []
    start, end, whole = 0, new, True  # SUBPROOF(m, D[start:end], b = whole)
    m = old
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m -= k
            start += k
            whole = False
    if not whole:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


# --- proofs: verification (RFC 9162 §2.1.3.2 and §2.1.4.2, word for word) ------------


def _check_hashes(proof: Sequence[bytes], *hashes: bytes) -> None:
    for value in (*proof, *hashes):
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise ProofFailed(f"a hash in the proof is not {HASH_SIZE} bytes")


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that the leaf hash ``leaf`` is leaf ``index`` of the tree ``(size, root)``.

    Raises :class:`ProofFailed` otherwise.

    .. warning::
       ``size`` and ``root`` must come from one signed head: a proof for one
       size can have the same shape as for another, and only the signature
       over both binds them.
    """
    _check_hashes(proof, leaf, root)
    if not 0 <= index < size:
        raise ProofFailed(f"leaf {index} is not in a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofFailed("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofFailed("the inclusion proof is shorter than the tree is deep")
    if r != root:
        raise ProofFailed("the inclusion proof does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree ``(new_size, new_root)`` extends ``(old_size, old_root)``.

    Raises :class:`ProofFailed` otherwise. Sizes and roots must each come from
    a signed head (see :func:`verify_inclusion`).
    """
    _check_hashes(proof, old_root, new_root)
    if not 0 <= old_size <= new_size:
        raise ProofFailed(f"a tree of {new_size} cannot extend one of {old_size}")
    if old_size == new_size:
        if proof:
            raise ProofFailed("two heads of the same size need an empty proof")
        if old_root != new_root:
            raise ProofFailed("two heads of the same size have different roots")
        return
    if old_size == 0:
        if proof:
            raise ProofFailed("the empty tree needs an empty proof")
        if old_root != EMPTY_ROOT:
            raise ProofFailed("the root of the empty tree is SHA-256 of nothing")
        return
    if not proof:
        raise ProofFailed("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofFailed("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofFailed("the consistency proof is shorter than the tree is deep")
    if fr != old_root:
        raise ProofFailed("the consistency proof does not lead to the old root")
    if sr != new_root:
        raise ProofFailed("the consistency proof does not lead to the new root")
