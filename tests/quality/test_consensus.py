from __future__ import annotations

import pytest

from labelvault.quality.consensus import consensus_boxes, consensus_spans


def test_consensus_spans_keep_characters_a_majority_marked():
    a = [{"start": 0, "end": 5, "label": "PER"}, {"start": 10, "end": 12, "label": "ORG"}]
    b = [{"start": 1, "end": 5, "label": "PER"}]
    c = [{"start": 0, "end": 4, "label": "PER"}, {"start": 10, "end": 12, "label": "LOC"}]
    spans = consensus_spans([a, b, c])
    assert [(s["start"], s["end"], s["label"]) for s in spans] == [(0, 5, "PER")]
    assert spans[0]["confidence"] == pytest.approx((2 + 3 + 3 + 3 + 2) / 3 / 5)
    assert consensus_spans([]) == []


def test_consensus_boxes_group_alike_boxes_and_drop_minority_ones():
    box = {"x": 0.1, "y": 0.1, "width": 0.4, "height": 0.4, "label": "car"}
    near = {**box, "x": 0.12}
    nearer = {**box, "x": 0.11}
    stray = {"x": 0.7, "y": 0.7, "width": 0.2, "height": 0.2, "label": "car"}
    boxes = consensus_boxes([[box, stray], [near], [nearer]])
    assert len(boxes) == 1
    assert boxes[0]["x"] == pytest.approx(0.11) and boxes[0]["width"] == pytest.approx(0.4)
    assert boxes[0]["confidence"] == 1.0
    other_label = {**box, "label": "bus"}
    assert consensus_boxes([[box], [other_label]]) == []
