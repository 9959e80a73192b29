"""The acronyms backend: definitions matched to labels, mentions counted, explained, saved."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from fahras.errors import ModelError, UsageError
from fahras.models import AnalyzedText, Backend, create_backend, FitContext, load_backend
from fahras.models.acronyms import definitions, label_words
from fahras.vocab.concept import Concept, local_concept

LABELS = ["UN MISSION IN LIBERIA", "UN OPERATION IN CÔTE D'IVOIRE", "AU/UN HYBRID OPERATION IN DARFUR",
          "LIBERIA SITUATION", "UN MISSION IN SOUTH SUDAN", "UN MISSION IN SUDAN", "CENTRAL AFRICAN REPUBLIC"]
COLUMN = {label: n for n, label in enumerate(LABELS)}

TRAINING = [
    "Welcoming the work of the United Nations Mission in Liberia (UNMIL), decides that UNMIL shall continue.",
    "Recalling the United Nations Operation in Côte d'Ivoire (UNOCI) and the UNOCI mandate.",
    "Commending the African Union-United Nations Hybrid Operation in Darfur (UNAMID), requests UNAMID to report.",
    "Noting the United Nations Mission in the Republic of South Sudan (UNMISS).",
    "The situation in the Central African Republic (CAR) remains fragile; the CAR authorities must act.",
]


def _doc(text: str) -> AnalyzedText:
    return AnalyzedText(text, [])


def _concepts() -> list[Concept]:
    return [local_concept(label) for label in LABELS]


def _fit(**params) -> Backend:
    y = sp.csr_matrix((len(TRAINING), len(LABELS)), dtype=np.float32)
    return create_backend("acronyms", params).fit([_doc(t) for t in TRAINING], y, context=FitContext(None, _concepts()))


def test_definitions_are_matched_to_the_closest_long_enough_label():
    backend = _fit()
    assert backend.acronyms_ == {
        "UNMIL": [COLUMN["UN MISSION IN LIBERIA"]],
        "UNOCI": [COLUMN["UN OPERATION IN CÔTE D'IVOIRE"]],
        "UNAMID": [COLUMN["AU/UN HYBRID OPERATION IN DARFUR"]],
        # one word off ("Republic of") a four-word label, and not "UN MISSION IN SUDAN"
        "UNMISS": [COLUMN["UN MISSION IN SOUTH SUDAN"]],
        "CAR": [COLUMN["CENTRAL AFRICAN REPUBLIC"]],  # three words, matched exactly
    }
    assert "CAR" not in _fit(min_label_words=4).acronyms_


def test_labels_shorter_than_fuzzy_min_words_match_only_exactly():
    backend = _fit()
    assert backend._match(label_words("the Central African Republic authorities"))[1] == []
    assert backend._match(label_words("United Nations Mission in Sudan"))[1] == [COLUMN["UN MISSION IN SUDAN"]]


def test_expansions_read_united_nations_and_african_union_in_three_languages():
    assert label_words("Mission des Nations Unies au Libéria") == ("mission", "un", "au", "liberia")
    assert label_words("Misión de las Naciones Unidas en Liberia") == ("mision", "un", "liberia")
    assert label_words("African Union-United Nations Hybrid Operation") == ("au", "un", "hybrid", "operation")
    found = list(definitions("in support of the United Nations Mission in Liberia ( UNMIL ) and (not an acronym)"))
    assert [(a, words[-3:]) for a, words in found] == [("UNMIL", ("un", "mission", "liberia"))]
    assert list(definitions("the United Nations Mission in Liberia (UNMIL)", skip={"UNMIL"})) == []


def test_the_body_a_document_is_about_outscores_the_ones_it_mentions():
    backend = _fit()
    text = " ".join(["UNMIL shall support the elections."] * 12 + ["UNOCI will cooperate."] * 2)
    scores = backend.predict_scores([_doc(text), _doc("No acronym of a mission here, only the UN.")])
    liberia, ivoire = COLUMN["UN MISSION IN LIBERIA"], COLUMN["UN OPERATION IN CÔTE D'IVOIRE"]
    assert scores[0, liberia] > 0.8 > scores[0, ivoire] > 0
    assert scores[0, ivoire] == pytest.approx(2 / 14 * (1 - np.exp(-2 / 3)), rel=1e-5)
    assert not scores[1].any()
    assert scores.shape == (2, len(LABELS)) and scores.dtype == np.float32
    # whole, case-sensitive words only
    assert not backend.predict_scores([_doc("UNMILITARY unmil UNMILs")]).any()


def test_acronyms_defined_in_training_without_a_label_stay_unmatched():
    backend = _fit()
    assert backend.unmatched_ == []
    y = sp.csr_matrix((1, len(LABELS)), dtype=np.float32)
    text = "the Economic Community of West African States (ECOWAS)"
    other = create_backend("acronyms").fit([_doc(text)], y, context=FitContext(None, _concepts()))
    assert other.unmatched_ == ["ECOWAS"] and other.acronyms_ == {}
    assert not other.predict_scores([_doc("the United Nations Mission in Sudan (ECOWAS) ECOWAS")]).any()
    assert backend.predict_scores([_doc("the United Nations Mission in Sudan (ECOWAS) ECOWAS")]).any()


def test_a_document_can_define_an_acronym_training_never_saw():
    text = "The United Nations Mission in Sudan (UNMIS) is renewed. UNMIS shall report. UNMIS will assist."
    column = COLUMN["UN MISSION IN SUDAN"]
    assert _fit().predict_scores([_doc(text)])[0, column] > 0.5
    assert _fit(document_definitions=False).predict_scores([_doc(text)])[0, column] == 0


def test_explain_gives_the_acronym_and_where_it_occurs():
    backend = _fit()
    text = "UNMIL and UNMIL again, with UNOCI."
    evidence = backend.explain(_doc(text), COLUMN["UN MISSION IN LIBERIA"])
    assert [(e.kind, e.text, e.spans) for e in evidence] == [("term", "UNMIL", [(0, 5), (10, 15)])]
    assert evidence[0].weight == pytest.approx(2 / 3)
    assert backend.explain(_doc(text), COLUMN["LIBERIA SITUATION"]) == []


def test_save_and_load_keep_the_scores(tmp_path):
    backend = _fit()
    docs = [_doc("UNAMID and UNMISS; UNAMID. The United Nations Mission in Sudan (UNMIS): UNMIS.")]
    backend.save(tmp_path / "m")
    loaded = load_backend(tmp_path / "m")
    assert loaded.get_params() == backend.get_params()
    np.testing.assert_array_equal(loaded.predict_scores(docs), backend.predict_scores(docs))
    state = tmp_path / "m" / "acronyms.json"
    state.write_text(state.read_text(encoding="utf-8").replace('"n_subjects": 7', '"n_subjects": 2'), encoding="utf-8")
    with pytest.raises(ModelError, match="outside"):
        load_backend(tmp_path / "m")


def test_fit_needs_the_concepts():
    y = sp.csr_matrix((1, 2), dtype=np.float32)
    with pytest.raises(UsageError, match="concepts"):
        create_backend("acronyms").fit([_doc("x")], y, context=FitContext(None))
    with pytest.raises(UsageError, match="1 concepts for 2 subjects"):
        create_backend("acronyms").fit([_doc("x")], y, context=FitContext(None, [local_concept("A B C")]))
