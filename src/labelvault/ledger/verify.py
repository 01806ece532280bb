"""Verification of the whole ledger: chain, positions, checkpoint roots and signatures, truncation."""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from hashlib import sha256
from multiprocessing import get_context

from orjson import dumps
from sqlalchemy.orm import Session

from labelvault.db.engine import build_engine
from labelvault.ledger import repository as repo
from labelvault.ledger.chain import GENESIS, LEAF, Frontier, fold_roots
from labelvault.ledger.models import LedgerCheckpoint
from labelvault.ledger.signing import signature_valid

MAX_PROBLEMS = 50
LEAF_BATCH = 65_536
# Entries per slice of a parallel walk: a power of two (each slice is one perfect Merkle subtree).
SLICE_ENTRIES = 1 << 19


@dataclass
class VerifyReport:
    entries: int = 0
    unsealed: int = 0
    checkpoints: int = 0
    method: str = "exact"  # "fast" when the fast pass proved the whole ledger
    slices: int = 1  # parts of the chain the fast pass walked at once
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


def verify(session: Session, public_key: str) -> VerifyReport:
    """Walk the chain once: every position present once and in order, every hash recomputed, every checkpoint's
    Merkle root recomputed and its Ed25519 signature checked against `public_key` (hex).

    An intact ledger is proved by the fast pass; when it finds anything wrong, the exact walk runs to say what
    and where."""
    report = fast_verify(session, public_key)
    return report if report is not None else exact_verify(session, public_key)


def fast_verify(session: Session, public_key: str, *, chunk_rows: int = repo.CHAIN_CHUNK,
                workers: int | None = None, slice_entries: int = SLICE_ENTRIES) -> VerifyReport | None:
    """The whole proof over rows the database renders as canonical bytes (one hash per entry and one per inner
    Merkle node, no per-column Python work); None at the first thing that does not check out.

    Sound because both databases render valid JSON: a rendering that hashes to the stored hash decodes to the
    values the sealer hashed.

    A long chain is cut into slices of `slice_entries` (a power of two) walked by `workers` processes at once
    (default: one per core), each over its own connection on this transaction's snapshot. A slice starts from
    the stored hash of the entry before it, which the slice before proves; a slice's Merkle subtree is perfect
    and aligned, so the tree's roots at any size inside a slice are the roots of the slices before it followed
    by the slice's own roots at that size. The same hashes as one walk, on every core."""
    marks = repo.checkpoints(session)
    for mark in marks:
        if mark.public_key != public_key or not signature_valid(public_key, mark.size, bytes.fromhex(mark.root_hash),
                                                                mark.signed_us, mark.signature):
            return None
    size = repo.chain_size(session)
    if marks and marks[-1].size > size:
        return None  # truncated: the exact walk says where
    if slice_entries & (slice_entries - 1):
        raise ValueError("slice_entries must be a power of two")
    workers = workers or os.cpu_count() or 1
    url = session.get_bind().engine.url
    shareable = url.get_backend_name() == "postgresql" or url.database not in (None, "", ":memory:")
    if workers < 2 or size <= slice_entries or not shareable:
        ends = [size]
    else:
        ends = [*range(slice_entries, size, slice_entries), size]
    slices = [(first, last, [m.size for m in marks if first < m.size <= last])
              for first, last in zip([0, *ends[:-1]], ends, strict=True)]
    if len(slices) == 1:
        return _combine(session, marks, [_walk(session, *slices[0], chunk_rows)], size, slice_entries)
    snapshot = repo.export_snapshot(session)
    address = url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(min(workers, len(slices)), mp_context=get_context("spawn")) as pool:
        results = pool.map(_walk_in_worker, *zip(*[(address, snapshot, first, last, inside, chunk_rows)
                                                   for first, last, inside in slices], strict=True))
        report = _combine(session, marks, results, size, slice_entries)
    if report is not None:
        report.slices = len(slices)
    return report


@dataclass
class _Slice:
    """What the walk of positions first+1..last found: the slice's Merkle roots (largest first) at each
    checkpoint inside it and at its end."""
    last: int
    entries: int
    roots_at: list[tuple[int, list[bytes]]]
    roots: list[bytes]


def _combine(session: Session, marks: list[LedgerCheckpoint], results: Iterable[_Slice | None],
             size: int, slice_entries: int) -> VerifyReport | None:
    roots = {mark.size: mark.root_hash for mark in marks}
    if roots.get(0, Frontier().root().hex()) != Frontier().root().hex():
        return None
    # The whole slices walked so far, each one perfect subtree of slice_entries leaves: a frontier whose leaves
    # are slices. A checkpoint at the end of a whole slice sees that slice merged in; one inside a slice sees the
    # slice's own roots after those of the slices before.
    before = Frontier()
    for result in results:
        if result is None:
            return None
        earlier = list(before.roots)
        whole = result.entries == slice_entries
        if whole:
            before.append(result.roots[0])
        for at, slice_roots in result.roots_at:
            tree = before.roots if whole and at == result.last else [*earlier, *slice_roots]
            if fold_roots(tree).hex() != roots[at]:
                return None
    return VerifyReport(entries=size, unsealed=repo.unsealed_count(session), checkpoints=len(marks),
                        method="fast")


