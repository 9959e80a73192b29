"""The shared TF-IDF feature helper, and that tfidf-linear uses it unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from fahras.models import AnalyzedText, create_backend, FitContext, load_backend
from fahras.models.features import (PAIRS_FILE, TfidfFeatures, feature_spans, ngram_counts, ngrams,
                                    top_shared_features)
from fahras.text import get_analyzer

ANALYZER = get_analyzer("en")
TEXTS = [
    "The Security Council condemns piracy off the coast of Somalia.",
    "Piracy and armed robbery at sea off the coast of Somalia threaten shipping.",
    "The Council extends the mandate of the mission in Liberia.",
    "Elections in Liberia were held peacefully; the mission supported them.",
    "Humanitarian access in Darfur remains a concern of the Council.",
    "The Council welcomes the peace agreement for Darfur and the Sudan.",
]


def analyse(texts):
    return [AnalyzedText(t, ANALYZER.tokens(t)) for t in texts]


@pytest.fixture(scope="module")
def docs():
    return analyse(TEXTS)


def test_ngrams():
    assert ngrams(["a", "b", "c"], 1) == ["a", "b", "c"]
    assert ngrams(["a", "b", "c"], 2) == ["a", "b", "c", "a b", "b c"]
    assert ngrams(["a", "b", "c"], 3) == ["a", "b", "c", "a b", "b c", "a b c"]
    assert ngrams([], 2) == []


def test_vectors_are_unit_length_float32(docs):
    features = TfidfFeatures(ngram_max=2, min_df=2)
    x = features.fit_transform(docs)
    assert isinstance(x, sp.csr_matrix) and x.dtype == np.float32
    assert x.shape == (len(docs), features.n_features) == (len(docs), len(features.feature_names))
    assert np.allclose(sp.linalg.norm(x, axis=1), 1.0, atol=1e-6)
    names = set(features.feature_names)
    assert "piraci" in names and "somalia" in names and "coast somalia" in names
    assert "elect" not in names  # min_df=2: occurs in one document only
    assert np.allclose(features.transform(docs).toarray(), x.toarray())
    assert features.transform([]).shape == (0, features.n_features)
    empty = features.transform(analyse(["zebra quokka"]))
    assert empty.shape == (1, features.n_features) and empty.nnz == 0


def test_same_as_scikit_learn_pipeline(docs):
    """The helper is CountVectorizer on n-grams + sublinear TfidfTransformer, as tfidf-linear always did."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    vectorizer = CountVectorizer(analyzer=lambda terms: ngrams(terms, 2), min_df=2, max_features=200_000)
    counts = vectorizer.fit_transform([d.terms for d in docs])
    expected = TfidfTransformer(sublinear_tf=True).fit_transform(counts).astype(np.float32)
    features = TfidfFeatures(2, 2, 200_000)
    x = features.fit_transform(docs)
    assert list(features.feature_names) == list(vectorizer.get_feature_names_out())
    assert np.array_equal(x.toarray(), expected.toarray())


def test_min_df_relaxed_for_tiny_corpora_and_max_features(docs):
    assert TfidfFeatures(1, min_df=5).fit(docs[:3]).n_features == len({t for d in docs[:3] for t in d.terms})
    assert TfidfFeatures(2, min_df=1, max_features=7).fit(docs).n_features == 7
    assert TfidfFeatures(1, min_df=1).fit(docs).n_features < TfidfFeatures(2, min_df=1).fit(docs).n_features


def test_save_load_round_trip(docs, tmp_path):
    features = TfidfFeatures(ngram_max=2, min_df=1)
    x = features.fit_transform(docs)
    features.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features.json", "idf.npy", PAIRS_FILE]
    np.load(tmp_path / PAIRS_FILE, allow_pickle=False)
    loaded = TfidfFeatures.load(tmp_path, ngram_max=2)
    assert list(loaded.feature_names) == list(features.feature_names)
    assert np.array_equal(loaded.transform(docs).toarray(), x.toarray())
    probe = analyse(["Piracy off Somalia and the mission in Liberia."])
    assert np.array_equal(loaded.transform(probe).toarray(), features.transform(probe).toarray())


def _string_path_counts(features, terms):
    """The features of ``terms`` found by joining and looking up every n-gram, as before the term-id index."""
    counts = ngram_counts(terms, features.ngram_max)
    found = sorted((features.vocabulary_[f], n) for f, n in counts.items() if f in features.vocabulary_)
    return [c for c, _ in found], [n for _, n in found]


