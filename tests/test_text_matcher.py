"""The one label matcher: labels of a concept, variant policies, contiguous, windowed and raw phrase search."""

from __future__ import annotations

import pytest

from fahras.text import get_analyzer
from fahras.text.matcher import (NO_TERM, LabelTerms, VariantPolicy, concept_labels, longest_labels, longest_matches,
                                 occurrences, raw_matches, token_span, window_matches)
from fahras.vocab.concept import Concept


def test_concept_labels_preferred_first_then_alternatives_each_once():
    c = Concept("u", "u", {"en": "SOMALIA", "fr": "SOMALIE"},
                alt_labels={"en": ("Somali Republic", "SOMALIA", ""), "fr": ("République somalienne",)})
    assert concept_labels(c, "en") == ["SOMALIA", "Somali Republic"]
    assert concept_labels(c, "ru") == []
    assert concept_labels(c) == ["SOMALIA", "SOMALIE", "Somali Republic", "République somalienne"]


def test_keys_policy_meets_light_stems_and_arabic_leading_variants():
    terms = LabelTerms(["consult", "مشاور", "mine"], VariantPolicy("keys", 2, 4))
    assert terms.variants("consulta") == {0}          # one letter more
    assert terms.variants("consul") == {0}            # one letter less
    assert terms.variants("cons") == set()            # shorter than the shared minimum beyond 2
    assert terms.variants("تشاور") == set()           # differs at the start: not without ``leading``
    arabic = LabelTerms(["مشاور"], VariantPolicy("keys", 2, 4, leading=True))
    assert arabic.variants("تشاور") == {0}
    positions, weight = terms.positions(["the", "consult", "consultations", "consulta", "mine"], 0.8)
    assert positions == {0: [1, 3], 2: [4]} and weight == {0: 1.0, 2: 1.0}
    assert LabelTerms(["consult"], VariantPolicy("keys", 0, 4)).variants("consulta") == set()


def test_nearest_policy_takes_the_closest_label_term():
    terms = LabelTerms(["mali", "syrian", "liberia", "condom"], VariantPolicy("nearest", 3, 4))
    assert terms.lookup("mali") == 0
    assert terms.lookup("malian") == 0               # a derived form adds letters
    assert terms.lookup("syria") == 1                # a prefix may drop one letter
    assert terms.lookup("liber") == NO_TERM          # not two
    assert terms.lookup("condemn") == NO_TERM        # both differ past a short common prefix
    assert LabelTerms(["mali"], VariantPolicy("nearest", 0, 4)).lookup("malian") == NO_TERM


def test_policies_are_checked_and_indexes_compare_by_value():
    with pytest.raises(ValueError):
        VariantPolicy("fuzzy")
    assert LabelTerms(["a"], VariantPolicy()) == LabelTerms(["a"], VariantPolicy())
    assert LabelTerms(["a"], VariantPolicy()) != LabelTerms(["b"], VariantPolicy())


def test_longest_matches_prefer_the_longest_label_and_resume_after_it():
    # labels (owner, term ids): SUDAN = (1,), SOUTH SUDAN = (0, 1)
    by_first = longest_labels([("SUDAN", (1,)), ("SOUTH SUDAN", (0, 1))])
    ids = [0, 1, 5, 1, 7]
    assert list(longest_matches(ids, by_first)) == [(0, 1, "SOUTH SUDAN", True), (3, 3, "SUDAN", True)]
    # a term of ``single`` matches alone where no label starts (a partial mention)
    assert list(longest_matches(ids, by_first, {7: "X"})) == [
        (0, 1, "SOUTH SUDAN", True), (3, 3, "SUDAN", True), (4, 4, "X", False)]
    assert list(longest_matches(ids, by_first, {7: "X"}, starters=frozenset({1}))) == [
        (1, 1, "SUDAN", True), (3, 3, "SUDAN", True)]


def test_window_matches_any_order_within_the_gap():
    analyzer = get_analyzer("en")
    text = "the situation in Somalia; Somalia faced droughts, floods and famine: a situation"
    tokens = analyzer.tokens(text)
    where = {t: [i for i, x in enumerate(tokens.terms) if x == t] for t in set(tokens.terms)}
    somalia, situation = where[analyzer.terms("Somalia")[0]], where[analyzer.terms("situation")[0]]
    windows = window_matches([somalia, situation], 2, 1)
    assert windows == [(0, 1)]  # the second Somalia is nearest the first situation, inside the first window
    occ = occurrences(7, windows, tokens.starts, tokens.ends)
    assert [(o.label, text[o.start:o.end]) for o in occ] == [(7, "situation in Somalia")]
    assert window_matches([somalia, situation], 2, 5) == [(0, 1)]
    assert window_matches([[1, 6], [0, 7]], 2, 0) == [(0, 1), (6, 7)]  # any order, each pair once
    assert window_matches([[1], [7]], 2, 4) == []                      # too far apart for the gap
    assert window_matches([[3, 9]], 1, 0) == [(3, 3), (9, 9)]


def test_raw_matches_and_their_tokens():
    text = "安全理事会关于索马里局势的决议。索马里"
    found = list(raw_matches(text, [("SOM", "索马里"), ("none", "")]))
    assert found == [("SOM", 7, 10), ("SOM", 16, 19)]
    starts = [0, 5, 7, 10, 16]
    assert token_span(starts, 7, 10) == (2, 2) and token_span(starts, 6, 12) == (1, 3)
