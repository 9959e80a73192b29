"""Words are not names: composed headings and places come only from a name said whole (issue #16).

Two matchers look for names: the zero-shot lexical features (places and
national groups of UNBIS, :mod:`fahras.models.lexical`) and the headings
backend's fillers (``X SITUATION``, :mod:`fahras.models.headings`).  Each
example of the issue is a regression test here, against the real UNBIS
thesaurus and the real resolutions; each has its positive twin (the whole name
is still found), so none can pass by finding nothing.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from fahras import Indexer, read_corpus
from fahras.models import AnalyzedText
from fahras.models.lexical import FEATURES as LEX_FEATURES, LabelIndex
from fahras.text import get_analyzer

FULL = LEX_FEATURES.index("lex_full")
COVER = LEX_FEATURES.index("lex_cover")


# -- the zero-shot lexical matcher ---------------------------------------------------------

@pytest.fixture(scope="module")
def zeroshot(unbis) -> Indexer:
    return Indexer(backend="zeroshot", backend_params={"semantic": False}).fit([], unbis)


def _lexical(model: Indexer, text: str, lang: str = "en") -> dict[str, np.ndarray]:
    """English label -> lexical feature row, for every concept the matcher found anything of."""
    backend = model.backend_
    doc = AnalyzedText(text, get_analyzer(lang).tokens(text), lang)
    _, _, is_entity = backend._group_split()
    feats = backend.labels_.match(doc, is_entity).features
    labels = [model.vocab_.get(uri).labels.get("en") for uri in model.subjects_.uris]
    return {labels[i]: feats[i] for i in np.flatnonzero(feats.any(axis=1))}


@pytest.mark.parametrize("text, name", [
    ("The free trade zones of the region were enlarged.", "PANAMA CANAL ZONE"),
    ("The costs of the mission rose again.", "COSTA RICA"),
    ("The Council stresses the unity of all States in the fight against terrorism.", "UNITED STATES"),
    ("The European institutions welcomed the report.", "EUROPE"),
])
def test_a_word_of_a_name_is_not_the_name(zeroshot, text, name):
    assert name not in _lexical(zeroshot, text)


@pytest.mark.parametrize("text, name", [
    ("The Panama Canal Zone was returned.", "PANAMA CANAL ZONE"),
    ("Costa Rica hosted the talks.", "COSTA RICA"),
    ("The United States submitted a draft.", "UNITED STATES"),
    ("Peace in Europe was discussed.", "EUROPE"),
])
def test_the_whole_name_is_found(zeroshot, text, name):
    assert _lexical(zeroshot, text)[name][FULL] == 1


def test_thematic_labels_keep_their_variants_and_partial_cover(zeroshot):
    # only names are whole: a thematic concept may still be met by part of its label
    found = _lexical(zeroshot, "The costs of the programme were reviewed.")
    assert found["COSTS"][FULL] == 1
    partial = _lexical(zeroshot, "Trade in the zone was free.")
    assert any(row[FULL] == 0 and row[COVER] > 0 for row in partial.values())


def test_an_index_saved_before_keeps_its_matching(zeroshot):
    # labels.json written before the "matching" entry existed: version 1, words of names count
    data = zeroshot.backend_.labels_.to_dict()
    assert data["matching"] == 2
    del data["matching"]
    backend = zeroshot.backend_
    old = LabelIndex(backend.max_gap, backend.variant_chars, backend.min_variant_prefix, backend.variant_weight,
                     backend.roots, backend.lead_tokens).load_dict(data)
    assert old.matching == 1
    text = "The costs of the mission rose again."
    doc = AnalyzedText(text, get_analyzer("en").tokens(text), "en")
    _, _, is_entity = backend._group_split()
    costa = zeroshot.subjects_.index[zeroshot.vocab_.find("COSTA RICA").uri]
    assert old.match(doc, is_entity).features[costa, COVER] > 0
    assert backend.labels_.match(doc, is_entity).features[costa, COVER] == 0


# -- composed headings ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def headings(time_split, unbis) -> Indexer:
    """The headings backend alone, trained on the 2005-2011 resolutions."""
    return Indexer(backend="headings", cv_folds=0).fit(read_corpus(time_split[0]), unbis)


def _composed(model: Indexer, text: str, lang: str | None = None) -> dict[str, float]:
    """Label -> score of every heading the backend gives a score above zero."""
    return {s.label: s.score for s in model.suggest(text, limit=50, threshold=1e-9, label_lang="en")}


ENGLISH_AFRICA = "ENGLISH-SPEAKING AFRICA SITUATION"


def test_a_language_name_is_not_a_region(headings):
    assert ENGLISH_AFRICA in {c.labels.get("en") for c in headings.vocab_}  # the heading exists
    assert not any(label.startswith("ENGLISH-SPEAKING AFRICA") for label in
                   _composed(headings, "Hello world, this is English."))


def test_a_french_word_is_not_france(headings):
    text = ("Le Conseil de sécurité note que la mission a franchi une étape importante et "
            "que les parties ont franchi la ligne de démarcation.")
    assert not any(label.startswith("FRANCE") for label in _composed(headings, text))
    named = "Le Conseil de sécurité note que la France a présenté un rapport sur la situation en France."
    assert any(label.startswith("FRANCE") for label in _composed(headings, named))


# Words of names and near-spellings, and common words; no name whole ("united" is left out:
# "united states" side by side would be the name said; so are the adjectives that are the
# names of national groups: "French" is FRENCH, "Americans" AMERICANS).
WORDS = ("unity of all States zones costs nations peace council security report development "
         "cooperation region economic social rights people government states unity costa coast zone "
         "english franchise franchi cost republic democratic islamic federal kingdom island islands "
         "canal").split()


def test_random_words_compose_no_heading(headings):
    rng = random.Random(16)
    text = " ".join(rng.choice(WORDS) for _ in range(3000))
    composed = _composed(headings, text)
    assert not any(label.startswith(("UNITED STATES", "COSTA RICA", "FRANCE", "ENGLISH")) for label in composed)
    assert max(composed.values(), default=0.0) < 0.01, composed


def test_words_of_a_multi_word_name_compose_no_heading(headings):
    text = ("The free trade zones and the costs of the operation concern the unity of all States; "
            "the European partners agreed.")
    composed = _composed(headings, text)
    for name in ("PANAMA CANAL ZONE", "COSTA RICA", "UNITED STATES", "EUROPE"):
        # (EUROPEANS, a national group, is the word "European" itself)
        assert not any(label.startswith((name + " ", name + "-")) for label in composed), (name, composed)


def test_a_whole_name_composes_its_headings(headings):
    text = ("The situation in Somalia. The Security Council condemns the attacks in Somalia and "
            "welcomes the efforts of the Transitional Federal Government of Somalia.")
    assert next(iter(_composed(headings, text))).startswith("SOMALIA")


def test_a_qualified_name_is_found_in_its_official_word_order():
    from fahras.models.headings import _name_forms

    # IRAN (ISLAMIC REPUBLIC OF): "the Islamic Republic of Iran", and "Iran" alone while no other filler is IRAN
    assert _name_forms("IRAN (ISLAMIC REPUBLIC OF)", {"IRAN": 1}) == ["ISLAMIC REPUBLIC OF IRAN", "IRAN"]
    assert _name_forms("IRAN (ISLAMIC REPUBLIC OF)", {"IRAN": 2}) == ["ISLAMIC REPUBLIC OF IRAN"]
    assert _name_forms("VENEZUELA (RÉPUBLIQUE BOLIVARIENNE DU)", {}) == [
        "RÉPUBLIQUE BOLIVARIENNE DU VENEZUELA", "VENEZUELA"]
    assert _name_forms("SOMALIA", {}) == []


def test_a_qualified_filler_is_found_by_its_other_forms(time_split, unbis):
    # a subject space holding VENEZUELA's concept: its heading is composed from the official word order
    model = Indexer(backend="headings", cv_folds=0, backend_params={"max_instances": 20000}).fit(
        read_corpus(time_split[0]), unbis)
    qualified = sorted(f["key"] for f in model.backend_.fillers_ if f["key"].endswith(" OF)"))
    assert "IRAN (ISLAMIC REPUBLIC OF)" in qualified
    head, _, rest = qualified[0].partition(" (")
    text = f"The Council welcomes the report of the {rest.rstrip(')').title()} {head.title()} on its elections."
    assert any(label.startswith(qualified[0]) for label in _composed(model, text)), (text, qualified)


def test_a_headings_model_saved_before_keeps_its_variants(headings, tmp_path):
    import json

    from fahras.models import load_backend

    backend = headings.backend_
    backend.save(tmp_path / "new")
    state = json.loads((tmp_path / "new" / "headings.json").read_text(encoding="utf-8"))
    assert state["name_matching"] == 2
    assert all(index.matcher.policy.chars == 0 for index in backend.langs_.values())
    del state["name_matching"]  # as written before the entry existed
    (tmp_path / "new" / "headings.json").write_text(json.dumps(state), encoding="utf-8")
    old = load_backend(tmp_path / "new")
    assert old.name_matching_ == 1
    assert all(index.matcher.policy.chars == old.variant_chars > 0 for index in old.langs_.values())
