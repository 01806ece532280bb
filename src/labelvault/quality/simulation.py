"""Seeded synthetic crowd votes (the Dawid-Skene generative model) for tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelvault.quality.aggregation import Votes


@dataclass(frozen=True)
class Crowd:
    truth: npt.NDArray[np.int64]
    votes: Votes
    # confusions[w, k, l]: the probability that worker w says l when the truth is k.
    confusions: npt.NDArray[np.float64]


def confusion_matrices(rng: np.random.Generator, n_workers: int, n_classes: int,
                       spammer_share: float) -> npt.NDArray[np.float64]:
    """Skilled workers (accuracy 0.45..0.95, errors spread unevenly) and spammers (answers unrelated to the truth)."""
    k = n_classes
    matrices = np.empty((n_workers, k, k))
    spammers = rng.random(n_workers) < spammer_share
    for w in range(n_workers):  # once per worker, not per label
        if spammers[w]:
            matrices[w] = np.tile(rng.dirichlet(np.ones(k)), (k, 1))
            continue
        accuracy = rng.uniform(0.45, 0.95)
        errors = rng.dirichlet(np.full(k - 1, 2.0), size=k) * (1 - accuracy)
        for true in range(k):
            matrices[w, true] = np.insert(errors[true], true, accuracy)
    return matrices


def simulate_crowd(n_items: int, *, n_classes: int = 5, n_workers: int = 200, votes_per_item: int = 5,
                   spammer_share: float = 0.1, seed: int = 0, chunk: int = 1_000_000) -> Crowd:
    """`votes_per_item` distinct random workers label each item, each through its own confusion matrix."""
    rng = np.random.default_rng(seed)
    k = n_classes
    confusions = confusion_matrices(rng, n_workers, k, spammer_share)
    cumulative = np.cumsum(confusions, axis=2)
    truth = rng.integers(0, k, n_items)
    items = np.repeat(np.arange(n_items, dtype=np.int64), votes_per_item)
    # Distinct workers per item: a random start and a random stride coprime with the pool size is enough
    # variety for the model and needs no per-item sampling loop.
    start = rng.integers(0, n_workers, n_items)
    strides = np.array([s for s in range(1, n_workers) if np.gcd(s, n_workers) == 1])
    stride = strides[rng.integers(0, len(strides), n_items)]
    offsets = np.arange(votes_per_item)
    workers = ((start[:, None] + stride[:, None] * offsets[None, :]) % n_workers).reshape(-1)
    labels = np.empty(len(items), dtype=np.int64)
    for begin in range(0, len(items), chunk):  # bounded memory: one chunk of (votes, K) at a time
        end = min(begin + chunk, len(items))
        rows = cumulative[workers[begin:end], truth[items[begin:end]]]
        labels[begin:end] = np.minimum((rng.random(end - begin)[:, None] > rows).sum(axis=1), k - 1)
    votes = Votes(items, workers.astype(np.int64), labels, n_items, n_workers, k)
    return Crowd(truth, votes, confusions)
