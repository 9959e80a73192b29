"""The decision rule: which ranked suggestions a model actually assigns.

A rule keeps at most ``limit`` suggestions whose score is at least
``threshold``; with ``min_one`` the best suggestion is kept even below the
threshold (every document gets a subject).  :func:`tune_rule` chooses the
rule that maximises document-averaged F1 on held-out predictions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class DecisionRule:
    limit: int = 10
    threshold: float = 0.0
    min_one: bool = True

    def select(self, ranked_scores: np.ndarray) -> int:
        """How many of the (descending) scores to keep."""
        keep = int(np.sum(ranked_scores[: self.limit] >= self.threshold))
        if keep == 0 and self.min_one and len(ranked_scores):
            return 1
        return keep

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "DecisionRule":
        return cls(limit=int(data["limit"]), threshold=float(data["threshold"]),
                   min_one=bool(data.get("min_one", True)))


def tune_rule(scores: np.ndarray, truth: sp.csr_matrix, n_gold: np.ndarray | None = None,
              max_limit: int = 10, thresholds: np.ndarray | None = None) -> tuple[DecisionRule, float]:
    """Grid-search limit x threshold x min_one for the best mean per-document F1.

    ``scores`` is documents x subjects; ``truth`` the 0/1 matrix of gold
    subjects in the same columns.  ``n_gold`` is each document's number of
    gold subjects, counting those outside the subject space (defaults to the
    row sums of ``truth``).  Documents without gold subjects are ignored.
    """
    truth = sp.csr_matrix(truth)
    n_gold = np.asarray(truth.sum(axis=1)).ravel() if n_gold is None else np.asarray(n_gold, dtype=float)
    keep_docs = n_gold > 0
    scores, n_gold = scores[keep_docs], n_gold[keep_docs]
    truth = truth[keep_docs]
    if thresholds is None:
        thresholds = np.round(np.arange(0.0, 1.0001, 0.01), 4)
    max_limit = min(max_limit, scores.shape[1])
    order = np.argsort(-scores, axis=1, kind="stable")[:, :max_limit]
    top = np.take_along_axis(scores, order, axis=1)
    hits = np.take_along_axis(truth.toarray(), order, axis=1) > 0
    cum_hits = np.cumsum(hits, axis=1)

    best = (DecisionRule(1, 0.0, True), -1.0)
    for limit in range(1, max_limit + 1):
        for threshold in thresholds:
            kept = np.minimum((top[:, :limit] >= threshold).sum(axis=1), limit)
            for min_one in (True, False):
                k = np.maximum(kept, 1) if min_one else kept
                h = np.where(k > 0, cum_hits[np.arange(len(k)), np.maximum(k - 1, 0)], 0)
                f1 = np.where(h > 0, 2 * h / (k + n_gold), 0.0).mean() if len(k) else 0.0
                if f1 > best[1] + 1e-12:
                    best = (DecisionRule(limit, float(threshold), min_one), float(f1))
    return best