WORDS = ["piraci", "somalia", "coast", "council", "liberia", "mission", "the", "of", "zebra", "a b", ""]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=30))
def test_the_term_id_index_counts_what_the_strings_count(docs, terms):
    # The index finds one- and two-term features from term ids; terms holding
    # the separator ("a b") take the string path.  Both must count the same.
    features = TfidfFeatures(ngram_max=2, min_df=1).fit(docs + analyse(["zebra a"]))
    columns, counts = features._counts(terms)
    assert (list(columns), list(counts)) == _string_path_counts(features, terms)


def test_old_models_without_the_index_give_the_same_rows(docs, tmp_path):
    features = TfidfFeatures(ngram_max=2, min_df=1)
    x = features.fit_transform(docs)
    features.save(tmp_path)
    (tmp_path / PAIRS_FILE).unlink()  # as a model saved before the index existed
    loaded = TfidfFeatures.load(tmp_path, ngram_max=2)
    assert not hasattr(loaded, "_pairs")  # made on first use
    assert np.array_equal(loaded.transform(docs).toarray(), x.toarray())


def test_an_index_saved_for_other_features_is_refused(docs, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    TfidfFeatures(ngram_max=2, min_df=1).fit(docs).save(tmp_path / "a")
    TfidfFeatures(ngram_max=2, min_df=2).fit(docs).save(tmp_path / "b")
    (tmp_path / "a" / PAIRS_FILE).replace(tmp_path / "b" / PAIRS_FILE)
    with pytest.raises(ValueError, match="other features"):
        TfidfFeatures.load(tmp_path / "b", 2)


def test_a_damaged_index_is_a_model_error(docs, tmp_path):
    from fahras.errors import ModelError

    y = sp.csr_matrix(np.eye(len(docs))[:, :3])
    create_backend("tfidf-linear", {"min_df": 1}).fit(docs, y, context=FitContext(ANALYZER)).save(tmp_path / "b")
    for damage in (b"not a zip file", (tmp_path / "b" / PAIRS_FILE).read_bytes()[:100]):
        (tmp_path / "b" / PAIRS_FILE).write_bytes(damage)
        with pytest.raises(ModelError, match="damaged"):
            load_backend(tmp_path / "b")


def test_any_damaged_npz_file_is_a_model_error(docs, tmp_path):
    from fahras.errors import ModelError

    y = sp.csr_matrix(np.eye(len(docs))[:, :3])
    create_backend("knn", {"min_df": 1}).fit(docs, y, context=FitContext(ANALYZER)).save(tmp_path / "k")
    (tmp_path / "k" / "train.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ModelError, match="damaged"):
        load_backend(tmp_path / "k")


def test_refitting_makes_a_new_index(docs):
    features = TfidfFeatures(ngram_max=2, min_df=1)
    features.fit(docs[:2])
    features.fit(docs[2:])
    terms = docs[3].terms
    assert [list(a) for a in features._counts(terms)] == list(_string_path_counts(features, terms))


def test_load_rejects_mismatched_files(docs, tmp_path):
    features = TfidfFeatures(1, 1).fit(docs)
    features.save(tmp_path)
    np.save(tmp_path / "idf.npy", np.ones(3))
    with pytest.raises(ValueError):
        TfidfFeatures.load(tmp_path, 1)


def test_feature_spans():
    text = "Piracy off the coast of Somalia; the coast of Somalia again."
    doc = analyse([text])[0]
    spans = feature_spans(doc, "coast somalia")
    assert [text[s:e] for s, e in spans] == ["coast of Somalia", "coast of Somalia"]
    assert [text[s:e] for s, e in feature_spans(doc, "piraci")] == ["Piracy"]
    assert feature_spans(doc, "liberia") == []
    assert len(feature_spans(doc, "coast", limit=1)) == 1


def test_top_shared_features_dense_and_sparse():
    row = sp.csr_matrix(np.array([[0.5, 0.0, 0.3, 0.2]], dtype=np.float32))
    weights = np.array([1.0, 9.0, 2.0, -1.0])
    assert top_shared_features(row, weights, 5) == [(2, pytest.approx(0.6)), (0, pytest.approx(0.5))]
    assert top_shared_features(row, sp.csr_matrix(weights), 1) == [(2, pytest.approx(0.6))]
    assert top_shared_features(row, np.zeros(4), 3) == []


def test_tfidf_linear_uses_the_helper_and_keeps_its_files(docs, tmp_path):
    y = sp.csr_matrix(np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]]))
    backend = create_backend("tfidf-linear", {"min_df": 1}).fit(docs, y, context=FitContext(ANALYZER))
    reference = TfidfFeatures(2, 1, 200_000).fit_transform(docs)
    assert np.array_equal(backend.features_.transform(docs).toarray(), reference.toarray())
    backend.save(tmp_path / "b")
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "active.npy", "coef.npz", "features.json", "idf.npy", "intercept.npy", PAIRS_FILE, "params.json"]
    loaded = load_backend(tmp_path / "b")
    probe = analyse(["Piracy off the coast of Somalia."])
    assert np.array_equal(loaded.predict_scores(probe), backend.predict_scores(probe))
    assert loaded.predict_scores(probe).argmax() == 0
    [first, *_] = loaded.explain(probe[0], 0)
    assert first.kind == "term" and first.spans


