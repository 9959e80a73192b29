"""The decision rule: which ranked suggestions a model actually assigns.

Two kinds of rule, both tuned for the best document-averaged F1 on
held-out predictions:

* a **threshold rule** keeps at most ``limit`` suggestions whose score is at
  least ``threshold``; with ``min_one`` the best suggestion is kept even
  below the threshold (every document gets a subject);
* an **expected-F1 rule** reads the scores as probabilities and keeps the
  number of suggestions with the best expected F1.  Keeping the top ``k``
  of a document whose subjects are right with probabilities ``p1 >= p2 >=
  ...`` expects ``p1 + ... + pk`` right ones, and the document is expected
  to have ``n = gold_scale * (p1 + p2 + ... over all subjects) +
  gold_offset`` subjects, so its F1 is about ``2 (p1 + ... + pk) / (k + n)``.
  ``gold_scale`` and ``gold_offset`` correct the estimate of ``n`` (the
  probabilities miss the subjects no backend proposes) and are tuned on
  held-out predictions; ``limit``, ``threshold`` and ``min_one`` still
  bound the choice.

The expected-F1 rule adapts the number kept to each document: one
confident subject, or several that are all likely.  On the Security
Council resolutions (``benchmarks/decision_rules.py``, 14 runs) it tuned to
a better F1 than the best threshold rule on the ensemble's held-out scores
in 13 runs, and gave the better test F1 in 10 (see docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

#: The kinds of rule :func:`tune_rule` can tune.
RULE_KINDS = ("expected-f1", "threshold")

#: Grids searched for an expected-F1 rule's correction of the expected number of subjects.
GOLD_SCALES = np.round(np.arange(0.0, 2.0001, 0.1), 4)
GOLD_OFFSETS = np.round(np.arange(-0.75, 3.0001, 0.25), 4)


@dataclass(frozen=True)
class DecisionRule:
    limit: int = 10
    threshold: float = 0.0
    min_one: bool = True
    gold_scale: float | None = None  # set: an expected-F1 rule
    gold_offset: float = 0.0

    @property
    def kind(self) -> str:
        return "threshold" if self.gold_scale is None else "expected-f1"

    def select(self, ranked_scores: np.ndarray, total: float | None = None) -> int:
        """How many of the (descending) scores to keep.

        ``total`` is the sum of all the document's scores (what an
        expected-F1 rule estimates the number of subjects from); by default
        the sum of ``ranked_scores``.
        """
        top = np.asarray(ranked_scores[: self.limit], dtype=np.float64)
        keep = int(np.sum(top >= self.threshold))
        if keep and self.gold_scale is not None:
            if total is None:
                total = float(np.sum(ranked_scores))
            n = _expected_gold(self.gold_scale, self.gold_offset, total)
            keep = int(np.argmax(2.0 * np.cumsum(top[:keep]) / (np.arange(1, keep + 1) + n))) + 1
        if keep == 0 and self.min_one and len(top):
            return 1
        return keep

    def apply(self, row: np.ndarray) -> np.ndarray:
        """The columns of ``row`` (one document's scores) this rule keeps, best first.

        Rank and select in one place: the top :attr:`limit` columns (ties in
        column order), of which :meth:`select` keeps the first few, the
        expected-F1 estimate reading the sum of the whole row.
        """
        order = top_columns(row, self.limit)
        return order[: self.select(row[order], total=float(row.sum(dtype=np.float64)))]

    def describe(self) -> str:
        """The rule in a few words, for people."""
        if self.gold_scale is None:
            return f"at most {self.limit}, score >= {self.threshold:.2f}"
        floor = f", score >= {self.threshold:.2f}" if self.threshold > 0 else ""
        expected = (f"{self.gold_offset:.2f}" if self.gold_scale == 0
                    else f"{self.gold_scale:.1f} x the sum of the scores {self.gold_offset:+.2f}")
        return f"best expected F1, at most {self.limit}{floor} (expected subjects per document: {expected})"

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.gold_scale is None:  # a threshold rule is written as it always was
            del data["gold_scale"], data["gold_offset"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "DecisionRule":
        scale = data.get("gold_scale")
        return cls(limit=int(data["limit"]), threshold=float(data["threshold"]),
                   min_one=bool(data.get("min_one", True)),
                   gold_scale=None if scale is None else float(scale),
                   gold_offset=float(data.get("gold_offset", 0.0)))


def top_columns(row: np.ndarray, limit: int) -> np.ndarray:
    """Columns of the ``limit`` best scores of ``row``, best first, ties in column order.

    The same as ``np.argsort(-row, kind="stable")[:limit]``, without sorting
    the whole row: the ``limit`` best are found by partition, then sorted.
    """
    if limit >= len(row):
        return np.argsort(-row, kind="stable")
    kth = np.partition(row, len(row) - limit)[len(row) - limit]  # the limit-th best score
    above = np.flatnonzero(row > kth)
    tied = np.flatnonzero(row == kth)[: limit - len(above)]
    chosen = np.concatenate([above, tied])
    return chosen[np.lexsort((chosen, -row[chosen]))]


def _expected_gold(scale, offset, total):
    """The expected number of subjects (never below 0), from the sum of the scores."""
    return np.maximum(scale * total + offset, 0.0)


#: Rows of sparse held-out scores made dense at once to sum them (:meth:`_HeldOut._sparse`).
_SUM_ROWS = 256


class _HeldOut:
    """Held-out predictions, ranked: what every candidate rule is scored on."""

    def __init__(self, scores: np.ndarray | sp.spmatrix, truth: sp.csr_matrix, n_gold: np.ndarray | None,
                 max_limit: int):
        truth = sp.csr_matrix(truth)
        n_gold = np.asarray(truth.sum(axis=1)).ravel() if n_gold is None else np.asarray(n_gold, dtype=float)
        keep_docs = n_gold > 0  # documents without gold subjects are ignored
        scores, self.n_gold, truth = scores[keep_docs], n_gold[keep_docs], truth[keep_docs]
        self.max_limit = min(max_limit, scores.shape[1])
        if sp.issparse(scores):
            from fahras.models.sparse_rank import as_csr, non_negative

            scores = as_csr(scores)
            if non_negative(scores):
                self._sparse(scores, truth)
                return
            scores = scores.toarray()  # (the sparse ranking needs non-negative scores)
        order = np.argsort(-scores, axis=1, kind="stable")[:, : self.max_limit]
        self.top = np.take_along_axis(scores, order, axis=1).astype(np.float64)
        self.total = scores.sum(axis=1, dtype=np.float64)
        hits = np.take_along_axis(truth.toarray(), order, axis=1) > 0
        self.cum_hits = np.cumsum(hits, axis=1)

    def _sparse(self, scores: sp.csr_matrix, truth: sp.csr_matrix) -> None:
        """The same as from the dense rows, from non-negative CSR scores (#19: a large corpus's held-out sample,
        documents x tens of thousands of subjects): the top ``max_limit`` by a stable ranking of the stored
        entries (zero columns after them, in column order), each row's total summed from its dense row in blocks
        of rows, as the dense path sums it."""
        from fahras.models.sparse_rank import top_k

        order, top = top_k(scores, self.max_limit)
        self.top = top.astype(np.float64)
        self.total = np.concatenate([scores[i:i + _SUM_ROWS].toarray().sum(axis=1, dtype=np.float64)
                                     for i in range(0, scores.shape[0], _SUM_ROWS)] or [np.zeros(0)])
        rows = np.repeat(np.arange(order.shape[0]), order.shape[1])
        hits = (np.asarray(truth[rows, order.ravel()]).ravel() > 0).reshape(order.shape)
        self.cum_hits = np.cumsum(hits, axis=1)

    def f1(self, kept: np.ndarray) -> float:
        """Mean F1 when each document keeps its top ``kept`` (0 or more)."""
        if not len(kept):
            return 0.0
        h = np.where(kept > 0, self.cum_hits[np.arange(len(kept)), np.maximum(kept - 1, 0)], 0)
        return float(np.where(h > 0, 2 * h / (kept + self.n_gold), 0.0).mean())


def tune_rule(scores: np.ndarray, truth: sp.csr_matrix, n_gold: np.ndarray | None = None,
              max_limit: int = 10, thresholds: np.ndarray | None = None,
              kind: str = "threshold") -> tuple[DecisionRule, float]:
    """The rule of ``kind`` (see :data:`RULE_KINDS`) with the best mean per-document F1, and that F1.

    ``scores`` is documents x subjects (an array, or CSR: the same rule from its stored entries, without a
    documents x subjects array); ``truth`` the 0/1 matrix of gold
    subjects in the same columns.  ``n_gold`` is each document's number of
    gold subjects, counting those outside the subject space (defaults to the
    row sums of ``truth``).  Documents without gold subjects are ignored.
    A threshold rule is searched over limit x threshold x ``min_one``; an
    expected-F1 rule over :data:`GOLD_SCALES` x :data:`GOLD_OFFSETS`, with
    limit ``max_limit`` and no threshold.
    """
    if kind not in RULE_KINDS:
        raise ValueError(f"unknown decision rule kind {kind!r}; choose one of {', '.join(RULE_KINDS)}")
    held = _HeldOut(scores, truth, n_gold, max_limit)
    if kind == "expected-f1":
        return _tune_expected_f1(held)
    if thresholds is None:
        thresholds = np.round(np.arange(0.0, 1.0001, 0.01), 4)
    best = (DecisionRule(1, 0.0, True), -1.0)
    for limit in range(1, held.max_limit + 1):
        for threshold in thresholds:
            kept = np.minimum((held.top[:, :limit] >= threshold).sum(axis=1), limit)
            for min_one in (True, False):
                f1 = held.f1(np.maximum(kept, 1) if min_one else kept)
                if f1 > best[1] + 1e-12:
                    best = (DecisionRule(limit, float(threshold), min_one), f1)
    return best


def _tune_expected_f1(held: _HeldOut) -> tuple[DecisionRule, float]:
    limit = max(held.max_limit, 1)
    ks = np.arange(1, held.top.shape[1] + 1)
    cum = np.cumsum(held.top, axis=1)
    best = (DecisionRule(limit, 0.0, True, 1.0, 0.0), -1.0)
    for scale in GOLD_SCALES:
        for offset in GOLD_OFFSETS:
            n = _expected_gold(scale, offset, held.total)[:, None]
            kept = np.argmax(2.0 * cum / (ks + n), axis=1) + 1 if len(ks) else np.zeros(len(n), dtype=int)
            f1 = held.f1(kept)
            if f1 > best[1] + 1e-12:
                best = (DecisionRule(limit, 0.0, True, float(scale), float(offset)), f1)
    return best