def _walk_in_worker(address: str, snapshot: str | None, first: int, last: int, inside: list[int],
                    chunk_rows: int) -> _Slice | None:
    engine = build_engine(address, pool_size=1)
    try:
        with Session(engine) as session:
            repo.use_snapshot(session, snapshot)
            return _walk(session, first, last, inside, chunk_rows)
    finally:
        engine.dispose()


def _walk(session: Session, first: int, last: int, inside: list[int], chunk_rows: int) -> _Slice | None:
    """Recompute every hash of positions first+1..last from its canonical bytes and the hash before it; None
    at the first entry that does not check out or the first position out of place."""
    previous = bytes.fromhex(repo.stored_hash_at(session, first) or "") if first else GENESIS
    if len(previous) != len(GENESIS):
        return None
    frontier = Frontier()
    roots_at: list[tuple[int, list[bytes]]] = []
    marks = list(reversed(inside))
    next_mark = marks.pop() if marks else -1
    expected = first + 1
    # Leaves go to the frontier at each checkpoint and at least every LEAF_BATCH entries (bounded memory);
    # the loop compares the position with one number for both.
    next_stop = _next_stop(next_mark, first)
    leaves: list[bytes] = []
    append = leaves.append
    sha = sha256
    with closing(repo.chain_canonical(session, first, last, chunk_rows=chunk_rows)) as rows:
        for position, canonical, stored in rows:
            if position != expected:
                return None
            previous = sha(LEAF + previous + canonical).digest()
            if previous.hex() != stored:
                return None
            append(previous)
            expected += 1
            if position == next_stop:
                frontier.extend(leaves)
                leaves.clear()
                if position == next_mark:
                    roots_at.append((position, list(frontier.roots)))
                    next_mark = marks.pop() if marks else -1
                next_stop = _next_stop(next_mark, position)
    frontier.extend(leaves)
    if expected != last + 1:
        return None
    return _Slice(last, last - first, roots_at, frontier.roots)


def _next_stop(next_mark: int, position: int) -> int:
    """The position where the walk next feeds the frontier: the next checkpoint, or LEAF_BATCH on."""
    batch_end = position + LEAF_BATCH
    return next_mark if 0 < next_mark <= batch_end else batch_end


def exact_verify(session: Session, public_key: str) -> VerifyReport:
    """The reference walk over the columns as Python values: reports every problem with its place."""
    report = VerifyReport(unsealed=repo.unsealed_count(session))
    marks = repo.checkpoints(session)
    report.checkpoints = len(marks)
    for mark in marks:
        if mark.public_key != public_key or not signature_valid(public_key, mark.size, bytes.fromhex(mark.root_hash),
                                                                mark.signed_us, mark.signature):
            report.problem(f"checkpoint at size {mark.size}: signature does not verify with this instance's key")
    pending = list(marks)
    frontier = Frontier()
    previous = GENESIS
    expected = 1
    next_mark = pending[0].size if pending else -1  # a plain int: read for every entry
    for rows in repo.sealed_rows(session):
        leaves: list[bytes] = []
        for row in rows:
            position, stored = row[0], row[-1]
            if position != expected:
                report.problem(f"positions {expected}..{position - 1} are missing (entries deleted) before entry "
                               f"{row[1]}")
            computed = sha256(LEAF + previous + dumps(row[:-1])).digest()
            if computed.hex() != stored:
                report.problem(f"entry at position {position} (id {row[1]}) does not match the chain: changed, "
                               "inserted or moved at or just before this position")
                previous = bytes.fromhex(stored) if stored else computed
            else:
                previous = computed
            leaves.append(computed)
            expected = position + 1
            if frontier.size + len(leaves) == next_mark:
                frontier.extend(leaves)
                leaves = []
                _check_roots(report, frontier, pending, marks)
                next_mark = pending[0].size if pending else -1
        frontier.extend(leaves)
    report.entries = expected - 1
    for mark in pending:
        report.problem(f"ledger truncated: the chain ends at position {report.entries} but the checkpoint signed "
                       f"at size {mark.size} covers {mark.size} entries")
    return report


def _check_roots(report: VerifyReport, frontier: Frontier, pending: list[LedgerCheckpoint],
                 marks: list[LedgerCheckpoint]) -> None:
    """Compare the root with each checkpoint made at the frontier's current size."""
    while pending and pending[0].size == frontier.size:
        mark = pending.pop(0)
        if frontier.root().hex() != mark.root_hash:
            start = max((m.size for m in marks if m.size < mark.size), default=0) + 1
            report.problem(f"checkpoint at size {mark.size}: Merkle root differs; entries {start}..{mark.size} "
                           "were rewritten")
