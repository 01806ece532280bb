"""Consensus of spans and boxes from several annotators: what a majority marked, with its support."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labelvault.quality.agreement import iou_matrix


def consensus_spans(annotations: Sequence[Sequence[dict[str, Any]]], min_share: float = 0.5) -> list[dict[str, Any]]:
    """Spans covering the characters that more than `min_share` of the annotators gave the same label.

    Each span carries a `confidence`: the mean share of annotators that marked its characters.
    """
    voters = len(annotations)
    if voters == 0:
        return []
    length = max((int(s["end"]) for spans in annotations for s in spans), default=0)
    labels = sorted({str(s["label"]) for spans in annotations for s in spans})
    result = []
    for label in labels:
        coverage = np.zeros(length + 1)
        for spans in annotations:
            marked = np.zeros(length + 1, dtype=bool)  # one vote per annotator, even for overlapping spans
            for s in spans:
                if s["label"] == label:
                    marked[int(s["start"]):int(s["end"])] = True
            coverage += marked
        share = coverage / voters
        kept = np.concatenate([[False], share > min_share, [False]]).astype(np.int8)
        edges = np.flatnonzero(np.diff(kept))
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            result.append({"start": int(start), "end": int(end), "label": label,
                           "confidence": float(share[start:end].mean())})
    return sorted(result, key=lambda s: (s["start"], s["end"], s["label"]))


def consensus_boxes(
    annotations: Sequence[Sequence[dict[str, Any]]], *, iou_threshold: float = 0.5, min_share: float = 0.5
) -> list[dict[str, Any]]:
    """Boxes that more than `min_share` of the annotators drew alike (same label, IoU >= threshold).

    Boxes are grouped greedily (at most one box per annotator in a group, joined to the group whose
    first box overlaps it most); a kept group becomes the median of its boxes, with `confidence` the
    share of annotators in it.
    """
    voters = len(annotations)
    groups: list[list[dict[str, Any]]] = []
    members: list[set[int]] = []
    for who, boxes in enumerate(annotations):
        for box in boxes:
            heads = [g[0] for g in groups]
            overlap = iou_matrix([box], heads)[0] if heads else np.zeros(0)
            best, best_iou = -1, iou_threshold
            for index, (head, iou) in enumerate(zip(heads, overlap, strict=True)):
                if head["label"] == box["label"] and who not in members[index] and iou >= best_iou:
                    best, best_iou = index, float(iou)
            if best < 0:
                groups.append([box])
                members.append({who})
            else:
                groups[best].append(box)
                members[best].add(who)
    result = []
    for group, voted in zip(groups, members, strict=True):
        if voters and len(voted) / voters > min_share:
            corners = np.array([[b["x"], b["y"], b["x"] + b["width"], b["y"] + b["height"]] for b in group])
            x0, y0, x1, y1 = np.median(corners, axis=0)
            result.append({"x": float(x0), "y": float(y0), "width": float(x1 - x0), "height": float(y1 - y0),
                           "label": group[0]["label"], "confidence": len(voted) / voters})
    return result
