"""Aggregation of several annotators' labels into one label per item, with a confidence.

Categorical votes are three parallel integer arrays (item, worker, label), each index in 0..n-1, so the
same code serves a handful of items in a request and millions in a job. Every step is a NumPy array
operation or a sparse matrix product: there is no Python loop over labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Error-matrix cells are kept above this so that their logarithm stays finite.
_FLOOR = 1e-10


@dataclass(frozen=True)
class Votes:
    """Categorical labels: `labels[j]` is what `workers[j]` said about `items[j]`."""

    items: IntArray
    workers: IntArray
    labels: IntArray
    n_items: int
    n_workers: int
    n_classes: int

    @classmethod
    def of(cls, items: npt.ArrayLike, workers: npt.ArrayLike, labels: npt.ArrayLike, *,
           n_items: int | None = None, n_workers: int | None = None, n_classes: int | None = None) -> Votes:
        i, w, lab = (np.asarray(x, dtype=np.int64) for x in (items, workers, labels))
        if not len(i) == len(w) == len(lab):
            raise ValueError("items, workers and labels must have the same length")
        return cls(i, w, lab, n_items if n_items is not None else int(i.max(initial=-1)) + 1,
                   n_workers if n_workers is not None else int(w.max(initial=-1)) + 1,
                   n_classes if n_classes is not None else int(lab.max(initial=-1)) + 1)


@dataclass(frozen=True)
class Aggregate:
    """One label per item (-1 where an item has no votes) and the probability of each class."""

    labels: IntArray
    confidence: FloatArray
    probabilities: FloatArray


def _decide(probabilities: FloatArray, has_votes: npt.NDArray[np.bool_]) -> Aggregate:
    labels = np.where(has_votes, probabilities.argmax(axis=1), -1)
    confidence = np.where(has_votes, probabilities.max(axis=1), 0.0)
    return Aggregate(labels.astype(np.int64), confidence, probabilities)


def _weighted_counts(votes: Votes, weights: FloatArray | None) -> FloatArray:
    cells = votes.items * votes.n_classes + votes.labels
    counts = np.bincount(cells, weights=weights, minlength=votes.n_items * votes.n_classes)
    return counts.reshape(votes.n_items, votes.n_classes).astype(np.float64, copy=False)


def _normalized(counts: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    totals = counts.sum(axis=1, keepdims=True)
    has_votes = totals[:, 0] > 0
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0), has_votes


def majority_vote(votes: Votes) -> Aggregate:
    """The most frequent label; confidence is its share of the votes (ties go to the lowest class)."""
    probabilities, has_votes = _normalized(_weighted_counts(votes, None))
    return _decide(probabilities, has_votes)


def weighted_vote(votes: Votes, worker_weights: npt.ArrayLike) -> Aggregate:
    """Each vote counts its worker's weight (e.g. gold accuracy); confidence is the winner's weight share."""
    weights = np.asarray(worker_weights, dtype=np.float64)[votes.workers]
    probabilities, has_votes = _normalized(_weighted_counts(votes, weights))
    return _decide(probabilities, has_votes)


@dataclass(frozen=True)
class DawidSkeneResult:
    aggregate: Aggregate
    priors: FloatArray
    # errors[w, k, l]: the probability that worker w says l when the true class is k.
    errors: FloatArray
    iterations: int


class _Layout:
    """The votes as a sparse (item, worker*K + label) incidence matrix and its transpose, built once.

    Both EM steps are then sparse products: an item's class scores sum the log error-table rows of its
    votes; a worker's (label, class) sums add up the class probabilities of the items it labeled.
    """

    def __init__(self, votes: Votes) -> None:
        k = votes.n_classes
        self.n_codes = votes.n_workers * k
        codes = votes.workers * k + votes.labels
        items = votes.items
        if len(items) > 1 and not bool(np.all(items[1:] >= items[:-1])):
            order = np.argsort(items, kind="stable")
            items, codes = items[order], codes[order]
        # Built directly in CSR form from votes sorted by item: no COO intermediate, no duplicate summing.
        indptr = np.zeros(votes.n_items + 1, dtype=np.int64)
        np.cumsum(np.bincount(items, minlength=votes.n_items), out=indptr[1:])
        self.by_item = sparse.csr_matrix(
            (np.ones(len(codes)), codes, indptr), shape=(votes.n_items, self.n_codes)
        )
        self.has_votes = np.diff(indptr) > 0
        self.all_voted = bool(self.has_votes.all())
        self.seen = np.bincount(codes, minlength=self.n_codes) > 0

    def per_item(self, table: FloatArray) -> FloatArray:
        """Sum, for each item, the rows of a (worker*K + label, K) table that its votes point at."""
        return np.asarray(self.by_item @ table)

    def per_code(self, probabilities: FloatArray) -> FloatArray:
        """(worker*K + label, true class) sums of the items' class probabilities."""
        # The transpose is a CSC view: the product walks the items in order and adds into a small table.
        return np.asarray(self.by_item.T @ probabilities)


