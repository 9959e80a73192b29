"""Lean training at library scale (issue 19): on a large corpus's held-out sample the base backends are
fitted once, without the sample and the documents kept together with it, and those fits are the final ones."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import KFold

from fahras.models import FitContext, backend_class, create_backend
from fahras.models import budget
from fahras.models.budget import FitOnce, held_out_budget
from fahras.models.crossfit import cross_fit
from synthetic import ANALYZER, PROBES, analyse, analysed_corpus


@pytest.fixture(scope="module")
def corpus():
    return analysed_corpus(60, seed=5)


def _folds(n: int) -> list:
    return list(KFold(3, shuffle=True, random_state=0).split(np.arange(n)))


# -- the fold ------------------------------------------------------------------------------------------
def test_fit_once_trains_on_everything_but_the_sample_and_its_groups(monkeypatch):
    monkeypatch.setattr(budget, "MIN_HELD_DOCS", 10)
    groups = [i // 2 for i in range(3000)]  # pairs of documents kept together
    folds, sample = held_out_budget(_folds(3000), 3000, 100, max_cells=5_000, seed=1, fit_once=True,
                                    groups=lambda: groups)
    assert isinstance(folds, FitOnce) and len(folds) == 1
    train, held = folds[0]
    assert np.array_equal(held, sample) and len(held) == 50
    mates = {groups[i] for i in held}
    assert not {groups[i] for i in train} & mates  # no document of a held-out group is trained on
    assert len(train) == 3000 - sum(groups.count(g) for g in mates)  # ... and every other one is
    # without groups only the sample is left out
    alone, _ = held_out_budget(_folds(3000), 3000, 100, max_cells=5_000, seed=1, fit_once=True)
    assert np.array_equal(np.sort(np.concatenate(alone[0])), np.arange(3000))


def test_fit_once_falls_back_to_two_fits_when_the_groups_are_large(monkeypatch):
    monkeypatch.setattr(budget, "MIN_HELD_DOCS", 10)
    groups = [i % 20 for i in range(3000)]  # 20 groups of 150: the sample touches most of them
    folds, sample = held_out_budget(_folds(3000), 3000, 100, max_cells=5_000, seed=1, fit_once=True,
                                    groups=lambda: groups)
    assert not isinstance(folds, FitOnce)
    assert np.array_equal(folds[0][0], _folds(3000)[0][0])  # the first fold's training part, as before


def test_small_corpora_keep_their_folds_with_fit_once():
    folds, sample = held_out_budget(_folds(90), 90, 10, max_cells=10_000, fit_once=True)
    assert sample is None and len(folds) == 3 and not isinstance(folds, FitOnce)


# -- fitting once -----------------------------------------------------------------------------------------
def _counting(monkeypatch, name: str) -> list:
    """Record the number of training documents of every fit of backend ``name``."""
    cls = backend_class(name)
    sizes = []
    real = cls.fit

    def fit(self, docs, y, *args, **kwargs):
        sizes.append(y.shape[0])
        return real(self, docs, y, *args, **kwargs)

    monkeypatch.setattr(cls, "fit", fit)
    return sizes


def test_a_backend_fits_once_on_a_fit_once_fold(corpus, monkeypatch):
    docs, y = corpus
    sizes = _counting(monkeypatch, "knn")
    train, held = np.arange(10, len(docs)), np.arange(10)
    backend = create_backend("knn", {"k": 5})
    oof = backend.fit_out_of_fold(docs, y, FitOnce([(train, held)]), context=FitContext(ANALYZER))
    assert sizes == [len(train)]  # one fit, on the training part (two before: the fold's, then all documents')
    assert oof[held].any() and not oof[train].any()
    np.testing.assert_allclose(oof[held], backend.predict_scores([docs[i] for i in held]), rtol=1e-6)


@pytest.mark.parametrize("jobs", [1, 2])
def test_cross_fit_keeps_the_fold_fits_as_the_final_bases(corpus, monkeypatch, jobs):
    docs, y = corpus
    docs = docs * 2  # enough documents for worker processes (crossfit.MIN_DOCS_FOR_WORKERS)
    y = sp.vstack([y, y]).tocsr()
    n = len(docs)
    train, held = np.arange(0, n - 12), np.arange(n - 12, n)
    specs = [{"name": "tfidf-linear", "params": {"min_df": 1}}, {"name": "knn", "params": {"k": 5}}]
    fitted, oof = cross_fit(specs, docs, y, ANALYZER, FitOnce([(train, held)]), n_jobs=jobs)
    probes = analyse([text for text, _ in PROBES])
    for spec, base, scores in zip(specs, fitted, oof):
        # the final base is the one fitted on the training part: its scores of the held-out documents are theirs
        np.testing.assert_allclose(base.predict_scores([docs[i] for i in held]), scores[held], rtol=1e-5,
                                   atol=1e-6)
        again = create_backend(spec["name"], spec["params"]).fit([docs[i] for i in train], y[train])
        np.testing.assert_allclose(base.predict_scores(probes), again.predict_scores(probes), rtol=1e-5, atol=1e-6)
        assert not scores[train].any()


# -- a base that would score almost no document ----------------------------------------------------------
def test_acronyms_are_left_out_when_they_would_score_almost_no_document():
    from fahras.models.ensemble import MIN_SCORED_SHARE, _nothing_to_learn
    from fahras.models.base import AnalyzedText
    from fahras.vocab.concept import local_concept

    concepts = [local_concept("UN MISSION IN LIBERIA"), local_concept("FISHERIES")]
    define = "Welcoming the United Nations Mission in Liberia (UNMIL), decides that UNMIL shall continue."
    plain = "Catch quotas for the fisheries of the North Atlantic."
    n = 400
    y = sp.csr_matrix((n, 2), dtype=np.float32)
    context = FitContext(None, concepts)
    # one document in 400 defines (and names) the only acronym: fewer than MIN_SCORED_SHARE would be scored
    rare = [AnalyzedText(define if i == 0 else plain, []) for i in range(n)]
    assert 1 / n < MIN_SCORED_SHARE
    reason = _nothing_to_learn({"name": "acronyms"}, rare, y, context)
    assert "would score" in reason
    # one in ten names it: kept
    common = [AnalyzedText(define if i % 10 == 0 else plain, []) for i in range(n)]
    assert _nothing_to_learn({"name": "acronyms"}, common, y, context) == ""


@pytest.mark.parametrize("kind", ["random", "grouped", "time"])
def test_the_indexer_fits_each_base_once_on_a_large_corpus(monkeypatch, kind):
    from fahras.indexer import Indexer
    from synthetic import corpus_documents

    documents, vocab = corpus_documents()
    monkeypatch.setattr(budget, "MIN_HELD_DOCS", 5)
    monkeypatch.setattr(budget, "MAX_HELD_CELLS", 40)  # the synthetic corpus is "large"
    monkeypatch.setattr(budget, "FIT_ONCE_MAX_SHARE", 0.5)
    sizes = _counting(monkeypatch, "knn")
    indexer = Indexer(backend="ensemble", folds=kind,
                      backend_params={"backends": [{"name": "knn", "params": {"k": 5}}], "n_jobs": 1})
    indexer.fit(documents, vocab)
    n = len(documents)
    if kind != "random":  # time folds, and groups (4 subjects here: a few heading sets) holding most documents:
        assert len(sizes) == 2 and sizes[-1] == n  # fitted without the held-out fold, then on all documents
    else:  # once, without the held-out sample (and its groups)
        assert len(sizes) == 1 and sizes[0] < n
    assert indexer.training_["cv_f1"] is not None and indexer.suggest(documents[0].text)


# -- labels: only the calibrating documents keep their matches ------------------------------------------
def test_labels_keeps_the_matches_of_the_calibrating_documents_only(monkeypatch):
    from fahras.models.labels import LabelsBackend
    from fahras.vocab import Concept
    from synthetic import NAMES

    docs, y = analysed_corpus(48, seed=3)
    words = {"WATER": "drought", "HEALTH": "malaria", "EDUCATION": "literacy", "MINING": "copper mine"}
    concepts = [Concept(f"http://x/{name}", name, {"en": words[name]}) for name in NAMES]
    held = []
    real = LabelsBackend._learn
    monkeypatch.setattr(LabelsBackend, "_learn", lambda self, pairs, *a: held.append(len(pairs)) or
                        real(self, pairs, *a))
    small = create_backend("labels", {"learn_docs": 10}).fit(docs, y, context=FitContext(ANALYZER, concepts))
    assert held == [10]  # not one entry per training document
    whole = create_backend("labels").fit(docs, y, context=FitContext(ANALYZER, concepts))
    assert held[-1] == len(docs)
    # the concepts' record counts every document either way; only the head's calibration is sampled
    np.testing.assert_array_equal(small.matched_, whole.matched_)
    np.testing.assert_array_equal(small.right_, whole.right_)
    probes = analyse(["a drought, a drought", "the copper mine", "nothing"])
    assert small.predict_scores(probes)[0, NAMES.index("WATER")] > 0


# -- freed memory goes back to the system -----------------------------------------------------------------
def _rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_release_free_memory_gives_freed_small_arrays_back():
    import sys

    if not sys.platform.startswith("linux") or not budget.release_free_memory():
        pytest.skip("no glibc malloc_trim here")
    keep, many = [], []
    for i in range(300_000):  # small arrays come from the C heap, interleaved with ones that stay
        many.append((np.zeros(3, np.int64), np.zeros((3, 7))))
        if i % 50 == 0:
            keep.append(np.zeros(5))
    del many
    before = _rss_mb()
    assert budget.release_free_memory()
    assert _rss_mb() < before - 30  # about 100 MB were freed but kept by the allocator


def test_cross_fit_releases_memory_after_each_base_fitted_here(corpus, monkeypatch):
    from fahras.models import crossfit

    docs, y = corpus
    calls = []
    monkeypatch.setattr(crossfit, "release_free_memory", lambda: calls.append(1) or True)
    specs = [{"name": "knn", "params": {"k": 5}}, {"name": "tfidf-linear", "params": {"min_df": 1}}]
    cross_fit(specs, docs, y, ANALYZER, _folds(len(docs)), n_jobs=1)
    assert len(calls) == len(specs)
