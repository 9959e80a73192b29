"""Apply a decision rule (at most ``limit`` subjects scoring at least ``threshold``).

The rule for each Annif project is chosen by ``annif optimize`` on the
validation documents (see :meth:`harness.annif_runner.Annif.optimize`); it
is applied here, unchanged, to the project's rankings of the test documents,
exactly as Annif's own filter does (top ``limit`` suggestions, then keep
those whose score is ``>= threshold``).
"""

from __future__ import annotations

Ranking = list[tuple[str, float]]


def decide(ranking: Ranking, limit: int, threshold: float) -> set[str]:
    """The subjects a rule keeps from one ranking (best first)."""
    return {uri for uri, score in ranking[:limit] if score >= threshold}
