"""Vendor scorecards: the scorecards of a vendor's annotators pooled into one, week by week too.

Pure: given the annotators' scorecards (from the report) and who works for which vendor. Counts add up; each
mean is pooled with its own count as weight (gold accuracy over gold items, agreement over consensus items,
pace over time spent, rejections over reviewed annotations), so a vendor's figure is the one its annotators' work
would give as a whole. The one exception is the median time per item, which cannot be pooled from medians:
a vendor's is the median of its annotators' medians, each counted once per item it was timed on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any


def _weighted(pairs: Iterable[tuple[float | None, int]]) -> float | None:
    kept = [(value, weight) for value, weight in pairs if value is not None and weight > 0]
    total = sum(weight for _, weight in kept)
    return round(sum(value * weight for value, weight in kept) / total, 6) if total else None


def _weighted_median(pairs: Iterable[tuple[float | None, int]]) -> float | None:
    ordered = sorted((value, weight) for value, weight in pairs if value is not None and weight > 0)
    total = sum(weight for _, weight in ordered)
    if not total:
        return None
    seen = 0
    for value, weight in ordered:
        seen += weight
        if 2 * seen >= total:
            return value
    return ordered[-1][0]


def _trend(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    weeks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for card in cards:
        for point in card.get("trend", []):
            weeks[point["week"]].append(point)
    return [{
        "week": week,
        "annotations": sum(p["annotations"] for p in points),
        "gold_items": sum(p.get("gold_items", 0) for p in points),
        "gold_accuracy": _weighted((p["gold_accuracy"], p.get("gold_items", 0)) for p in points),
        "consensus_items": sum(p.get("consensus_items", 0) for p in points),
        "consensus_agreement": _weighted((p["consensus_agreement"], p.get("consensus_items", 0)) for p in points),
    } for week, points in sorted(weeks.items())]


def vendor_scorecard(vendor: str | None, cards: list[dict[str, Any]]) -> dict[str, Any]:
    """One vendor's scorecard from its annotators' (None: the organization's own people)."""
    seconds = sum(c.get("timed_seconds", 0.0) for c in cards)
    timed = sum(c.get("timed_items", 0) for c in cards)
    reviewed = sum(c["reviewed"] for c in cards)
    rejected = sum(c.get("rejected", 0) for c in cards)
    return {
        "vendor": vendor,
        "annotators": len(cards),
        "annotations": sum(c["annotations"] for c in cards),
        "gold_items": sum(c["gold_items"] for c in cards),
        "gold_accuracy": _weighted((c["gold_accuracy"], c["gold_items"]) for c in cards),
        "consensus_items": sum(c["consensus_items"] for c in cards),
        "consensus_agreement": _weighted((c["consensus_agreement"], c["consensus_items"]) for c in cards),
        "timed_items": timed,
        "timed_seconds": round(seconds, 3),
        "items_per_hour": round(timed * 3600 / seconds, 3) if seconds else None,
        "median_seconds": _weighted_median((c["median_seconds"], c.get("timed_items", 0)) for c in cards),
        "reviewed": reviewed,
        "rejected": rejected,
        "rejection_rate": round(rejected / reviewed, 6) if reviewed else None,
        "trend": _trend(cards),
    }


def vendor_scorecards(cards: Iterable[dict[str, Any]], vendor_of: Mapping[str, str]) -> list[dict[str, Any]]:
    """Annotator scorecards grouped by vendor (`vendor_of`: user id -> vendor name), one scorecard per vendor
    in name order; annotators of no vendor make the last one, with vendor None."""
    groups: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for card in cards:
        groups[vendor_of.get(card["user_id"])].append(card)
    names = sorted(name for name in groups if name is not None)
    ordered: list[str | None] = [*names, None] if None in groups else list(names)
    return [vendor_scorecard(name, groups[name]) for name in ordered]
