"""The nearest-neighbour backend on a small synthetic corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from fahras import Indexer
from fahras.errors import UsageError
from fahras.models import create_backend, FitContext

from synthetic import (ANALYZER, NAMES, PROBES, analyse, analysed_corpus, assert_no_pickles,  # noqa: F401
                       assert_params_round_trip, assert_round_trip, assert_term_evidence, corpus_documents)


@pytest.fixture(scope="module")
def corpus():
    return analysed_corpus()


@pytest.fixture(scope="module")
def fitted(corpus):
    docs, y = corpus
    return create_backend("knn", {"k": 5}).fit(docs, y, context=FitContext(ANALYZER))


@pytest.mark.parametrize("params", [{}, {"k": 5}, {"k": 1}, {"exponent": 0.0},
                                    {"centroid_weight": 0.5}, {"centroid_weight": 1.0}, {"k": 1000}])
def test_ranks_the_right_subject_first(corpus, params):
    docs, y = corpus
    backend = create_backend("knn", params).fit(docs, y, context=FitContext(ANALYZER))
    scores = backend.predict_scores(analyse([text for text, _ in PROBES]))
    assert scores.shape == (len(PROBES), len(NAMES))
    assert list(scores.argmax(axis=1)) == [subject for _, subject in PROBES]
    assert scores.min() >= 0.0 and scores.max() <= 1.0


def test_scores_are_in_unit_interval_with_the_right_shape(fitted, corpus):
    docs, _ = corpus
    scores = fitted.predict_scores(docs[:7] + analyse(["", "nothing known here at all"]))
    assert scores.shape == (9, len(NAMES))
    assert np.isfinite(scores).all() and scores.min() >= 0.0 and scores.max() <= 1.0
    assert not scores[7].any()  # no known term: no neighbour carries any weight
    assert fitted.predict_scores([]).shape == (0, len(NAMES))


def test_vote_is_the_weighted_share_of_the_neighbours(corpus):
    docs, y = corpus
    # k=1: a training document's own subjects score 1, all others 0.
    one = create_backend("knn", {"k": 1}).fit(docs, y, context=FitContext(ANALYZER))
    assert np.array_equal(one.predict_scores(docs[:10]), y[:10].toarray())
    # A vote: each neighbour's weight is similarity ** exponent; scores sum to the mean label count.
    backend = create_backend("knn", {"k": 3, "exponent": 2.0}).fit(docs, y, context=FitContext(ANALYZER))
    x = backend.features_.transform(docs[:1])
    sims = (x @ backend.train_.T).toarray().ravel()
    nearest = np.argsort(-sims)[:3]
    weights = sims[nearest] ** 2
    expected = weights @ y[nearest].toarray() / weights.sum()
    assert np.allclose(backend.predict_scores(docs[:1])[0], expected, atol=1e-6)


def test_centroid_weight_mixes_in_centroid_similarity(corpus):
    docs, y = corpus
    only = create_backend("knn", {"centroid_weight": 1.0}).fit(docs, y, context=FitContext(ANALYZER))
    probes = analyse([text for text, _ in PROBES])
    x = only.features_.transform(probes).toarray()
    centroids = y.toarray().T @ only.train_.toarray()
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    assert np.allclose(only.predict_scores(probes), x @ centroids.T, atol=1e-5)
    votes = create_backend("knn", {"centroid_weight": 0.0}).fit(docs, y, context=FitContext(ANALYZER)).predict_scores(probes)
    half = create_backend("knn", {"centroid_weight": 0.5}).fit(docs, y, context=FitContext(ANALYZER)).predict_scores(probes)
    assert np.allclose(half, 0.5 * votes + 0.5 * (x @ centroids.T), atol=1e-5)


def test_save_load_round_trip(fitted, tmp_path):
    assert_round_trip(fitted, tmp_path / "backend", 3)


def test_saved_files_are_plain(fitted, tmp_path):
    folder = tmp_path / "backend"
    fitted.save(folder)
    names = {p.name for p in folder.rglob("*") if p.is_file()}
    assert names == {"params.json", "features.json", "idf.npy", "ngram_ids.npz", "train.npz", "labels.npz",
                     "postings_indptr.npy", "postings_indices.npy", "postings_data.npy"}
    assert_no_pickles(folder)
    np.load(folder / "idf.npy", allow_pickle=False)
    assert sp.load_npz(folder / "train.npz").shape[0] == 40  # loads with allow_pickle=False
    assert sp.load_npz(folder / "labels.npz").shape == (40, len(NAMES))
    json.loads((folder / "params.json").read_text(encoding="utf-8"))


def test_params_round_trip():
    params = {"ngram_max": 1, "min_df": 1, "max_features": 5000, "k": 7, "exponent": 3.0,
              "centroid_weight": 0.25}
    assert_params_round_trip("knn", params)


def test_bad_params(corpus):
    docs, y = corpus
    for params in ({"k": 0}, {"exponent": -1.0}, {"centroid_weight": 1.5}):
        with pytest.raises(UsageError):
            create_backend("knn", params).fit(docs, y, context=FitContext(ANALYZER))


def test_explain_points_at_shared_terms(fitted):
    assert_term_evidence(fitted, PROBES[3][0], NAMES.index("MINING"))
    # A subject no neighbour has: nothing to show.
    assert fitted.explain(analyse(["copper mine quarry miners diamonds"])[0], 2) == []


def test_indexer_end_to_end(tmp_path):
    documents, vocab = corpus_documents()
    indexer = Indexer(backend="knn", cv_folds=3).fit(documents, vocab)
    loaded = Indexer.load(indexer.save(tmp_path / "model"))
    [top] = loaded.suggest(PROBES[0][0], limit=1, explain=True)
    assert top.label == "WATER" and top.evidence
    assert np.array_equal(loaded.scores([PROBES[1][0]]), indexer.scores([PROBES[1][0]]))
