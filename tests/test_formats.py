"""fahras.formats: the one definition of how suggestions are written out."""

from __future__ import annotations

import json

from fahras import Suggestion
from fahras.formats import (annif_line_start, annif_lines, annif_results, result_dict, results_json,
                            suggestion_dict)
from fahras.models import Evidence


def _suggestion(**kw) -> Suggestion:
    return Suggestion("http://ex.org/1", "WATER", 0.12345678, "1", {"en": "WATER", "fr": "EAU"}, **kw)


def test_suggestion_to_dict_is_the_formats_dict():
    plain = _suggestion()
    assert plain.to_dict() == suggestion_dict(plain) == {"uri": "http://ex.org/1", "label": "WATER",
                                                         "score": 0.123457}
    explained = _suggestion(evidence=[Evidence("term", "river", 0.5, [(3, 8)])])
    data = explained.to_dict(all_labels=True)
    assert data["labels"] == {"en": "WATER", "fr": "EAU"}
    assert data["evidence"] == [{"kind": "term", "text": "river", "weight": 0.5, "spans": [[3, 8]]}]


def test_annif_json_shape_with_notations():
    results = annif_results([_suggestion()], notations={"http://ex.org/1": "1.2"})
    assert results == [{"uri": "http://ex.org/1", "label": "WATER", "notation": "1.2", "score": 0.123457}]
    assert annif_results([_suggestion()])[0]["notation"] is None


def test_annif_lines_and_result_files():
    start = annif_line_start("http://ex.org/1", "WATER")
    assert annif_lines([start], [0.5]) == "<http://ex.org/1>\tWATER\t0.500000\n"
    text = results_json([result_dict("u", "L", 1 / 3)])
    assert text.endswith("\n") and json.loads(text) == {"results": [{"uri": "u", "label": "L", "score": 0.333333}]}
