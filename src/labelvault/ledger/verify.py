"""Verification of the whole ledger: chain, positions, checkpoint roots and signatures, truncation."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field
from hashlib import sha256

from orjson import dumps
from sqlalchemy.orm import Session

from labelvault.ledger import repository as repo
from labelvault.ledger.chain import GENESIS, LEAF, Frontier
from labelvault.ledger.models import LedgerCheckpoint
from labelvault.ledger.signing import signature_valid

MAX_PROBLEMS = 50
LEAF_BATCH = 65_536


@dataclass
class VerifyReport:
    entries: int = 0
    unsealed: int = 0
    checkpoints: int = 0
    method: str = "exact"  # "fast" when the fast pass proved the whole ledger
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


def fast_verify(session: Session, public_key: str, *, chunk_rows: int = repo.CHAIN_CHUNK) -> VerifyReport | None:
    """The whole proof over rows the database renders as canonical bytes (one hash per entry and one per inner
    Merkle node, no per-column Python work); None at the first thing that does not check out.

    Sound because both databases render valid JSON: a rendering that hashes to the stored hash decodes to the
    values the sealer hashed."""
    marks = repo.checkpoints(session)
    for mark in marks:
        if mark.public_key != public_key or not signature_valid(public_key, mark.size, bytes.fromhex(mark.root_hash),
                                                                mark.signed_us, mark.signature):
            return None
    roots = [(mark.size, mark.root_hash) for mark in marks]
    roots.reverse()
    frontier = Frontier()
    previous = GENESIS
    expected = 1
    next_mark = roots[-1][0] if roots else -1
    # Leaves go to the frontier at each checkpoint and at least every LEAF_BATCH entries (bounded memory);
    # the loop compares the position with one number for both.
    next_stop = _next_stop(next_mark, 0)
    leaves: list[bytes] = []
    append = leaves.append
    sha = sha256
    with closing(repo.chain_canonical(session, chunk_rows=chunk_rows)) as rows:
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
                    if frontier.root().hex() != roots.pop()[1]:
                        return None
                    next_mark = roots[-1][0] if roots else -1
                next_stop = _next_stop(next_mark, position)
    frontier.extend(leaves)
    if roots:
        return None
    return VerifyReport(entries=expected - 1, unsealed=repo.unsealed_count(session), checkpoints=len(marks),
                        method="fast")


def _next_stop(next_mark: int, position: int) -> int:
    """The position where the fast pass next feeds the frontier: the next checkpoint, or LEAF_BATCH on."""
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
