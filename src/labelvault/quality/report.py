"""The quality report of a project: agreement per question and per annotator pair, and scorecards.

Pure computation over rows read by the refresh job, so it is tested without a database.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelvault.projects import label_schema as ls
from labelvault.quality import agreement

# Pairs of annotators with fewer shared items than this get no kappa (too few to mean anything).
MIN_SHARED_ITEMS = 5


@dataclass(frozen=True)
class AnnotationRow:
    item_id: str
    author_id: str
    answers: dict[str, Any]
    time_spent_ms: int
    submitted_at: dt.datetime
    review_status: str | None


@dataclass(frozen=True)
class ScoreRow:
    author_id: str
    kind: str  # "gold" or "consensus"
    score: float
    submitted_at: dt.datetime


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


def _categorical(question: Any, value: Any) -> Any:
    """The value a question contributes to nominal agreement, or None."""
    if isinstance(question, ls.SingleChoice):
        return value if isinstance(value, str) else None
    if isinstance(question, ls.Pairwise):
        return value.get("choice") if isinstance(value, dict) else None
    if isinstance(question, ls.ChatEvaluation):
        return value.get("verdict") if isinstance(value, dict) else None
    return None


def _by_item(rows: Sequence[AnnotationRow], name: str) -> dict[str, list[tuple[str, Any]]]:
    units: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for row in rows:
        value = row.answers.get(name)
        if value not in (None, "", [], {}):
            units[row.item_id].append((row.author_id, value))
    return units


def _mean_pairwise(units: dict[str, list[tuple[str, Any]]], measure: Any) -> float | None:
    scores = [measure(a, b) for votes in units.values() for (_, a), (_, b) in itertools.combinations(votes, 2)]
    return round(sum(scores) / len(scores), 6) if scores else None


def question_agreement(question: Any, rows: Sequence[AnnotationRow]) -> dict[str, Any]:
    """Agreement on one question over the items that two or more annotators answered."""
    units = _by_item(rows, question.name)
    shared = {item: votes for item, votes in units.items() if len(votes) >= 2}
    result: dict[str, Any] = {"type": question.type, "items": len(shared)}
    if isinstance(question, ls.Spans):
        result["mean_pairwise_span_f1"] = _mean_pairwise(shared, agreement.span_f1)
        return result
    if isinstance(question, ls.Boxes):
        result["mean_pairwise_box_f1"] = _mean_pairwise(shared, agreement.box_f1)
        return result
    if isinstance(question, ls.Rating):
        numeric = [[float(v) for _, v in votes] for votes in shared.values()]
        if numeric:
            counts, domain = agreement.value_counts(numeric)
            result["krippendorff_alpha_ordinal"] = _finite(agreement.alpha_from_counts(counts, domain, "ordinal"))
            result["krippendorff_alpha_interval"] = _finite(agreement.alpha_from_counts(counts, domain, "interval"))
            result["percent_agreement"] = _finite(agreement.agreement_from_counts(counts))
        return result
    labels = {item: [_categorical(question, v) for _, v in votes] for item, votes in shared.items()}
    labels = {item: [v for v in values if v is not None] for item, values in labels.items()}
    labels = {item: values for item, values in labels.items() if len(values) >= 2}
    if not labels:
        return result
    domain_values = sorted({v for values in labels.values() for v in values})
    index = {v: i for i, v in enumerate(domain_values)}
    counts, domain = agreement.value_counts([[index[v] for v in values] for values in labels.values()])
    result["krippendorff_alpha_nominal"] = _finite(agreement.alpha_from_counts(counts, domain, "nominal"))
    result["percent_agreement"] = _finite(agreement.agreement_from_counts(counts))
    raters = counts.sum(axis=1)
    if len(counts) and np.all(raters == raters[0]):
        result["fleiss_kappa"] = _finite(agreement.fleiss_kappa(counts))
    return result


def pair_agreement(question: Any, rows: Sequence[AnnotationRow]) -> list[dict[str, Any]]:
    """Cohen's kappa for every pair of annotators sharing at least MIN_SHARED_ITEMS items of a question."""
    given: dict[str, dict[str, Any]] = defaultdict(dict)
    for item, votes in _by_item(rows, question.name).items():
        for author, value in votes:
            label = _categorical(question, value)
            if label is not None:
                given[author][item] = label
    pairs = []
    for a, b in itertools.combinations(sorted(given), 2):
        shared = sorted(given[a].keys() & given[b].keys())
        if len(shared) >= MIN_SHARED_ITEMS:
            kappa = agreement.cohen_kappa([given[a][i] for i in shared], [given[b][i] for i in shared])
            pairs.append({"question": question.name, "a": a, "b": b, "items": len(shared),
                          "cohen_kappa": _finite(kappa)})
    return pairs


