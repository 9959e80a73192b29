"""Cross-fitting base backends in worker processes gives what fitting them here gives."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import KFold

from fahras.models import AnalyzedText
from fahras.models.crossfit import MAX_AUTO_JOBS, MIN_DOCS_FOR_WORKERS, available_cores, cross_fit, effective_jobs
from synthetic import ANALYZER, NAMES, PROBES, analyse, corpus_with_folds, make_corpus

# Deterministic backends: their fits do not depend on the process they run in.
SPECS = [{"name": "tfidf-linear", "params": {"min_df": 1}}, {"name": "knn"}]


@pytest.fixture(scope="module")
def corpus():
    return corpus_with_folds(30, 3)


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


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_document_is_held_out_once(jobs):
    """Each document's out-of-fold scores come from models that never saw it.

    Every document has a subject of its own besides its topic(s): a model that saw the
    document learned that subject and scores it; a model that did not has no example of it
    and cannot.  The fully fitted model shows that the check would see such a leak.
    """
    texts, labels = make_corpus(30)
    n, topics = len(texts), len(NAMES)
    y = np.zeros((n, topics + n), dtype=np.float32)
    for i, subjects in enumerate(labels):
        y[i, subjects] = 1
        y[i, topics + i] = 1  # its own subject
    docs, own = analyse(texts), (np.arange(n), topics + np.arange(n))
    folds = list(KFold(3, shuffle=True, random_state=0).split(docs))
    fitted, held = cross_fit(SPECS, docs, sp.csr_matrix(y), ANALYZER, folds, n_jobs=jobs)
    for spec, base, scores in zip(SPECS, fitted, held):
        assert scores.shape == y.shape
        assert scores[own].max() < 1e-3, spec  # no held-out score came from a model that saw the document
        assert (scores[:, :topics].max(axis=1) > 0.05).all(), spec  # ... and every document was scored
        assert (base.predict_scores(docs)[own] > 0.05).all(), spec  # a model that saw them scores them
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
