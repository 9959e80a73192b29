"""Quality metrics for ranked subject suggestions, document-averaged.

All functions take, per document, the ranked suggestions (best first) as a
sequence of subject URIs, and the gold subjects as a set of URIs.  They are
the textbook definitions, so numbers from Fahras and from other tools scored
here are comparable:

- ``precision@k``: correct among the top k, divided by k (even when fewer
  than k were suggested);
- ``recall@k``: correct among the top k, divided by the number of gold subjects;
- ``f1@k``: harmonic mean of the two, per document;
- ``ndcg@k``: binary-relevance nDCG with log2 discount, ideal = all gold first;
- ``lrap``: label ranking average precision over the full ranking; a gold
  subject missing from the ranking counts as ranked after every suggestion;
- ``f1`` / ``precision`` / ``recall``: of the decided sets (a decision rule's
  output), per document.

Documents without gold subjects are skipped (counted in ``skipped``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np


def precision_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    return sum(1 for s in ranked[:k] if s in gold) / k


def recall_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    return sum(1 for s in ranked[:k] if s in gold) / len(gold)


def f1_of_sets(predicted: set[str], gold: set[str]) -> float:
    hits = len(predicted & gold)
    if hits == 0:
        return 0.0
    return 2 * hits / (len(predicted) + len(gold))


def ndcg_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, s in enumerate(ranked[:k]) if s in gold)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(gold))))
    return dcg / ideal


def average_precision(ranked: Sequence[str], gold: set[str], n_candidates: int | None = None) -> float:
    """LRAP for one document.

    Gold subjects absent from ``ranked`` are placed at rank ``n_candidates``
    (default: after the last suggestion), the convention of scikit-learn's
    ``label_ranking_average_precision_score`` for tied lowest scores.
    """
    return _average_precision(TopRanking.of(ranked, gold), gold, n_candidates)


#: How many of a ranking's first entries the metrics read (precision@1/3/5, recall@5, nDCG@5/10).
TOP_KEPT = 10


@dataclass
class TopRanking:
    """What the metrics need of one document's ranking: its first :data:`TOP_KEPT` subjects, the 1-based
    position of each gold subject in the whole ranking (absent: not ranked), and the ranking's length.

    Keeping this instead of the whole ranking bounds the memory of an evaluation by the documents, not
    documents x subjects (10,000 rankings of 22,073 subjects took 1.8 GB); the metrics are the same to
    the last bit (:meth:`of` makes one from a whole ranking; ``tests/test_evaluate_compact.py``).
    """

    top: list[str]
    positions: dict[str, int]
    length: int

    @classmethod
    def of(cls, ranked: Sequence[str], gold: set[str]) -> "TopRanking":
        """The compact form of a whole ranking (a subject ranked twice counts at its last place, as before)."""
        ranked = list(ranked)
        return cls(ranked[:TOP_KEPT], {s: i + 1 for i, s in enumerate(ranked) if s in gold}, len(ranked))


def _average_precision(ranking: TopRanking, gold: set[str], n_candidates: int | None) -> float:
    positions = ranking.positions
    worst = max(n_candidates or 0, ranking.length + len(gold - positions.keys()))
    ranks = sorted(positions.get(s, worst) for s in gold)
    # For a gold subject at rank r, precision = (#gold ranked at or above r) / r.
    total = 0.0
    for r in ranks:
        total += sum(1 for q in ranks if q <= r) / r
    return total / len(gold)


def evaluate(ranked: Sequence[Sequence[str] | TopRanking], gold: Sequence[set[str]],
             decided: Sequence[set[str]] | None = None, n_candidates: int | None = None) -> dict:
    """Document-averaged metrics; see the module docstring.  A ranking may be given whole or as its
    :class:`TopRanking` (the same figures)."""
    if len(ranked) != len(gold) or (decided is not None and len(decided) != len(gold)):
        raise ValueError("ranked, gold and decided must have one entry per document")
    keys = ["precision@1", "precision@3", "precision@5", "recall@5", "f1@5", "ndcg@5", "ndcg@10", "lrap"]
    if decided is not None:
        keys += ["precision", "recall", "f1"]
    sums = dict.fromkeys(keys, 0.0)
    n = skipped = 0
    for i, (ranking, truth) in enumerate(zip(ranked, gold)):
        if not truth:
            skipped += 1
            continue
        n += 1
        compact = ranking if isinstance(ranking, TopRanking) else TopRanking.of(ranking, truth)
        ranking = compact.top
        for k in (1, 3, 5):
            sums[f"precision@{k}"] += precision_at(ranking, truth, k)
        sums["recall@5"] += recall_at(ranking, truth, 5)
        p5, r5 = precision_at(ranking, truth, 5), recall_at(ranking, truth, 5)
        sums["f1@5"] += 2 * p5 * r5 / (p5 + r5) if p5 + r5 else 0.0
        sums["ndcg@5"] += ndcg_at(ranking, truth, 5)
        sums["ndcg@10"] += ndcg_at(ranking, truth, 10)
        sums["lrap"] += _average_precision(compact, truth, n_candidates)
        if decided is not None:
            chosen = decided[i]
            hits = len(chosen & truth)
            sums["precision"] += hits / len(chosen) if chosen else 0.0
            sums["recall"] += hits / len(truth)
            sums["f1"] += f1_of_sets(chosen, truth)
    result: dict = {"documents": n, "skipped": skipped}
    result.update({k: (v / n if n else 0.0) for k, v in sums.items()})
    return result


def bootstrap_se(values: Sequence[float], resamples: int = 2000, seed: int = 0) -> float | None:
    """Bootstrap standard error of the mean of ``values`` (e.g. one test year's per-document nDCG@5, the
    documents resampled with replacement): how far the mean could move with another draw of documents
    of the same kind.  None for fewer than 2 values."""
    if len(values) < 2:
        return None
    data = np.asarray(values, dtype=np.float64)
    picks = np.random.default_rng(seed).integers(0, len(data), size=(resamples, len(data)))
    return round(float(data[picks].mean(axis=1).std(ddof=1)), 4)