def _week(moment: dt.datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 6) if values else None


def scorecard(author: str, rows: Sequence[AnnotationRow], scores: Sequence[ScoreRow]) -> dict[str, Any]:
    """One annotator's figures: gold accuracy, agreement with consensus, pace, rejections, weekly trend."""
    gold = [s for s in scores if s.kind == "gold"]
    consensus = [s for s in scores if s.kind == "consensus"]
    timed = [r.time_spent_ms for r in rows if r.time_spent_ms > 0]
    reviewed = [r for r in rows if r.review_status in ("accepted", "rejected", "fixed")]
    rejected = sum(1 for r in reviewed if r.review_status == "rejected")
    trend: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"gold": [], "consensus": [], "n": []})
    for r in rows:
        trend[_week(r.submitted_at)]["n"].append(1)
    for s in scores:
        trend[_week(s.submitted_at)][s.kind].append(s.score)
    # The counts beside each mean (timed items and seconds, rejections, weekly gold and consensus items) let
    # scorecards be pooled exactly into a vendor's (see vendors.py).
    return {
        "user_id": author,
        "annotations": len(rows),
        "gold_items": len(gold),
        "gold_accuracy": _mean(s.score for s in gold),
        "consensus_items": len(consensus),
        "consensus_agreement": _mean(s.score for s in consensus),
        "timed_items": len(timed),
        "timed_seconds": round(sum(timed) / 1000, 3),
        "items_per_hour": round(len(timed) / (sum(timed) / 3_600_000), 3) if timed else None,
        "median_seconds": round(statistics.median(timed) / 1000, 3) if timed else None,
        "reviewed": len(reviewed),
        "rejected": rejected,
        "rejection_rate": round(rejected / len(reviewed), 6) if reviewed else None,
        "trend": [{"week": week, "annotations": len(v["n"]), "gold_items": len(v["gold"]),
                   "gold_accuracy": _mean(v["gold"]), "consensus_items": len(v["consensus"]),
                   "consensus_agreement": _mean(v["consensus"])} for week, v in sorted(trend.items())],
    }


def build_report(schema: ls.LabelSchema, rows: Sequence[AnnotationRow], scores: Sequence[ScoreRow],
                 aggregates: dict[str, Any]) -> dict[str, Any]:
    """The whole report: counts, agreement per question and per pair, and one scorecard per annotator."""
    rows_by_author: dict[str, list[AnnotationRow]] = defaultdict(list)
    for row in rows:
        rows_by_author[row.author_id].append(row)
    scores_by_author: dict[str, list[ScoreRow]] = defaultdict(list)
    for score in scores:
        scores_by_author[score.author_id].append(score)
    questions = [q for q in schema.questions if not isinstance(q, ls.FreeText)]
    categorical = [q for q in questions if isinstance(q, ls.SingleChoice | ls.Pairwise | ls.ChatEvaluation)]
    pairs = [p for q in categorical for p in pair_agreement(q, rows)]
    return {
        "annotations": len(rows),
        "items": len({r.item_id for r in rows}),
        "annotators": len(rows_by_author),
        "agreement": {q.name: question_agreement(q, rows) for q in questions},
        "pairs": pairs,
        "aggregates": aggregates,
        "scorecards": [scorecard(a, rows_by_author[a], scores_by_author.get(a, [])) for a in sorted(rows_by_author)],
    }
