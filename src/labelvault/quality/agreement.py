"""Agreement between annotators: pure functions over NumPy arrays and answer values.

Ratings are given as a (coders, units) matrix with NaN where a coder did not rate a unit, the layout
of the reliability data in the literature (and of the `krippendorff` package).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Level = Literal["nominal", "ordinal", "interval"]
FloatArray = npt.NDArray[np.float64]


def _value_counts(ratings: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(units, values) counts of each value per unit, and the sorted value domain."""
    data = np.asarray(ratings, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError("ratings must be a (coders, units) matrix")
    present = ~np.isnan(data)
    domain = np.unique(data[present])
    units = np.broadcast_to(np.arange(data.shape[1]), data.shape)[present]
    values = np.searchsorted(domain, data[present])
    counts = np.bincount(units * len(domain) + values, minlength=data.shape[1] * len(domain))
    return counts.reshape(data.shape[1], len(domain)).astype(np.float64), domain


def _distances(level: Level, domain: FloatArray, totals: FloatArray) -> FloatArray:
    """Squared distance between every pair of values (delta squared) at a level of measurement."""
    size = len(domain)
    if level == "nominal":
        return 1.0 - np.eye(size)
    if level == "interval":
        return np.subtract.outer(domain, domain) ** 2
    # Ordinal: the distance is the mass of the values between the two, their own halves included.
    cumulative = np.concatenate([[0.0], np.cumsum(totals)])
    low = np.minimum.outer(np.arange(size), np.arange(size))
    high = np.maximum.outer(np.arange(size), np.arange(size))
    between = cumulative[high + 1] - cumulative[low]
    return np.asarray((between - (totals[low] + totals[high]) / 2) ** 2, dtype=np.float64)


def krippendorff_alpha(ratings: npt.ArrayLike, level: Level = "nominal") -> float:
    """Krippendorff's alpha of a (coders, units) matrix with NaN for missing ratings.

    NaN when there is nothing to compare (fewer than two pairable values, or a single value overall).
    """
    counts, domain = _value_counts(ratings)
    return alpha_from_counts(counts, domain, level)


def alpha_from_counts(counts: FloatArray, domain: FloatArray, level: Level = "nominal") -> float:
    """Krippendorff's alpha from a (units, values) matrix of how many coders gave each value of `domain`.

    This form needs no (coders, units) matrix, so it serves projects with many annotators and items.
    """
    pairable = counts.sum(axis=1)
    counts = counts[pairable >= 2]
    pairable = pairable[pairable >= 2]
    if len(counts) == 0 or len(domain) < 2:
        return float("nan")
    weighted = counts / (pairable - 1)[:, None]
    coincidences = weighted.T @ counts - np.diag(weighted.sum(axis=0))
    totals = coincidences.sum(axis=0)
    total = totals.sum()
    delta = _distances(level, domain, totals)
    expected = float((np.outer(totals, totals) * delta).sum())
    if expected == 0:
        return float("nan")
    return 1.0 - float(total - 1) * float((coincidences * delta).sum()) / expected


def value_counts(units: Sequence[Sequence[Any]]) -> tuple[FloatArray, FloatArray]:
    """(units, values) counts and the sorted numeric domain from each unit's list of numeric values."""
    flat = np.array([float(v) for values in units for v in values], dtype=np.float64)
    domain = np.unique(flat)
    unit_of = np.repeat(np.arange(len(units)), [len(values) for values in units])
    cells = unit_of * len(domain) + np.searchsorted(domain, flat)
    counts = np.bincount(cells, minlength=len(units) * len(domain)).astype(np.float64)
    return counts.reshape(len(units), len(domain)), domain


def cohen_kappa(
    a: Sequence[Any], b: Sequence[Any], weights: Literal["linear", "quadratic"] | None = None
) -> float:
    """Cohen's kappa between two annotators' labels of the same units (optionally weighted)."""
    if len(a) != len(b):
        raise ValueError("both annotators must label the same units")
    labels = sorted(set(a) | set(b))
    index = {label: i for i, label in enumerate(labels)}
    size = len(labels)
    ia = np.fromiter((index[x] for x in a), dtype=np.int64, count=len(a))
    ib = np.fromiter((index[x] for x in b), dtype=np.int64, count=len(b))
    observed = np.bincount(ia * size + ib, minlength=size * size).reshape(size, size).astype(np.float64)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    if weights is None:
        w = 1.0 - np.eye(size)
    else:
        diff = np.abs(np.subtract.outer(np.arange(size), np.arange(size))).astype(np.float64)
        w = diff if weights == "linear" else diff**2
    denominator = float((w * expected).sum())
    if denominator == 0:
        return float("nan")
    return 1.0 - float((w * observed).sum()) / denominator


def fleiss_kappa(counts: npt.ArrayLike) -> float:
    """Fleiss' kappa from a (units, categories) matrix of how many raters chose each category.

    Every unit must have the same number of raters (at least two).
    """
    table = np.asarray(counts, dtype=np.float64)
    raters = table.sum(axis=1)
    if len(table) == 0 or raters.min() < 2 or not np.all(raters == raters[0]):
        raise ValueError("every unit needs the same number of raters, at least two")
    n = raters[0]
    per_unit = ((table**2).sum(axis=1) - n) / (n * (n - 1))
    shares = table.sum(axis=0) / table.sum()
    chance = float((shares**2).sum())
    if chance == 1:
        return float("nan")
    return (float(per_unit.mean()) - chance) / (1 - chance)


def percent_agreement(ratings: npt.ArrayLike) -> float:
    """Share of agreeing pairs of ratings among all pairs within units, over a (coders, units) matrix."""
    return agreement_from_counts(_value_counts(ratings)[0])


def agreement_from_counts(counts: FloatArray) -> float:
    """Percent agreement from a (units, values) count matrix (NaN without any pair)."""
    pairable = counts.sum(axis=1)
    pairs = (pairable * (pairable - 1)).sum()
    if pairs == 0:
        return float("nan")
    return float((counts * (counts - 1)).sum() / pairs)


def f1(true_positives: int, predicted: int, expected: int) -> float:
    """F1 from counts; two empty sets agree perfectly."""
    if predicted == 0 and expected == 0:
        return 1.0
    return 2.0 * true_positives / (predicted + expected)


def _span_key(span: dict[str, Any]) -> tuple[int, int, str]:
    return int(span["start"]), int(span["end"]), str(span["label"])


def span_f1(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]]) -> float:
    """Exact-match F1 between two sets of spans {start, end, label}."""
    ka, kb = {_span_key(s) for s in a}, {_span_key(s) for s in b}
    return f1(len(ka & kb), len(ka), len(kb))


