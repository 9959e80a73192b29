"""Training at library scale, on small synthetic data: sparse tfidf-linear weights, the held-out
sample of large corpora, capped ranks in the stacker, the default bases by corpus size (issue 19)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import KFold

from fahras.models import FitContext, create_backend, load_backend
from fahras.models import budget
from fahras.models.budget import held_out_budget
from fahras.models.ensemble import DEFAULT_BASES, PER_SUBJECT_BASES, Stacker, _Ranking, default_bases_for
from synthetic import ANALYZER, NAMES, PROBES, analyse, analysed_corpus


@pytest.fixture(scope="module")
def corpus():
    return analysed_corpus(60, seed=5)


# -- tfidf-linear: sparse, pruned weights --------------------------------------------------------
def test_tfidf_linear_keeps_sparse_pruned_weights(corpus, tmp_path):
    docs, y = corpus
    full = create_backend("tfidf-linear", {"prune": 0.0}).fit(docs, y)
    pruned = create_backend("tfidf-linear", {"prune": 0.5}).fit(docs, y)
    assert sp.issparse(full.coef_) and sp.issparse(pruned.coef_)
    assert pruned.coef_.nnz < full.coef_.nnz
    assert np.abs(pruned.coef_.data).min() > 0.5
    # the kept weights are the unpruned ones
    dense_full, dense_pruned = full.coef_.toarray(), pruned.coef_.toarray()
    kept = dense_pruned != 0
    np.testing.assert_allclose(dense_pruned[kept], dense_full[kept])
    # pruning the small weights keeps the ranking of the probes
    probes = analyse([text for text, _ in PROBES])
    assert list(pruned.predict_scores(probes).argmax(axis=1)) == [s for _, s in PROBES]
    pruned.save(tmp_path / "m")
    assert (tmp_path / "m" / "coef.npz").exists() and not (tmp_path / "m" / "coef.npy").exists()
    again = load_backend(tmp_path / "m")
    np.testing.assert_allclose(again.predict_scores(probes), pruned.predict_scores(probes), rtol=1e-6)


def test_tfidf_linear_loads_a_model_with_dense_weights(corpus, tmp_path):
    docs, y = corpus
    fitted = create_backend("tfidf-linear").fit(docs, y)
    fitted.save(tmp_path / "m")
    folder = tmp_path / "m"
    # what a model saved before sparse weights holds: coef.npy, dense
    np.save(folder / "coef.npy", fitted.coef_.toarray())
    (folder / "coef.npz").unlink()
    (folder / "checksums.json").unlink(missing_ok=True)
    from fahras.models import backend_class

    old = backend_class("tfidf-linear")(**fitted.get_params())
    old.load_state(folder)
    probes = analyse([text for text, _ in PROBES])
    np.testing.assert_allclose(old.predict_scores(probes), fitted.predict_scores(probes), rtol=1e-6)


# -- the held-out sample ----------------------------------------------------------------------------
def test_held_out_budget_keeps_small_corpora_as_they_are():
    folds = list(KFold(3, shuffle=True, random_state=0).split(np.arange(90)))
    kept, sample = held_out_budget(folds, 90, 10, max_cells=10_000)
    assert sample is None and len(kept) == 3
    for (a, b), (c, d) in zip(kept, folds):
        assert np.array_equal(a, c) and np.array_equal(b, d)


def test_held_out_budget_samples_one_fold_of_large_corpora(monkeypatch):
    monkeypatch.setattr(budget, "MIN_HELD_DOCS", 10)
    folds = list(KFold(3, shuffle=True, random_state=0).split(np.arange(3000)))
    kept, sample = held_out_budget(folds, 3000, 100, max_cells=5_000, seed=1)
    assert len(kept) == 1
    train, held = kept[0]
    assert np.array_equal(train, folds[0][0])  # the fold's training part is untouched
    assert len(held) == 50 and np.array_equal(held, sample)
    assert set(held) <= set(folds[0][1]) and not set(held) & set(train)
    again = held_out_budget(folds, 3000, 100, max_cells=5_000, seed=1)[1]
    assert np.array_equal(again, sample)  # seeded


# -- capped ranks -------------------------------------------------------------------------------------
def test_capped_ranks_match_full_ranks_in_the_top_and_cap_below():
    rng = np.random.default_rng(0)
    scores = rng.random((7, 50)).astype(np.float32)
    scores[0, :5] = 0.9  # ties: lower column first, as a stable sort
    full = np.argsort(np.argsort(-scores, axis=1, kind="stable"), axis=1, kind="stable")
    capped = _Ranking(scores, k=3, depth=10)
    rows, cols = np.nonzero(np.ones_like(scores, dtype=bool))
    got = capped.rank(rows, cols).reshape(scores.shape)
    assert np.array_equal(np.where(full < 10, full, 10), got)
    assert np.array_equal(capped.top, np.argsort(-scores, axis=1, kind="stable")[:, :10])
    exact = _Ranking(scores, k=3, depth=50)
    assert np.array_equal(exact.rank(rows, cols).reshape(scores.shape), full)


def test_stacker_features_do_not_depend_on_the_rank_depth_for_few_subjects(monkeypatch):
    rng = np.random.default_rng(1)
    base = [rng.random((20, 30)).astype(np.float32) for _ in range(2)]
    stacker = Stacker(2, candidates=5, prior=np.ones(30, np.float32))
    rows, cols, x = stacker.features(base)
    from fahras.models import ensemble

    monkeypatch.setattr(ensemble, "RANK_DEPTH", 8)
    r2, c2, x2 = stacker.features(base)
    assert np.array_equal(rows, r2) and np.array_equal(cols, c2)
    # candidates are in every base's top 5, so their own ranks are exact; only ranks beyond 8 are capped
    rank_cols = [2, 5]
    assert np.allclose(x[:, rank_cols][x[:, rank_cols] >= 1 / 9], x2[:, rank_cols][x[:, rank_cols] >= 1 / 9])
    assert (x2[:, rank_cols] >= 1 / 9 - 1e-9).all()


# -- the ensemble on a held-out sample -----------------------------------------------------------------------
def test_ensemble_learns_its_stacker_from_a_held_out_sample(corpus):
    docs, y = corpus
    folds = list(KFold(3, shuffle=True, random_state=0).split(docs))
    train, held = folds[0]
    sample = held[: len(held) - 2]
    backend = create_backend("ensemble", {"backends": [{"name": "tfidf-linear"}, {"name": "knn",
                                                                                     "params": {"k": 5}}]})
    oof = backend.fit_out_of_fold(docs, y, [(train, sample)], context=FitContext(ANALYZER))
    assert sp.issparse(oof)  # a sample's held-out scores come back as CSR (stacker-sparse, #19)
    oof = oof.toarray()
    outside = np.setdiff1d(np.arange(len(docs)), sample)
    assert not oof[outside].any()
    gold = y.toarray()[sample] > 0
    assert oof[sample][gold].mean() > oof[sample][~gold].mean() + 0.3
    probes = analyse([text for text, _ in PROBES])
    assert list(backend.predict_scores(probes).argmax(axis=1)) == [s for _, s in PROBES]


def test_the_sample_stacker_learns_with_the_frequencies_the_bases_saw(corpus, monkeypatch):
    docs, y = corpus
    y = sp.hstack([y, sp.csr_matrix((y.shape[0], 1))]).tolil()
    folds = list(KFold(3, shuffle=True, random_state=0).split(docs))
    train, held = folds[0]
    y[held[0], 4] = 1  # a subject only one held-out document has
    y = y.tocsr()
    priors = []
    for name in ("fit", "fit_sparse"):  # (the sample's stacker fits from CSR scores: fit_sparse, #19)
        real = getattr(Stacker, name)
        monkeypatch.setattr(Stacker, name,
                            lambda self, b, t, real=real: priors.append(self.prior.copy()) or real(self, b, t))
    backend = create_backend("ensemble", {"backends": [{"name": "knn", "params": {"k": 5}}]})
    backend.fit_out_of_fold(docs, y, [(train, held[:-2])], context=FitContext(ANALYZER))
    assert priors and all(np.array_equal(p, Stacker.subject_prior(y[train])) for p in priors)
    assert priors[-1][4] == 0  # the held-out document's own subject is not counted
    np.testing.assert_array_equal(backend.stacker_.prior, Stacker.subject_prior(y))  # for new documents: all


def test_indexer_tunes_its_rule_on_the_held_out_sample(monkeypatch):
    from fahras.indexer import Indexer
    from synthetic import corpus_documents

    documents, vocab = corpus_documents()
    monkeypatch.setattr(budget, "MIN_HELD_DOCS", 5)
    monkeypatch.setattr(budget, "MAX_HELD_CELLS", 40)
    seen = {}
    real = budget.held_out_budget

    def spy(*args, **kwargs):
        seen["result"] = real(*args, **kwargs)
        return seen["result"]

    import fahras.indexer as indexer_module

    monkeypatch.setattr(indexer_module, "held_out_budget", spy)
    indexer = Indexer(backend="ensemble", backend_params={"backends": [{"name": "knn", "params": {"k": 5}}]})
    indexer.fit(documents, vocab)
    folds, sample = seen["result"]
    assert sample is not None and len(folds) == 1
    assert indexer.training_["cv_f1"] is not None and indexer.training_["cv_f1"] > 0
    assert indexer.suggest(documents[0].text)


# -- default bases by size -------------------------------------------------------------------------------
def test_default_bases_leave_out_per_subject_fits_on_large_corpora(caplog):
    small = default_bases_for(500, 100)
    assert small == tuple(DEFAULT_BASES)
    limit = PER_SUBJECT_BASES["tfidf-linear"]
    with caplog.at_level(logging.WARNING, logger="fahras.models.ensemble"):
        large = default_bases_for(limit // 1000 + 1, 1000)
    assert "tfidf-linear" not in [b["name"] for b in large]
    assert [b["name"] for b in DEFAULT_BASES if b["name"] != "tfidf-linear"] == [b["name"] for b in large]
    assert "leaves out tfidf-linear" in caplog.text
    omikuji = [b for b in large if b["name"] == "omikuji"]
    assert all(b["params"]["linear_weight_threshold"] == 0.1 for b in omikuji)
    assert "prunes its weights at 0.1" in caplog.text or not omikuji
    # a user's own omikuji setting wins
    own = default_bases_for(limit // 1000 + 1, 1000, [{"name": "omikuji", "params": {"linear_weight_threshold": 0.02}}])
    assert own[0]["params"]["linear_weight_threshold"] == 0.02


def test_the_default_ensemble_saves_the_bases_it_chose(corpus, monkeypatch, tmp_path):
    from fahras.models import ensemble

    docs, y = corpus
    monkeypatch.setattr(ensemble, "PER_SUBJECT_BASES", {"tfidf-linear": 10})
    bases = [b for b in DEFAULT_BASES if b["name"] in ("tfidf-linear", "knn")]
    monkeypatch.setattr(ensemble, "DEFAULT_BASES", tuple(bases))
    backend = ensemble.EnsembleBackend(backends=tuple(bases), cv_folds=2)
    backend.fit(docs, y, context=FitContext(ANALYZER, None))
    assert [b["name"] for b in backend.base_specs_] == ["knn"]
    assert len(backend.bases_) == 1
    backend.save(tmp_path / "m")
    again = load_backend(tmp_path / "m")
    probes = analyse([text for text, _ in PROBES])
    np.testing.assert_allclose(again.predict_scores(probes), backend.predict_scores(probes), rtol=1e-6)
    assert NAMES


def test_knn_scores_in_chunks_bounded_by_the_training_size(corpus, monkeypatch):
    from fahras.models import knn

    docs, y = corpus
    fitted = create_backend("knn", {"k": 5}).fit(docs, y)
    probes = analyse([text for text, _ in PROBES] * 3)
    whole = fitted.predict_scores(probes)
    widths = []
    real = fitted.features_.transform
    monkeypatch.setattr(fitted.features_, "transform", lambda batch: widths.append(len(batch)) or real(batch))
    monkeypatch.setattr(knn, "_MAX_SIMILARITIES", 2 * len(docs))  # two documents at a time
    np.testing.assert_allclose(fitted.predict_scores(probes), whole, rtol=1e-6)
    assert max(widths) == 2 and sum(widths) == len(probes)


_ROWS_ONLY = """
import numpy as np
from fahras.models.budget import rows_only

def rss_mb():
    with open("/proc/self/status") as handle:
        return int(handle.read().split("VmRSS:")[1].split()[0]) / 1024

rows = np.arange(0, 4000, 8)  # one row in 8 (4 KiB each): every 2 MiB page holds a written row
with rows_only():
    before = rss_mb()
    sparse_rows = np.zeros((4000, 1024), dtype=np.float32)  # 16 MB
    sparse_rows[rows] = 1.0
    print(rss_mb() - before)
"""


def test_rows_only_keeps_unwritten_rows_out_of_memory():
    import subprocess
    import sys

    # In a fresh process: here, a large free block left in the C heap by earlier tests (and given back to the
    # system by budget.release_free_memory) would serve np.zeros, which calloc then clears page by page.
    done = subprocess.run([sys.executable, "-c", _ROWS_ONLY], capture_output=True, text=True, check=True)
    grown = float(done.stdout.split()[-1])
    assert grown < 8, grown  # about 2 MB written, not 16
