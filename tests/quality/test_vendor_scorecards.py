"""Vendor scorecards pool their annotators' scorecards; every figure below is worked out by hand."""

from __future__ import annotations

import datetime as dt

from labelvault.quality.report import AnnotationRow, ScoreRow, scorecard
from labelvault.quality.vendors import vendor_scorecards

W10 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)  # a Monday: ISO week 2026-W10
W11 = dt.datetime(2026, 3, 9, 9, tzinfo=dt.UTC)  # 2026-W11


def _row(author: str, when: dt.datetime, seconds: int, review: str | None = None) -> AnnotationRow:
    return AnnotationRow(f"item-{author}-{when.day}-{seconds}", author, {}, seconds * 1000, when, review)


def _cards():
    rows = {
        "a": [_row("a", W10, 10, "accepted"), _row("a", W10, 20, "rejected"), _row("a", W11, 30)],
        "b": [_row("b", W10, 60, "accepted")],
        "c": [_row("c", W11, 40, "rejected")],
        "d": [_row("d", W10, 0)],
    }
    scores = {
        "a": [ScoreRow("a", "gold", 1.0, W10), ScoreRow("a", "gold", 0.5, W10), ScoreRow("a", "consensus", 1.0, W11)],
        "b": [ScoreRow("b", "gold", 0.0, W10), ScoreRow("b", "consensus", 0.5, W10)],
        "c": [ScoreRow("c", "gold", 1.0, W11)],
        "d": [],
    }
    return [scorecard(author, rows[author], scores[author]) for author in "abcd"]


def test_annotator_scorecards_trend_by_week():
    a = _cards()[0]
    assert a["trend"] == [
        {"week": "2026-W10", "annotations": 2, "gold_items": 2, "gold_accuracy": 0.75, "consensus_items": 0,
         "consensus_agreement": None},
        {"week": "2026-W11", "annotations": 1, "gold_items": 0, "gold_accuracy": None, "consensus_items": 1,
         "consensus_agreement": 1.0},
    ]
    assert (a["timed_items"], a["timed_seconds"], a["items_per_hour"], a["median_seconds"]) == (3, 60.0, 180.0, 20.0)


def test_vendor_scorecards_pool_their_annotators():
    acme, bolt, in_house = vendor_scorecards(_cards(), {"a": "Acme", "b": "Acme", "c": "Bolt"})
    assert acme == {
        "vendor": "Acme", "annotators": 2, "annotations": 4,
        # (1.0 + 0.5 + 0.0) / 3 gold items, not the mean of a's 0.75 and b's 0.0
        "gold_items": 3, "gold_accuracy": 0.5,
        "consensus_items": 2, "consensus_agreement": 0.75,  # (1.0 + 0.5) / 2
        # 4 items in 10 + 20 + 30 + 60 = 120 seconds
        "timed_items": 4, "timed_seconds": 120.0, "items_per_hour": 120.0,
        # a's median (20 s) stands for 3 items, b's (60 s) for 1
        "median_seconds": 20.0,
        "reviewed": 3, "rejected": 1, "rejection_rate": 0.333333,
        "trend": [
            {"week": "2026-W10", "annotations": 3, "gold_items": 3, "gold_accuracy": 0.5, "consensus_items": 1,
             "consensus_agreement": 0.5},
            {"week": "2026-W11", "annotations": 1, "gold_items": 0, "gold_accuracy": None, "consensus_items": 1,
             "consensus_agreement": 1.0},
        ],
    }
    assert (bolt["vendor"], bolt["annotators"], bolt["gold_accuracy"], bolt["items_per_hour"],
            bolt["median_seconds"], bolt["rejection_rate"]) == ("Bolt", 1, 1.0, 90.0, 40.0, 1.0)
    # The organization's own people, last; nobody timed, nobody reviewed.
    assert (in_house["vendor"], in_house["annotations"], in_house["items_per_hour"], in_house["median_seconds"],
            in_house["rejection_rate"], in_house["gold_accuracy"]) == (None, 1, None, None, None, None)


def test_no_cards_no_vendors():
    assert vendor_scorecards([], {"a": "Acme"}) == []
