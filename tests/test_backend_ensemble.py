"""The stacked ensemble on the synthetic corpus."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from fahras.errors import UsageError
from fahras.models import create_backend, FitContext, load_backend
from synthetic import ANALYZER, NAMES, PROBES, analyse, indicator, make_corpus

BASES = [{"name": "tfidf-linear"}, {"name": "knn", "params": {"k": 5}}]


@pytest.fixture(scope="module")
def corpus():
    texts, labels = make_corpus(n_docs=60, seed=3)
    return analyse(texts), indicator(labels)


@pytest.fixture(scope="module")
def fitted(corpus):
    docs, y = corpus
    return create_backend("ensemble", {"backends": BASES, "cv_folds": 3}).fit(docs, y, context=FitContext(ANALYZER))


def test_ranks_the_right_subject_first_with_probabilities(fitted):
    scores = fitted.predict_scores(analyse([text for text, _ in PROBES]))
    assert scores.shape == (len(PROBES), len(NAMES))
    assert list(scores.argmax(axis=1)) == [subject for _, subject in PROBES]
    assert np.all((scores >= 0) & (scores <= 1))
    assert scores.max(axis=1).min() > 0.5  # calibrated: the right subject is likely


def test_out_of_fold_scores_cover_every_document(corpus):
    from sklearn.model_selection import KFold

    docs, y = corpus
    folds = list(KFold(3, shuffle=True, random_state=0).split(docs))
    backend = create_backend("ensemble", {"backends": BASES})
    oof = backend.fit_out_of_fold(docs, y, folds, context=FitContext(ANALYZER))
    assert oof.shape == y.shape
    # Held-out predictions are informative: the gold subject outranks the others on average.
    gold = y.toarray() > 0
    assert oof[gold].mean() > oof[~gold].mean() + 0.3
    assert len(backend.bases_) == 2


def test_subjects_without_training_documents_take_the_best_base_score(corpus):
    docs, y = corpus
    # A fifth subject nobody has: the stacker cannot weigh it, so the best base score passes through.
    wider = sp.hstack([y, sp.csr_matrix((y.shape[0], 1))]).tocsr()
    backend = create_backend("ensemble", {"backends": BASES, "cv_folds": 3}).fit(docs, wider, context=FitContext(ANALYZER))
    probes = analyse([text for text, _ in PROBES])
    scores = backend.predict_scores(probes)
    base_best = np.max([b.predict_scores(probes)[:, 4] for b in backend.bases_], axis=0)
    np.testing.assert_allclose(scores[:, 4], base_best)


def test_save_load_round_trip(fitted, tmp_path):
    fitted.save(tmp_path / "e")
    loaded = load_backend(tmp_path / "e")
    probes = analyse([text for text, _ in PROBES])
    np.testing.assert_allclose(loaded.predict_scores(probes), fitted.predict_scores(probes), rtol=1e-6)
    assert not [p for p in (tmp_path / "e").rglob("*") if p.suffix in (".pkl", ".pickle", ".joblib")]
    assert loaded.get_params()["backends"] == BASES


def test_explain_merges_base_evidence(fitted):
    text = PROBES[3][0]
    evidence = fitted.explain(analyse([text])[0], 3, top=3)
    assert evidence and all(text[s:e] for ev in evidence for s, e in ev.spans)
    assert evidence == sorted(evidence, key=lambda ev: -ev.weight)


def test_empty_ensemble_is_refused(corpus):
    docs, y = corpus
    with pytest.raises(UsageError):
        create_backend("ensemble", {"backends": []}).fit(docs, y, context=FitContext(ANALYZER))


def test_a_stacker_of_another_shape_is_refused_when_loading(fitted, tmp_path):
    import json

    from fahras.errors import ModelError

    fitted.save(tmp_path / "e")
    stacker = tmp_path / "e" / "stacker.json"
    data = json.loads(stacker.read_text(encoding="utf-8"))
    data["coef"] = data["coef"][:-1]  # e.g. a model saved by a version with fewer stacker features
    stacker.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError, match="retrain"):
        load_backend(tmp_path / "e")


def test_stacker_sees_consensus_and_relative_scores(fitted):
    """Feature columns: 4 per base backend, then frequency, top-3 agreement and consensus rank."""
    probes = analyse([text for text, _ in PROBES])
    base = [b.predict_scores(probes) for b in fitted.bases_]
    rows, cols, x = fitted.stacker_.features(base)
    assert x.shape == (len(rows), fitted.stacker_.n_features)
    n = len(base)
    relative = x[:, 3 * n + 2: 4 * n + 2]
    assert (relative <= 1 + 1e-9).all() and np.isclose(relative.max(axis=0), 1).all()
    agreement, consensus = x[:, 3 * n + 1], x[:, -1]
    assert ((agreement >= 0) & (agreement <= 1)).all()
    # each probe's consensus winner (reciprocal rank 1) is one of its candidates
    for doc in range(len(probes)):
        assert np.isclose(consensus[rows == doc].max(), 1.0)


def test_the_stacker_refits_on_base_scores_without_refitting_the_bases(fitted, corpus):
    """What learning from new documents does: base scores of the documents -> a new stacker, same bases."""
    from fahras.models.ensemble import Stacker

    docs, y = corpus
    bases = list(fitted.bases_)
    base = fitted.base_scores(docs)
    alone = Stacker.for_subjects(len(base), y).fit(base, y)
    stacker = fitted.refit_stacker(base, y)
    assert fitted.bases_ == bases and fitted.stacker_ is stacker
    np.testing.assert_array_equal(stacker.head.coef, alone.head.coef)
    probes = analyse([text for text, _ in PROBES])
    np.testing.assert_array_equal(fitted.predict_scores(probes), alone.predict(fitted.base_scores(probes)))
    assert stacker.features(base)[2].shape[1] == stacker.n_features


def test_the_stacker_state_under_its_former_names(fitted):
    """coef_, intercept_, prior_, cover_ and candidate_features read and write the Stacker (fahras.learning)."""
    import copy

    ensemble = copy.deepcopy(fitted)
    assert ensemble.coef_ is ensemble.stacker_.head.coef and ensemble.intercept_ == ensemble.stacker_.head.intercept
    ensemble.coef_, ensemble.intercept_ = np.zeros_like(ensemble.coef_), -3.0
    assert not ensemble.stacker_.head.coef.any() and ensemble.stacker_.head.intercept == -3.0
    ensemble.prior_ = np.zeros_like(ensemble.prior_)
    assert not ensemble.stacker_.prior.any()
    probes = analyse([text for text, _ in PROBES])
    rows, cols, x = ensemble.candidate_features(ensemble.base_scores(probes))
    assert x.shape == (len(rows), ensemble.stacker_.n_features)
