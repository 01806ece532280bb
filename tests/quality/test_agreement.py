"""Agreement metrics checked against reference implementations on the same data."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from labelvault.quality import agreement


def _reliability(seed: int, coders: int = 6, units: int = 80, values: int = 5, missing: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, values, units)
    noise = rng.integers(-1, 2, (coders, units)) * (rng.random((coders, units)) < 0.4)
    data = np.clip(truth + noise, 0, values - 1).astype(float) * 1.5 + 1  # values need not be 0..K-1
    data[rng.random((coders, units)) < missing] = np.nan
    return data


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
@pytest.mark.parametrize("seed", range(5))
def test_krippendorff_alpha_matches_the_reference(level, seed):
    data = _reliability(seed)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert agreement.krippendorff_alpha(data, level) == pytest.approx(expected, abs=1e-9)


def test_krippendorff_alpha_is_one_for_perfect_agreement_and_nan_without_pairs():
    assert agreement.krippendorff_alpha([[1, 2, 3], [1, 2, 3]]) == 1.0
    assert np.isnan(agreement.krippendorff_alpha([[1, np.nan], [np.nan, 2]]))


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", range(5))
def test_cohen_kappa_matches_scikit_learn(weights, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, 200)
    b = np.where(rng.random(200) < 0.6, a, rng.integers(0, 4, 200))
    labels_a, labels_b = [f"c{x}" for x in a], [f"c{x}" for x in b]
    expected = cohen_kappa_score(labels_a, labels_b, weights=weights)
    assert agreement.cohen_kappa(labels_a, labels_b, weights) == pytest.approx(expected, abs=1e-12)


def test_fleiss_kappa_of_the_published_example_and_against_a_direct_count():
    # Fleiss (1971) style example used in most textbooks: 10 units, 14 raters, 5 categories.
    table = np.array([
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ])
    assert agreement.fleiss_kappa(table) == pytest.approx(0.2099, abs=1e-4)
    rng = np.random.default_rng(1)
    table = rng.multinomial(5, [0.5, 0.3, 0.2], size=50)
    pairs_agreeing = sum(sum(c * (c - 1) for c in row) for row in table) / (50 * 5 * 4)
    shares = table.sum(axis=0) / table.sum()
    chance = float((shares**2).sum())
    assert agreement.fleiss_kappa(table) == pytest.approx((pairs_agreeing - chance) / (1 - chance))
    with pytest.raises(ValueError):
        agreement.fleiss_kappa([[1, 1], [2, 0], [1, 0]])


def test_percent_agreement_counts_agreeing_pairs():
    # Unit 1: 3 coders agree (6 ordered pairs of 6); unit 2: 2 of 3 agree (2 of 6); unit 3: one rating.
    data = [[1, 1, 5], [1, 1, np.nan], [1, 2, np.nan]]
    assert agreement.percent_agreement(data) == pytest.approx(8 / 12)


def test_span_f1_exact_match_and_per_label():
    a = [{"start": 0, "end": 4, "label": "PER"}, {"start": 10, "end": 15, "label": "ORG"}]
    b = [{"start": 0, "end": 4, "label": "PER"}, {"start": 10, "end": 14, "label": "ORG"},
         {"start": 20, "end": 22, "label": "ORG"}]
    assert agreement.span_f1(a, b) == pytest.approx(2 * 1 / 5)
    assert agreement.span_f1_per_label(a, b) == {"ORG": 0.0, "PER": 1.0}
    assert agreement.span_f1([], []) == 1.0


def test_box_iou_and_matched_f1():
    a = {"x": 0.0, "y": 0.0, "width": 0.5, "height": 0.5, "label": "car"}
    b = {"x": 0.25, "y": 0.0, "width": 0.5, "height": 0.5, "label": "car"}
    assert agreement.box_iou(a, b) == pytest.approx(0.125 / 0.375)
    assert agreement.box_iou(a, a) == pytest.approx(1.0)
    far = {"x": 0.6, "y": 0.6, "width": 0.1, "height": 0.1, "label": "car"}
    assert agreement.box_iou(a, far) == 0.0
    shifted = {**a, "x": 0.05}
    other_label = {**a, "label": "bus"}
    assert agreement.box_f1([a, far], [shifted]) == pytest.approx(2 * 1 / 3)
    assert agreement.box_f1([a], [other_label]) == 0.0
    assert agreement.mean_matched_iou([a], [a, far]) == pytest.approx(0.5)


def test_count_forms_match_the_matrix_forms():
    data = _reliability(7)
    units = [[v for v in data[:, u] if not np.isnan(v)] for u in range(data.shape[1])]
    counts, domain = agreement.value_counts(units)
    for level in ("nominal", "ordinal", "interval"):
        assert agreement.alpha_from_counts(counts, domain, level) == pytest.approx(
            krippendorff.alpha(reliability_data=data, level_of_measurement=level), abs=1e-9)
    assert agreement.agreement_from_counts(counts) == pytest.approx(agreement.percent_agreement(data))
