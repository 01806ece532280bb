"""Chain and Merkle maths: the incremental frontier gives the RFC 6962 root for every size."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from labelvault.ledger.chain import Frontier, merkle_root, node_hash
from labelvault.ledger.signing import load_or_create_signer, signature_valid


def _leaf(i: int) -> bytes:
    return hashlib.sha256(b"\x00" + i.to_bytes(4, "big")).digest()


@given(st.integers(min_value=0, max_value=70))
def test_frontier_root_equals_the_recursive_definition(n):
    frontier = Frontier()
    for i in range(n):
        frontier.append(_leaf(i))
    assert frontier.root() == merkle_root([_leaf(i) for i in range(n)])
    in_bulk = Frontier()
    in_bulk.extend([_leaf(i) for i in range(n // 2)])
    in_bulk.extend([_leaf(i) for i in range(n // 2, n)])
    assert (in_bulk.size, in_bulk.root()) == (n, frontier.root())


def test_frontier_resumes_from_its_dump():
    frontier = Frontier()
    for i in range(13):
        frontier.append(_leaf(i))
    resumed = Frontier.load(13, frontier.dump())
    for i in range(13, 20):
        resumed.append(_leaf(i))
    assert resumed.root() == merkle_root([_leaf(i) for i in range(20)])


def test_three_leaf_tree_splits_at_the_largest_power_of_two():
    a, b, c = _leaf(0), _leaf(1), _leaf(2)
    assert merkle_root([a, b, c]) == node_hash(node_hash(a, b), c)


def test_signing_key_is_made_once_with_mode_0600(tmp_path):
    first = load_or_create_signer(tmp_path)
    second = load_or_create_signer(tmp_path)
    assert first.public_hex == second.public_hex
    assert (tmp_path / "ledger-signing.key").stat().st_mode & 0o777 == 0o600
    other = load_or_create_signer(tmp_path / "elsewhere")
    assert other.public_hex != first.public_hex
    root = hashlib.sha256(b"r").digest()
    signature = first.sign(5, root, 123).hex()
    assert signature_valid(first.public_hex, 5, root, 123, signature)
    assert not signature_valid(first.public_hex, 6, root, 123, signature)
    assert not signature_valid(other.public_hex, 5, root, 123, signature)


@given(st.lists(st.integers(min_value=0, max_value=40), max_size=8))
def test_extending_in_any_chunks_equals_appending_one_by_one(chunks):
    one_by_one, in_chunks = Frontier(), Frontier()
    done = 0
    for chunk in chunks:
        leaves = [_leaf(i) for i in range(done, done + chunk)]
        for leaf in leaves:
            one_by_one.append(leaf)
        in_chunks.extend(leaves)
        done += chunk
        assert (in_chunks.size, in_chunks.roots) == (one_by_one.size, one_by_one.roots)
    assert in_chunks.root() == merkle_root([_leaf(i) for i in range(done)])
