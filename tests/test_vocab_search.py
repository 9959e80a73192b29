"""Concept search (fahras.vocab.search): matching, ranking, languages, threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from fahras.vocab import Concept, Vocabulary
from fahras.vocab.search import ConceptSearch, SearchHit, search_key

CONSULTATIONS = "http://metadata.un.org/thesaurus/1001256"


@pytest.fixture(scope="module")
def unbis_search(unbis) -> ConceptSearch:
    return ConceptSearch(unbis)


def _concept(uri, en, **labels):
    alt = labels.pop("alt", {})
    return Concept(uri=uri, identifier=uri, labels={"en": en, **labels}, alt_labels=alt)


@pytest.fixture()
def small() -> ConceptSearch:
    return ConceptSearch(Vocabulary([
        _concept("c1", "CONSULTATIONS", fr="CONSULTATIONS", ar="المشاورات", zh="协商"),
        _concept("c2", "CONSULTANTS", fr="CONSULTANTS"),
        _concept("c3", "CONSULTATIVE STATUS"),
        _concept("c4", "WOMEN IN ARMED CONFLICTS", fr="FEMMES DANS LES CONFLITS ARMÉS"),
        _concept("c5", "ARMED CONFLICTS"),
        _concept("c6", "CÔTE D'IVOIRE", fr="CÔTE D’IVOIRE"),
        _concept("c7", "INFORMAL CONSULTATIONS", zh="非正式协商"),
        _concept("c8", "ROADS", alt={"en": ("HIGHWAYS",)}),
        _concept("c9", "EDUCATION", ar="التربية", es="EDUCACIÓN"),
    ]))


@pytest.mark.parametrize("query", ["مشاور", "consult", "协商", "CONSULTATIONS", "Консультации"])
def test_typed_letters_in_any_language_find_consultations(unbis_search, query):
    uris = [hit.concept.uri for hit in unbis_search.search(query, limit=10)]
    assert CONSULTATIONS in uris


def test_exact_label_comes_first_and_scores_highest(unbis_search):
    hits = unbis_search.search("consultations")
    assert hits[0].concept.uri == CONSULTATIONS
    assert hits[0].score == max(h.score for h in hits)
    assert all(isinstance(h, SearchHit) for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_ranks_exact_then_label_prefix_then_words_then_substring(small):
    hits = small.search("consult", limit=10)
    labels = [h.label for h in hits]
    # label prefixes, shorter first; then the label where "consult" starts a later word
    assert labels[:3] == ["CONSULTANTS", "CONSULTATIONS", "CONSULTATIVE STATUS"]
    assert labels[3] == "INFORMAL CONSULTATIONS"
    assert hits[0].score > hits[3].score
    # one hit per concept
    assert len({h.concept.uri for h in hits}) == len(hits)


def test_words_in_any_order_whole_before_prefix(small):
    hits = small.search("armed women conflicts")
    assert hits[0].concept.uri == "c4"
    hits = small.search("wom arm confl")
    assert hits[0].concept.uri == "c4"
    assert small.search("armed conflicts")[0].concept.uri == "c5"  # exact beats longer label


def test_accents_case_and_typography_ignored(small):
    assert small.search("cote d'ivoire")[0].concept.uri == "c6"
    assert small.search("COTE D IVOIRE")[0].concept.uri == "c6"
    assert small.search("conflits armes")[0].concept.uri == "c4"
    assert small.search("educacion")[0].concept.uri == "c9"


def test_arabic_normalisation_and_article(small):
    # without the article, with harakat, with hamza on alef
    assert small.search("مشاور")[0].concept.uri == "c1"
    assert small.search("المُشاوَرات")[0].concept.uri == "c1"
    assert small.search("تربيه")[0].concept.uri == "c9"  # ة typed as ه


def test_chinese_matches_inside_labels(small):
    uris = [h.concept.uri for h in small.search("协商")]
    assert uris == ["c1", "c7"]  # exact first, then the label containing it
    assert small.search("协商")[0].lang == "zh"


def test_alternative_labels_are_searched_and_reported(small):
    hit = small.search("highw")[0]
    assert (hit.concept.uri, hit.label, hit.lang) == ("c8", "HIGHWAYS", "en")


def test_languages_restrict_the_labels(small):
    hits = small.search("consultations", langs=["fr"])
    assert hits and all(h.lang == "fr" for h in hits)
    assert small.search("协商", langs=["en"]) == []


def test_several_words_no_label_has_all_falls_back_to_most(unbis_search):
    hits = unbis_search.search("violence against women", limit=5)
    labels = {h.concept.labels["en"] for h in hits}
    assert {"WOMEN", "VIOLENCE"} <= labels
    assert all(h.score < 0.2 for h in hits)  # weaker than any full match


def test_nothing_for_nothing(small):
    assert small.search("") == []
    assert small.search("  --  ") == []
    assert small.search("xyzzy") == []
    assert small.search("consult", limit=0) == []
    assert len(small.search("c", limit=2)) == 2


def test_search_key_folds():
    assert search_key("GENDER-BASED  Violence") == "gender based violence"
    assert search_key("Ёлка") == "елка"
    assert search_key("أإآٱ") == "اااا"
    assert search_key("مـشـاورة") == "مشاوره"


def test_thread_safe_same_answers(unbis_search):
    queries = ["consult", "مشاور", "协商", "women", "droits de l'homme"] * 8
    expected = [unbis_search.search(q) for q in queries]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(unbis_search.search, queries)) == expected
