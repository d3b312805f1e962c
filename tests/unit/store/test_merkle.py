"""The Merkle tree (RFC 9162 §2.1): known answers, a naive reference, and tampering.

The known answers are the standard eight-leaf tree of RFC 6962's reference
implementations (tests/data/merkle_vectors.json names its source). The
reference here is the RFC's recursive definitions transcribed literally, with
hashlib alone, so the fast code is checked against a second reading of the
text, not against itself.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseflow.store.merkle import (
    EMPTY_ROOT,
    Frontier,
    ProofFailed,
    consistency_ranges,
    frontier_keys,
    inclusion_ranges,
    perfect_subtrees,
    range_hash,
    root_from_frontier,
    root_of,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads(
    (Path(__file__).parents[2] / "data" / "merkle_vectors.json").read_text(encoding="utf-8")
)
LEAVES = [bytes.fromhex(x) for x in VECTORS["leaf_inputs"]]
ROOTS = [bytes.fromhex(x) for x in VECTORS["root_hashes"]]
NODES = {
    (level, index): bytes.fromhex(h)
    for level, row in enumerate(VECTORS["node_hashes"])
    for index, h in enumerate(row)
}


# --- the RFC's definitions, literally ----------------------------------------------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def naive_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:]))


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return naive_path(m, d[:k]) + [naive_mth(d[k:])]
    return naive_path(m - k, d[k:]) + [naive_mth(d[:k])]


def naive_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [naive_mth(d)]
    k = _k(n)
    if m <= k:
        return naive_subproof(m, d[:k], b) + [naive_mth(d[k:])]
    return naive_subproof(m - k, d[k:], False) + [naive_mth(d[:k])]


def naive_proof(m: int, d: list[bytes]) -> list[bytes]:
    return [] if m in (0, len(d)) else naive_subproof(m, d, True)


def all_nodes(d: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Every perfect subtree of ``d``, by the naive MTH."""
    out = {}
    level = 0
    while (1 << level) <= len(d):
        width = 1 << level
        for index in range(len(d) // width):
            out[(level, index)] = naive_mth(d[index * width : (index + 1) * width])
        level += 1
    return out


def proof_from(ranges: list[tuple[int, int]], nodes: dict[tuple[int, int], bytes]) -> list[bytes]:
    return [range_hash(a, b, lambda level, index: nodes[(level, index)]) for a, b in ranges]


def flips(value: bytes) -> list[bytes]:
    """Every single-bit change of ``value``."""
    return [
        value[:i] + bytes([value[i] ^ (1 << bit)]) + value[i + 1 :]
        for i in range(len(value))
        for bit in range(8)
    ]


# --- known answers ------------------------------------------------------------------


def test_roots_of_the_standard_eight_leaf_tree() -> None:
    assert EMPTY_ROOT == ROOTS[0] == hashlib.sha256(b"").digest()
    for n in range(len(LEAVES) + 1):
        assert root_of(LEAVES[:n]) == ROOTS[n] == naive_mth(LEAVES[:n])


def test_the_frontier_yields_every_perfect_subtree_of_the_vectors() -> None:
    frontier = Frontier()
    made = frontier.extend(LEAVES[:3], collect=True) + frontier.extend(LEAVES[3:], collect=True)
    assert {(level, index): h for level, index, h in made} == NODES
    assert frontier.root() == ROOTS[8]


@pytest.mark.parametrize("vector", VECTORS["inclusion_proofs"], ids=lambda v: str(v))
def test_inclusion_proof_vectors(vector: dict[str, object]) -> None:
    index, size = int(vector["index"]), int(vector["size"])  # type: ignore[call-overload]
    path = [bytes.fromhex(x) for x in vector["path"]]  # type: ignore[attr-defined]
    assert proof_from(inclusion_ranges(index, size), NODES) == path
    verify_inclusion(NODES[(0, index)], index, size, path, ROOTS[size])


@pytest.mark.parametrize("vector", VECTORS["consistency_proofs"], ids=lambda v: str(v))
def test_consistency_proof_vectors(vector: dict[str, object]) -> None:
    old, new = int(vector["old"]), int(vector["new"])  # type: ignore[call-overload]
    path = [bytes.fromhex(x) for x in vector["path"]]  # type: ignore[attr-defined]
    assert proof_from(consistency_ranges(old, new), NODES) == path
    verify_consistency(old, new, ROOTS[old], ROOTS[new], path)


def test_the_edge_cases_the_rfc_leaves_to_the_reader() -> None:
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    with pytest.raises(ProofFailed):
        verify_consistency(0, 5, ROOTS[1], ROOTS[5], [])  # not the empty root
    with pytest.raises(ProofFailed):
        verify_consistency(3, 3, ROOTS[3], ROOTS[4], [])  # a fork at one size
    with pytest.raises(ProofFailed):
        verify_consistency(4, 3, ROOTS[4], ROOTS[3], [])  # time travel
    with pytest.raises(ProofFailed):
        verify_consistency(1, 2, ROOTS[1], ROOTS[2], [])  # empty proof
    with pytest.raises(ProofFailed):
        verify_inclusion(NODES[(0, 0)], 0, 0, [], EMPTY_ROOT)
    with pytest.raises(ProofFailed):
        verify_inclusion(NODES[(0, 0)], 0, 1, [], b"short")
    assert frontier_keys(0) == [] and root_from_frontier({}) == EMPTY_ROOT
    assert frontier_keys(6) == [(1, 2), (2, 0)]
    assert perfect_subtrees(4, 7) == [(1, 2), (0, 6)]
    with pytest.raises(ValueError):
        perfect_subtrees(2, 6)  # 2 is not aligned to a subtree of 4
    with pytest.raises(ValueError):
        Frontier(5, {0: ROOTS[1]})  # size 5 needs levels 0 and 2


# --- against the reference, for any size --------------------------------------------

leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


@settings(max_examples=150, deadline=None)
@given(leaf_lists, st.data())
def test_inclusion_proofs_match_the_reference_and_verify(leaves: list[bytes], data) -> None:  # type: ignore[no-untyped-def]
    size = len(leaves)
    index = data.draw(st.integers(0, size - 1))
    nodes = all_nodes(leaves)
    proof = proof_from(inclusion_ranges(index, size), nodes)
    assert proof == naive_path(index, leaves)
    root = naive_mth(leaves)
    assert root_of(leaves) == root
    verify_inclusion(nodes[(0, index)], index, size, proof, root)


@settings(max_examples=150, deadline=None)
@given(leaf_lists, st.data())
def test_consistency_proofs_match_the_reference_and_verify(leaves: list[bytes], data) -> None:  # type: ignore[no-untyped-def]
    new = len(leaves)
    old = data.draw(st.integers(0, new))
    nodes = all_nodes(leaves)
    proof = proof_from(consistency_ranges(old, new), nodes)
    assert proof == naive_proof(old, leaves)
    verify_consistency(old, new, naive_mth(leaves[:old]), naive_mth(leaves), proof)


@settings(max_examples=60, deadline=None)
@given(leaf_lists, st.integers(1, 40))
def test_a_tree_grown_in_any_batches_has_the_reference_nodes(leaves: list[bytes], cut: int) -> None:
    frontier, made = Frontier(), []
    for start in range(0, len(leaves), cut):
        made += frontier.extend(leaves[start : start + cut], collect=True)
        assert frontier.root() == naive_mth(leaves[: start + cut])
    assert {(level, index): h for level, index, h in made} == all_nodes(leaves)
    assert frontier.nodes() == {
        level: all_nodes(leaves)[(level, index)] for level, index in frontier_keys(len(leaves))
    }


# --- tampering ----------------------------------------------------------------------


# The leaves are distinct, as the log's are (each is a chain hash, which
# covers its own seq): with two equal leaves, swapping them is no change.


def _fails(check, *args) -> bool:  # type: ignore[no-untyped-def]
    try:
        check(*args)
    except ProofFailed:
        return True
    return False


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=4), min_size=2, max_size=40, unique=True), st.data())
def test_every_single_bit_change_of_an_inclusion_proof_fails(leaves: list[bytes], data) -> None:  # type: ignore[no-untyped-def]
    size = len(leaves)
    index = data.draw(st.integers(0, size - 1))
    nodes = all_nodes(leaves)
    leaf, root = nodes[(0, index)], naive_mth(leaves)
    proof = proof_from(inclusion_ranges(index, size), nodes)
    for i, element in enumerate(proof):
        for changed in flips(element):
            bad = [*proof[:i], changed, *proof[i + 1 :]]
            assert _fails(verify_inclusion, leaf, index, size, bad, root)
    for changed in flips(root):
        assert _fails(verify_inclusion, leaf, index, size, proof, changed)
    for changed in flips(leaf):
        assert _fails(verify_inclusion, changed, index, size, proof, root)
    for bit in range(8):
        assert _fails(verify_inclusion, leaf, index ^ (1 << bit), size, proof, root)
    for bit in range(8):
        # A size comes with its own root in a signed head: the head of the
        # changed size (whatever leaves it holds) must not accept this proof.
        other = size ^ (1 << bit)
        other_root = naive_mth(leaves[:other] + [b"more"] * max(0, other - size))
        assert _fails(verify_inclusion, leaf, index, other, proof, other_root)
    assert _fails(verify_inclusion, leaf, index, size, proof[:-1], root)
    assert _fails(verify_inclusion, leaf, index, size, [*proof, root], root)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=4), min_size=2, max_size=40, unique=True), st.data())