def _m_step(layout: _Layout, probabilities: FloatArray, n_workers: int, k: int) -> tuple[FloatArray, FloatArray]:
    """Error matrices from class probabilities; also returns the raw (code, class) sums."""
    sums = layout.per_code(probabilities)
    clipped = np.where(layout.seen[:, None], np.maximum(sums, _FLOOR), 0.0)
    by_worker = clipped.reshape(n_workers, k, k)  # [worker, label, true class]
    totals = by_worker.sum(axis=1, keepdims=True)
    errors = np.divide(by_worker, totals, out=np.zeros_like(by_worker), where=totals > 0)
    return errors, sums


def _log_errors(errors: FloatArray) -> FloatArray:
    """log errors as a (worker*K + label, true class) table; unused cells are never read."""
    n_workers, k, _ = errors.shape
    return np.log(np.maximum(errors, _FLOOR)).reshape(n_workers * k, k)


def _lower_bound(sums: FloatArray, log_errors: FloatArray, priors: FloatArray, entropy: float,
                 n_votes: int) -> float:
    """The evidence lower bound per vote, the quantity EM increases and the stopping rule watches."""
    log_priors = np.log(np.maximum(priors, _FLOOR))
    joint = float((sums * log_errors).sum() + (sums.sum(axis=0) * log_priors).sum())
    return (joint + entropy) / n_votes


def _e_step(layout: _Layout, log_errors: FloatArray, priors: FloatArray) -> tuple[FloatArray, float]:
    """Class probabilities of every item and their entropy, computed in place on one (items, K) array."""
    scores = layout.per_item(log_errors)
    scores += np.log(np.maximum(priors, _FLOOR))
    scores -= scores.max(axis=1, keepdims=True)
    probabilities = np.exp(scores)
    totals = probabilities.sum(axis=1)
    probabilities /= totals[:, None]
    if not layout.all_voted:
        probabilities[~layout.has_votes] = 0.0
        totals[~layout.has_votes] = 1.0
    # log p = score - log(total), so the entropy needs no logarithm of the whole array.
    entropy = float(np.log(totals).sum()) - float(np.einsum("ij,ij->", probabilities, scores))
    return probabilities, entropy


def dawid_skene(votes: Votes, *, max_iterations: int = 100, tolerance: float = 1e-5) -> DawidSkeneResult:
    """Dawid-Skene EM: each worker's confusion matrix and each item's class probabilities.

    Starts from the majority vote and stops when the evidence lower bound per vote improves by less
    than `tolerance`, like the reference formulation in the crowdsourcing literature.
    """
    k = votes.n_classes
    layout = _Layout(votes)
    probabilities, has_votes = _normalized(_weighted_counts(votes, None))
    voted = max(int(has_votes.sum()), 1)
    priors = probabilities.sum(axis=0) / voted
    errors, _ = _m_step(layout, probabilities, votes.n_workers, k)
    previous = -np.inf
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - the count is reported
        probabilities, entropy = _e_step(layout, _log_errors(errors), priors)
        priors = probabilities.sum(axis=0) / voted
        errors, sums = _m_step(layout, probabilities, votes.n_workers, k)
        bound = _lower_bound(sums, _log_errors(errors), priors, entropy, max(len(votes.items), 1))
        if bound - previous < tolerance:
            break
        previous = bound
    return DawidSkeneResult(_decide(probabilities, has_votes), priors, errors.transpose(0, 2, 1).copy(), iterations)


def _rescaled(strengths: FloatArray) -> FloatArray:
    """The best common scale for the strengths against the virtual player (the data part ignores scale).

    Without this step MM crawls along the scale direction, which only the weak prior pins down.
    """
    log_scale = 0.0
    for _ in range(50):  # Newton steps on one scalar
        scaled = np.exp(log_scale) * strengths
        value = float(((1 - scaled) / (1 + scaled)).sum())
        slope = float((-2 * scaled / (1 + scaled) ** 2).sum())
        step = value / slope
        log_scale -= step
        if abs(step) < 1e-12:
            break
    return np.asarray(np.exp(log_scale) * strengths, dtype=np.float64)


def bradley_terry(
    first: npt.ArrayLike, second: npt.ArrayLike, outcome: npt.ArrayLike, n_players: int, *,
    prior: float = 0.5, max_iterations: int = 1000, tolerance: float = 1e-9,
) -> FloatArray:
    """Bradley-Terry strengths from pairwise preferences (minorization-maximization, Hunter 2004).

    Comparison j pits `first[j]` against `second[j]`; `outcome[j]` is 1 when the first won, 0 when the
    second won and 0.5 for a tie. Every player also plays `prior` wins and `prior` losses against a
    virtual player of strength 1, which keeps strengths finite for players that never won or never
    lost and fixes the scale. Returns strengths (the probability that i beats j is s_i / (s_i + s_j)).
    """
    a, b = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
    result = np.asarray(outcome, dtype=np.float64)
    wins = (np.bincount(a, weights=result, minlength=n_players)
            + np.bincount(b, weights=1.0 - result, minlength=n_players) + prior)
    strengths = np.ones(n_players)
    for _ in range(max_iterations):
        pair = 1.0 / (strengths[a] + strengths[b])
        games = (np.bincount(a, weights=pair, minlength=n_players) + np.bincount(b, weights=pair, minlength=n_players)
                 + 2 * prior / (strengths + 1.0))
        updated = _rescaled(wins / games)
        if np.max(np.abs(np.log(updated) - np.log(strengths))) < tolerance:
            return updated
        strengths = updated
    return strengths
