"""Choose a limit and score threshold for a ranked-suggestion tool, by F1.

This is the same search as ``annif optimize`` (keep at most ``limit``
suggestions whose score is at least ``threshold``), but scored with Fahras's
own :func:`fahras.evaluate.evaluate`, so the F1 being maximised is exactly the
document-averaged F1 reported in the results table.
"""

from __future__ import annotations

from dataclasses import dataclass

from fahras.evaluate import evaluate

LIMITS = tuple(range(1, 11))
THRESHOLDS = tuple(round(step * 0.05, 2) for step in range(21))

Ranking = list[tuple[str, float]]


@dataclass(frozen=True)
class Decision:
    limit: int
    threshold: float
    f1: float

    def to_dict(self) -> dict:
        return {"limit": self.limit, "threshold": self.threshold, "f1_where_tuned": round(self.f1, 4)}


def decide(ranking: Ranking, limit: int, threshold: float) -> set[str]:
    return {uri for uri, score in ranking[:limit] if score >= threshold}


def tune(rankings: list[Ranking], gold: list[set[str]]) -> Decision:
    """The (limit, threshold) with the best doc-averaged F1.

    Ties are broken as ``annif optimize`` breaks them: the last best pair in
    the order limit 1..10, threshold 0.00..1.00 wins (the larger limit, then
    the higher threshold).
    """
    uris = [[uri for uri, _ in ranking] for ranking in rankings]
    best: Decision | None = None
    for limit in LIMITS:
        for threshold in THRESHOLDS:
            decided = [decide(r, limit, threshold) for r in rankings]
            f1 = evaluate(uris, gold, decided)["f1"]
            if best is None or f1 >= best.f1:
                best = Decision(limit, threshold, f1)
    assert best is not None
    return best
