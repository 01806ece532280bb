"""Aggregation checked against crowd-kit and against the properties that define each method."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene, MajorityVote

from labelvault.quality import aggregation as agg
from labelvault.quality.simulation import simulate_crowd


def _frame(votes: agg.Votes) -> pd.DataFrame:
    return pd.DataFrame({"task": votes.items, "worker": votes.workers, "label": votes.labels})


@pytest.mark.parametrize("seed", [1, 2])
def test_dawid_skene_matches_crowd_kit_on_the_same_data(seed):
    crowd = simulate_crowd(4000, seed=seed)
    ours = agg.dawid_skene(crowd.votes)
    reference = DawidSkene(n_iter=100).fit(_frame(crowd.votes))
    theirs = reference.labels_.sort_index().to_numpy()
    ours_accuracy = float((ours.aggregate.labels == crowd.truth).mean())
    theirs_accuracy = float((theirs == crowd.truth).mean())
    assert abs(ours_accuracy - theirs_accuracy) <= 0.005
    assert float((ours.aggregate.labels == theirs).mean()) >= 0.995
    probabilities = reference.probas_.sort_index().reindex(columns=range(5)).to_numpy()
    assert np.abs(ours.aggregate.probabilities - probabilities).max() < 1e-3
    mv_accuracy = float((agg.majority_vote(crowd.votes).labels == crowd.truth).mean())
    assert ours_accuracy > mv_accuracy


def test_dawid_skene_recovers_worker_confusions_and_flags_spammers():
    crowd = simulate_crowd(6000, n_workers=30, spammer_share=0.2, seed=5)
    result = agg.dawid_skene(crowd.votes)
    assert result.errors.shape == (30, 5, 5)
    np.testing.assert_allclose(result.errors.sum(axis=2), 1.0, atol=1e-9)
    # A worker's estimated accuracy (diagonal mass) follows its true one.
    estimated = np.einsum("wkk->w", result.errors) / 5
    actual = np.einsum("wkk->w", crowd.confusions) / 5
    assert np.corrcoef(estimated, actual)[0, 1] > 0.95
    assert result.aggregate.confidence.min() > 0.2 and result.aggregate.confidence.max() <= 1.0


def test_items_without_votes_get_no_label():
    votes = agg.Votes.of([0, 0, 2], [0, 1, 0], [1, 1, 0], n_items=4, n_classes=2)
    for aggregate in (agg.majority_vote(votes), agg.dawid_skene(votes).aggregate):
        assert aggregate.labels[1] == -1 and aggregate.labels[3] == -1
        assert aggregate.confidence[1] == 0.0
        assert aggregate.labels[0] == 1 and aggregate.labels[2] == 0


def test_majority_vote_matches_crowd_kit_and_weighted_vote_follows_weights():
    crowd = simulate_crowd(500, n_classes=3, votes_per_item=4, seed=3)
    ours = agg.majority_vote(crowd.votes)
    reference = MajorityVote().fit(_frame(crowd.votes)).probas_.sort_index()
    np.testing.assert_allclose(ours.probabilities, reference.reindex(columns=range(3), fill_value=0).to_numpy())
    # Two workers say 0, one says 1; the weights make the single worker win.
    votes = agg.Votes.of([0, 0, 0], [0, 1, 2], [0, 0, 1], n_classes=2)
    assert agg.majority_vote(votes).labels[0] == 0
    weighted = agg.weighted_vote(votes, [0.2, 0.2, 0.9])
    assert weighted.labels[0] == 1
    assert weighted.confidence[0] == pytest.approx(0.9 / 1.3)


def test_bradley_terry_is_the_fixed_point_of_its_likelihood_and_orders_players():
    rng = np.random.default_rng(0)
    true = np.exp(rng.normal(size=8))
    a = rng.integers(0, 8, 4000)
    b = (a + rng.integers(1, 8, 4000)) % 8
    outcome = (rng.random(4000) < true[a] / (true[a] + true[b])).astype(float)
    outcome[rng.random(4000) < 0.05] = 0.5
    prior = 0.5
    s = agg.bradley_terry(a, b, outcome, 8, prior=prior)
    # At the maximum, each player's (prior-padded) wins equal its expected wins.
    wins = np.bincount(a, outcome, 8) + np.bincount(b, 1 - outcome, 8) + prior
    expected = (np.bincount(a, s[a] / (s[a] + s[b]), 8) + np.bincount(b, s[b] / (s[a] + s[b]), 8)
                + 2 * prior * s / (s + 1))
    np.testing.assert_allclose(wins, expected, rtol=1e-6)
    assert np.corrcoef(np.log(s), np.log(true))[0, 1] > 0.95
    never_won = agg.bradley_terry([0, 0], [1, 1], [1.0, 1.0], 2)
    assert np.all(np.isfinite(never_won)) and never_won[0] > never_won[1]