def span_f1_per_label(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Exact-match span F1 for each label that either side uses."""
    ka, kb = {_span_key(s) for s in a}, {_span_key(s) for s in b}
    result = {}
    for label in sorted({k[2] for k in ka | kb}):
        la = {k for k in ka if k[2] == label}
        lb = {k for k in kb if k[2] == label}
        result[label] = f1(len(la & lb), len(la), len(lb))
    return result


def _corners(boxes: Sequence[dict[str, Any]]) -> FloatArray:
    if not boxes:
        return np.zeros((0, 4))
    xywh = np.array([[b["x"], b["y"], b["width"], b["height"]] for b in boxes], dtype=np.float64)
    return np.column_stack([xywh[:, 0], xywh[:, 1], xywh[:, 0] + xywh[:, 2], xywh[:, 1] + xywh[:, 3]])


def iou_matrix(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]]) -> FloatArray:
    """Intersection over union of every box of `a` with every box of `b` (labels ignored)."""
    ca, cb = _corners(a), _corners(b)
    width = np.clip(np.minimum(ca[:, None, 2], cb[None, :, 2]) - np.maximum(ca[:, None, 0], cb[None, :, 0]), 0, None)
    height = np.clip(np.minimum(ca[:, None, 3], cb[None, :, 3]) - np.maximum(ca[:, None, 1], cb[None, :, 1]), 0, None)
    inter = width * height
    area_a = (ca[:, 2] - ca[:, 0]) * (ca[:, 3] - ca[:, 1])
    area_b = (cb[:, 2] - cb[:, 0]) * (cb[:, 3] - cb[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.asarray(np.divide(inter, union, out=np.zeros_like(inter), where=union > 0), dtype=np.float64)


def box_iou(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Intersection over union of two boxes {x, y, width, height}."""
    return float(iou_matrix([a], [b])[0, 0])


def match_boxes(
    a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], threshold: float = 0.5
) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching of same-label boxes, highest IoU first, keeping IoU >= threshold."""
    iou = iou_matrix(a, b)
    same = np.array([[x["label"] == y["label"] for y in b] for x in a], dtype=bool).reshape(iou.shape)
    iou = np.where(same, iou, 0.0)
    order = np.argsort(-iou, axis=None, kind="stable")
    used_a: set[int] = set()
    used_b: set[int] = set()
    matches = []
    for flat in order:
        i, j = divmod(int(flat), iou.shape[1])
        if iou[i, j] < threshold:
            break
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            matches.append((i, j, float(iou[i, j])))
    return matches


def box_f1(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], threshold: float = 0.5) -> float:
    """F1 of IoU-matched boxes (same label, IoU >= threshold) between two annotations."""
    return f1(len(match_boxes(a, b, threshold)), len(a), len(b))


def mean_matched_iou(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], threshold: float = 0.5) -> float:
    """Mean IoU over matched boxes, counting each unmatched box as 0 (1.0 when both are empty)."""
    matches = match_boxes(a, b, threshold)
    slots = len(a) + len(b) - len(matches)
    return 1.0 if slots == 0 else sum(m[2] for m in matches) / slots