def test_every_single_bit_change_of_a_consistency_proof_fails(leaves: list[bytes], data) -> None:  # type: ignore[no-untyped-def]
    new = len(leaves)
    old = data.draw(st.integers(1, new - 1))
    nodes = all_nodes(leaves)
    old_root, new_root = naive_mth(leaves[:old]), naive_mth(leaves)
    proof = proof_from(consistency_ranges(old, new), nodes)
    for i, element in enumerate(proof):
        for changed in flips(element):
            bad = [*proof[:i], changed, *proof[i + 1 :]]
            assert _fails(verify_consistency, old, new, old_root, new_root, bad)
    for changed in flips(old_root):
        assert _fails(verify_consistency, old, new, changed, new_root, proof)
    for changed in flips(new_root):
        assert _fails(verify_consistency, old, new, old_root, changed, proof)
    longer = leaves + [b"more"] * 300
    for bit in range(8):
        other = old ^ (1 << bit)
        assert _fails(verify_consistency, other, new, naive_mth(longer[:other]), new_root, proof)
        other = new ^ (1 << bit)
        assert _fails(verify_consistency, old, other, old_root, naive_mth(longer[:other]), proof)
    assert _fails(verify_consistency, old, new, old_root, new_root, proof[:-1])
    assert _fails(verify_consistency, old, new, old_root, new_root, [*proof, new_root])
