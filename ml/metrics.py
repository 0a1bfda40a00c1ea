"""Evaluation metrics computed exactly, in plain Python: ROC AUC by ranks (ties averaged)."""

from __future__ import annotations

from collections.abc import Sequence

from ml.exceptions import MLError


def auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Area under the ROC curve: the probability that a random positive outscores a random negative
    (ties count half). Raises MLError unless both classes are present."""
    if len(scores) != len(labels):
        raise MLError("scores and labels differ in length")
    positives = sum(1 for label in labels if label)
    negatives = len(labels) - positives
    if not positives or not negatives:
        raise MLError("AUC needs both positive and negative labels")
    order = sorted(range(len(scores)), key=scores.__getitem__)
    rank_sum = 0.0
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        mean_rank = (start + end) / 2 + 1
        rank_sum += mean_rank * sum(1 for i in order[start : end + 1] if labels[i])
        start = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
