"""Hash chain and RFC 6962 Merkle tree maths over ledger entries (pure functions, no database).

An entry's hash is the RFC 6962 leaf hash SHA-256(0x00 || previous hash || canonical entry), so the chained
hashes are also the leaves of the Merkle tree that checkpoints sign: verifying costs one hash per entry plus
one per inner node.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson

GENESIS = bytes(32)
LEAF = b"\x00"
NODE = b"\x01"

# The columns that enter an entry's hash, in this order (position first: moving an entry changes its hash).
HASHED_COLUMNS = ("position", "id", "organization_id", "recorded_us", "kind", "actor_user_id", "actor_email",
                  "token_id", "vendor_id", "route", "project_id", "item_ids", "fields", "detail")


def entry_hash(previous: bytes, row: Sequence[Any]) -> bytes:
    """`row` holds the HASHED_COLUMNS values (str, int or None), in order."""
    return hashlib.sha256(LEAF + previous + orjson.dumps(list(row))).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE + left + right).digest()


class Frontier:
    """The roots of the perfect subtrees of a growing RFC 6962 tree, largest first: appending is amortised
    one node hash, and the root of the first n leaves needs only these (no other leaf)."""

    def __init__(self, size: int = 0, roots: Sequence[bytes] = ()) -> None:
        self.size = size
        self.roots = list(roots)
        if len(self.roots) != bin(size).count("1"):
            raise ValueError("frontier does not match its size")

    def append(self, leaf_hash: bytes) -> None:
        self.roots.append(leaf_hash)
        self.size += 1
        # Merge equal-sized subtrees: one per trailing zero bit of the new size.
        carry = self.size
        while carry % 2 == 0:
            right = self.roots.pop()
            self.roots[-1] = node_hash(self.roots[-1], right)
            carry //= 2

    def extend(self, leaf_hashes: Sequence[bytes]) -> None:
        """`append` for many leaves, a level at a time (verification's inner loop): at each level the pending
        root of that size, if any, goes before the new nodes, pairs are hashed in one comprehension and an odd
        last node becomes the pending root of its level. The same hashes as `append`, less interpreter work."""
        size = self.size
        levels = [k for k in range(size.bit_length()) if size >> k & 1]
        pending = dict(zip(reversed(levels), self.roots, strict=True))
        sha256 = hashlib.sha256
        nodes = list(leaf_hashes)
        level = 0
        while nodes:
            if level in pending:
                nodes.insert(0, pending.pop(level))
            if len(nodes) % 2:
                pending[level] = nodes.pop()
            pairs = iter(nodes)
            nodes = [sha256(NODE + left + right).digest() for left, right in zip(pairs, pairs, strict=True)]
            level += 1
        self.size = size + len(leaf_hashes)
        self.roots = [pending[k] for k in sorted(pending, reverse=True)]
        if len(self.roots) != bin(self.size).count("1"):
            raise AssertionError("frontier does not match its size")

    def root(self) -> bytes:
        """MTH(D[n]) of RFC 6962; the hash of the empty string for an empty tree."""
        return fold_roots(self.roots)

    def dump(self) -> str:
        return orjson.dumps([r.hex() for r in self.roots]).decode()

    @classmethod
    def load(cls, size: int, text: str) -> Frontier:
        return cls(size, [bytes.fromhex(h) for h in orjson.loads(text)])


def fold_roots(roots: Sequence[bytes]) -> bytes:
    """The tree's root from the roots of its perfect subtrees, largest (leftmost) first."""
    if not roots:
        return hashlib.sha256(b"").digest()
    result = roots[-1]
    for left in reversed(roots[:-1]):
        result = node_hash(left, result)
    return result


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """The RFC 6962 root by its recursive definition (the reference the frontier is tested against)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(merkle_root(leaves[:split]), merkle_root(leaves[split:]))
