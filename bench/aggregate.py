"""Dawid-Skene aggregation speed and accuracy on seeded synthetic crowd votes.

    python bench/aggregate.py --items 1000000

Setup (not timed): K=5 classes, 200 workers with their own confusion matrices (a tenth of them spammers),
5 labels per item from distinct workers (`labelvault.quality.simulation`). Timed: `dawid_skene` from the
labels in memory to the predictions; `peak_rss_mb` is the process's peak resident memory over that stretch
(the labels included). Crowd-kit's DawidSkene runs on the same data when it is installed and N <= 100,000.
Last stdout line: {"items", "labels", "seconds", "peak_rss_mb", "accuracy", "majority_vote_accuracy",
"crowdkit_accuracy", "iterations", "database"}.
"""

from __future__ import annotations

import os
import time
from typing import Any

from environment import RssSampler, emit, log

from labelvault.quality.aggregation import Votes, dawid_skene, majority_vote
from labelvault.quality.simulation import simulate_crowd

CROWDKIT_MAX_ITEMS = 100_000


def crowdkit_accuracy(votes: Votes, truth: Any) -> float | None:
    try:
        import pandas as pd
        from crowdkit.aggregation import DawidSkene
    except ImportError:
        return None
    frame = pd.DataFrame({"task": votes.items, "worker": votes.workers, "label": votes.labels})
    started = time.perf_counter()
    predicted = DawidSkene(n_iter=100).fit(frame).labels_.sort_index().to_numpy()
    log(f"crowd-kit DawidSkene: {time.perf_counter() - started:.2f} s")
    return float((predicted == truth).mean())


def main() -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--items", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    log(f"simulating {args.items} items")
    crowd = simulate_crowd(args.items, seed=args.seed)
    votes = crowd.votes
    log(f"running Dawid-Skene on {len(votes.items)} labels")
    with RssSampler(os.getpid(), interval=0.01) as memory:
        started = time.perf_counter()
        result = dawid_skene(votes)
        seconds = time.perf_counter() - started
    accuracy = float((result.aggregate.labels == crowd.truth).mean())
    mv_accuracy = float((majority_vote(votes).labels == crowd.truth).mean())
    reference = crowdkit_accuracy(votes, crowd.truth) if args.items <= CROWDKIT_MAX_ITEMS else None
    emit({"items": args.items, "labels": len(votes.items), "seconds": round(seconds, 3),
          "peak_rss_mb": round(memory.peak_kb / 1024, 1), "accuracy": round(accuracy, 5),
          "majority_vote_accuracy": round(mv_accuracy, 5),
          "crowdkit_accuracy": None if reference is None else round(reference, 5),
          "iterations": result.iterations, "database": None})


if __name__ == "__main__":
    main()
