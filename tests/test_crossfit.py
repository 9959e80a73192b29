"""Cross-fitting base backends in worker processes gives what fitting them here gives."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import KFold

from fahras.models import AnalyzedText
from fahras.models.crossfit import MAX_AUTO_JOBS, MIN_DOCS_FOR_WORKERS, available_cores, cross_fit, effective_jobs
from synthetic import ANALYZER, PROBES, analyse, indicator, make_corpus

# Deterministic backends: their fits do not depend on the process they run in.
SPECS = [{"name": "tfidf-linear", "params": {"min_df": 1}}, {"name": "knn"}]


@pytest.fixture(scope="module")
def corpus():
    texts, labels = make_corpus(30)
    docs, y = analyse(texts), indicator(labels)
    folds = list(KFold(3, shuffle=True, random_state=0).split(docs))
    return docs, y, folds


def test_workers_give_the_same_held_out_scores_and_models(corpus):
    docs, y, folds = corpus
    here, held_here = cross_fit(SPECS, docs, y, ANALYZER, folds, n_jobs=1)
    there, held_there = cross_fit(SPECS, docs, y, ANALYZER, folds, n_jobs=2)
    probes = analyse([text for text, _ in PROBES])
    for a, b, ha, hb in zip(here, there, held_here, held_there):
        assert type(a) is type(b)
        np.testing.assert_allclose(ha, hb, rtol=1e-5, atol=1e-6)
        assert np.count_nonzero(ha) > 0
        np.testing.assert_allclose(a.predict_scores(probes), b.predict_scores(probes), rtol=1e-5, atol=1e-6)


def test_every_document_is_held_out_once(corpus):
    docs, y, folds = corpus
    _, held = cross_fit(SPECS[:1], docs, y, ANALYZER, folds, n_jobs=2)
    assert held[0].shape == y.shape
    assert (held[0].max(axis=1) > 0).all()


def test_a_failing_fit_in_a_worker_reaches_the_caller(corpus):
    _, y, folds = corpus
    empty = [AnalyzedText("", []) for _ in range(y.shape[0])]  # no term to learn from
    with pytest.raises(ValueError):
        cross_fit(SPECS[:1], empty, y, ANALYZER, folds, n_jobs=1)
    with pytest.raises(ValueError):
        cross_fit(SPECS[:1], empty, y, ANALYZER, folds, n_jobs=2)


def test_automatic_job_count():
    assert effective_jobs(0, MIN_DOCS_FOR_WORKERS - 1, 20) == 1
    assert effective_jobs(0, MIN_DOCS_FOR_WORKERS, 20) == min(available_cores(), MAX_AUTO_JOBS, 20)
    assert effective_jobs(4, 10, 3) == 3
    assert effective_jobs(1, 10_000, 20) == 1
    with pytest.raises(ValueError):
        effective_jobs(-1, 10, 3)