def test_transform_matches_scikit_learn_tfidf():
    """The hand-computed transform is scikit-learn's sublinear, smoothed, L2 TF-IDF."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    from fahras.models.base import AnalyzedText
    from fahras.models.features import TfidfFeatures, ngrams
    from fahras.text import Token

    texts = ["peace peace security council", "council decides peace", "somalia piracy piracy piracy",
             "security council somalia", "unknown words only here"]
    docs = [AnalyzedText(t, [Token(w, 0, 0) for w in t.split()]) for t in texts]
    features = TfidfFeatures(ngram_max=2, min_df=1)
    ours = features.fit_transform(docs).toarray()
    counts = CountVectorizer(analyzer=lambda terms: ngrams(terms, 2), vocabulary=features.vocabulary_)
    x = counts.transform([d.terms for d in docs])
    expected = TfidfTransformer(sublinear_tf=True).fit(x).transform(x).toarray()
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
    empty = features.transform([AnalyzedText("", [])])
    assert empty.shape == (1, features.n_features) and empty.nnz == 0


def test_tfidf_linear_keeps_weights_only_for_learned_subjects(docs):
    # Subject 3 has no document and subject 4 all of them: constant scores, no weight rows.
    y = sp.csr_matrix(np.array([[1, 0, 0, 0, 1], [1, 0, 0, 0, 1], [0, 1, 0, 0, 1], [0, 1, 0, 0, 1],
                                [0, 0, 1, 0, 1], [0, 0, 1, 0, 1]]))
    backend = create_backend("tfidf-linear", {"min_df": 1}).fit(docs, y, context=FitContext(ANALYZER))
    assert list(backend.active_) == [0, 1, 2] and backend.coef_.shape[0] == 3
    scores = backend.predict_scores(docs)
    assert np.all(scores[:, 3] < 0.001) and np.all(scores[:, 4] > 0.999)
    assert backend.explain(docs[0], 3) == [] and backend.explain(docs[0], 0)


def test_equal_features_on_the_same_documents_are_fitted_once_in_a_sharing_block():
    from fahras.models.features import TfidfFeatures, sharing_fits
    from synthetic import analyse, make_corpus

    docs = analyse(make_corpus(20)[0])
    alone = TfidfFeatures(min_df=1)
    x_alone = alone.fit_transform(docs)
    with sharing_fits():
        first, second, other = TfidfFeatures(min_df=1), TfidfFeatures(min_df=1), TfidfFeatures(min_df=2)
        x1 = first.fit_transform(docs)
        x2 = second.fit_transform(list(docs))  # another list of the same documents
        x3 = other.fit_transform(docs)
        x_subset = TfidfFeatures(min_df=1).fit_transform(docs[:10])
    assert second.idf_ is first.idf_ and x2 is not x1  # learned once; each fit owns its vectors
    assert other.idf_ is not first.idf_ and x3.shape[1] < x1.shape[1]  # other settings: fitted anew
    assert x_subset.shape[0] == 10
    np.testing.assert_array_equal(x1.toarray(), x_alone.toarray())
    np.testing.assert_array_equal(first.idf_, alone.idf_)
    x2.data[:] = 0  # a backend changing its copy does not change the other's
    assert x1.data.any()
    after = TfidfFeatures(min_df=1)
    after.fit_transform(docs)
    assert after.idf_ is not first.idf_  # nothing is cached outside the block
