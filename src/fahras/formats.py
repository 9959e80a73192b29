"""Suggestions written out: the one place that says how a suggestion looks as JSON or an Annif line.

Users: :meth:`fahras.Suggestion.to_dict` (``fahras suggest --json``), the
batch formatter (:class:`fahras.batch.SuggestionFormatter`, ``fahras index``)
and the REST service (Annif's JSON shape, :func:`annif_result`).  Scores are
rounded to 6 decimals everywhere.

Imports nothing from Fahras: suggestions are read by their attributes
(``uri``, ``label``, ``score``, and where asked ``labels``, ``evidence``,
``notation``/``identifier``).
"""

from __future__ import annotations

import json
from typing import Iterable, Mapping, Sequence

#: Decimals of a score in every output.
SCORE_DECIMALS = 6


def score_value(score: float) -> float:
    """A score as written in JSON."""
    return round(float(score), SCORE_DECIMALS)


def result_dict(uri: str, label: str, score: float, local: bool | None = None) -> dict:
    """``{"uri", "label", "score", "local"}``: one suggestion in Fahras's JSON (``local``: the subject is
    one of the library's own headings, not the thesaurus's; left out when None)."""
    data = {"uri": uri, "label": label, "score": score_value(score)}
    if local is not None:
        data["local"] = bool(local)
    return data


def suggestion_dict(suggestion, all_labels: bool = False) -> dict:
    """A :class:`~fahras.Suggestion` in Fahras's JSON: :func:`result_dict`, plus its labels in
    every language (``all_labels``) and its evidence when it has some.  (``fahras suggest --json`` and
    ``fahras index --output-format json`` add ``local``.)"""
    data = result_dict(suggestion.uri, suggestion.label, suggestion.score)
    if all_labels:
        data["labels"] = dict(suggestion.labels)
    if suggestion.evidence:
        data["evidence"] = [e.to_dict() for e in suggestion.evidence]
    return data


def annif_result(uri: str, label: str, score: float, notation: str | None = None) -> dict:
    """``{"uri", "label", "notation", "score"}``: one suggestion as Annif's REST API returns it."""
    return {"uri": uri, "label": label, "notation": notation or None, "score": score_value(score)}


def annif_results(suggestions: Iterable, notations: Mapping[str, str] | None = None) -> list[dict]:
    """Suggestions in Annif's JSON shape; ``notations`` maps a URI to its notation (default: none)."""
    notations = notations or {}
    return [annif_result(s.uri, s.label, s.score, notations.get(s.uri)) for s in suggestions]


def annif_line_start(uri: str, label: str) -> str:
    """What an Annif suggestion line holds before its score: ``<uri>TAB label TAB``."""
    return f"<{uri}>\t{label}\t"


def annif_lines(starts: Iterable[str], scores: Iterable[float]) -> str:
    """Annif's text format: one ``<uri>TAB label TAB score`` line per suggestion (``starts`` from
    :func:`annif_line_start`)."""
    return "".join([f"{start}{score:.{SCORE_DECIMALS}f}\n" for start, score in zip(starts, scores)])


def results_json(results: Sequence[dict]) -> str:
    """A suggestion file's JSON: ``{"results": [...]}`` and a newline."""
    return json.dumps({"results": list(results)}, ensure_ascii=False) + "\n"
