"""Batch scoring on sparse scores (issue 19): the same rankings, features, scores and decisions as the
dense code, where the dense code is defined (a stable sort); see fahras.models.sparse_rank."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from fahras.decision import DecisionRule, top_columns
from fahras.indexer import _decided, _decided_sparse
from fahras.models.ensemble import RANK_DEPTH, Stacker, _Ranking
from fahras.models.linear import LinearHead
from fahras.models.sparse_rank import SparseRanking, as_csr, non_negative, row_max, stable_rank
from fahras.models.sparse_rank import top_columns as sparse_top_columns


def random_scores(rng, n_docs, n_subjects, per_row, ties=True, empty_rows=True) -> np.ndarray:
    """Non-negative documents x subjects scores, mostly zero, with ties (repeated values) and empty rows."""
    out = np.zeros((n_docs, n_subjects), dtype=np.float32)
    for i in range(n_docs):
        if empty_rows and i % 7 == 3:
            continue
        k = int(rng.integers(0, per_row + 1))
        cols = rng.choice(n_subjects, size=k, replace=False)
        values = rng.choice(np.float32([0.1, 0.25, 0.5, 0.9]), size=k) if ties else rng.random(k, dtype=np.float32)
        out[i, cols] = values
    return out


def stable_order(row: np.ndarray) -> np.ndarray:
    return np.argsort(-row, kind="stable")


@pytest.mark.parametrize("n_subjects, depth", [(30, 30), (300, 40), (300, RANK_DEPTH), (1000, 256)])
def test_sparse_ranking_is_the_stable_argsort(n_subjects, depth):
    rng = np.random.default_rng(n_subjects + depth)
    dense = random_scores(rng, 40, n_subjects, per_row=min(60, n_subjects))
    ranking = SparseRanking(as_csr(dense), depth)
    rows = np.repeat(np.arange(40), n_subjects)
    cols = np.tile(np.arange(n_subjects), 40)
    expected = np.empty((40, n_subjects), dtype=np.int64)
    for i in range(40):
        expected[i, stable_order(dense[i])] = np.arange(n_subjects)
    assert np.array_equal(ranking.rank(rows, cols), np.minimum(expected.ravel(), depth))
    assert np.array_equal(ranking.values(rows, cols), dense.ravel())
    for k in (1, 5, 20):
        top_rows, top_cols = ranking.top(k)
        got = {(int(r), int(c)) for r, c in zip(top_rows, top_cols)}
        want = {(i, int(c)) for i in range(40) for c in stable_order(dense[i])[:k]}
        assert got == want


def test_dense_ranking_agrees_up_to_its_depth_when_it_sorts_fully():
    rng = np.random.default_rng(3)
    dense = random_scores(rng, 25, 200, per_row=50)
    old = _Ranking(dense, 20)  # 200 subjects <= RANK_DEPTH: a full stable argsort
    new = SparseRanking(as_csr(dense), old.depth)
    rows, cols = np.nonzero(np.ones_like(dense, dtype=bool))
    assert np.array_equal(old.rank(rows, cols), new.rank(rows, cols))


def test_row_max_and_conversion():
    rng = np.random.default_rng(5)
    dense = random_scores(rng, 30, 50, per_row=10)
    matrix = as_csr(dense)
    assert np.array_equal(matrix.toarray(), dense) and not np.any(matrix.data == 0)
    assert np.array_equal(row_max(matrix), dense.max(axis=1))
    assert non_negative(matrix) and not non_negative(as_csr(-dense + 0.0 * (dense == 0)))


@pytest.mark.parametrize("limit", [1, 3, 10, 60])
def test_sparse_top_columns_and_ranks_match_the_dense_row(limit):
    rng = np.random.default_rng(limit)
    dense = random_scores(rng, 50, 40, per_row=12)
    for row in dense:
        cols = np.flatnonzero(row)
        vals = row[cols]
        assert np.array_equal(sparse_top_columns(cols, vals, len(row), limit), top_columns(row, limit))
        order = stable_order(row)
        for column in rng.choice(len(row), size=8, replace=False):
            assert stable_rank(cols, vals, int(column), float(row[column])) == int(np.flatnonzero(order == column)[0])


def fitted_stacker(rng, n_bases, n_subjects, unseen=0) -> Stacker:
    prior = np.log1p(rng.integers(0, 5, size=n_subjects)).astype(np.float32)
    prior[:unseen] = 0.0
    prior[unseen:] = np.maximum(prior[unseen:], 0.5)
    cover = sp.lil_matrix((n_subjects, n_subjects), dtype=np.float32)
    for c in range(unseen):  # each unseen subject is named by two seen ones
        cover[c, unseen + c] = 1.0
        cover[c, unseen + (c + 3) % (n_subjects - unseen)] = 1.0
    stacker = Stacker(n_bases, candidates=6, C=1.0, prior=prior, cover=sp.csr_matrix(cover))
    stacker.head = LinearHead(rng.normal(size=stacker.n_features), float(rng.normal()))
    return stacker


@pytest.mark.parametrize("unseen", [0, 5])
def test_stacker_sparse_path_gives_the_dense_scores(unseen):
    rng = np.random.default_rng(17 + unseen)
    n_subjects = 120  # <= RANK_DEPTH: the dense path ranks by a stable sort, so both must agree exactly
    stacker = fitted_stacker(rng, 3, n_subjects, unseen)
    base = [random_scores(rng, 60, n_subjects, per_row=p) for p in (30, 4, 0)]
    rows, cols, x = stacker.features(base)
    s_rows, s_cols, s_x = stacker.features_sparse([as_csr(b) for b in base])
    assert np.array_equal(rows, s_rows) and np.array_equal(cols, s_cols)
    assert np.array_equal(x, s_x)
    dense = stacker.predict(base)
    assert np.array_equal(stacker.predict_sparse([as_csr(b) for b in base]).toarray(), dense)


@pytest.mark.parametrize("rule", [DecisionRule(limit=5, threshold=0.3, min_one=True),
                                  DecisionRule(limit=10, threshold=0.0, min_one=False),
                                  DecisionRule(limit=4, threshold=0.0, gold_scale=1.5, gold_offset=0.5)])
def test_sparse_decisions_are_the_dense_ones(rule):
    rng = np.random.default_rng(rule.limit)
    dense = random_scores(rng, 80, 300, per_row=8, ties=False)
    assert _decided_sparse(as_csr(dense), rule) == _decided(dense, rule)


def test_trained_ensemble_scores_the_same_through_both_paths(trained_model, time_split):
    """On a real model: the ensemble's sparse scores equal the dense stacker's on the same base scores
    wherever the dense one is defined, and a suggestion batch decides what the dense rows decide."""
    from fahras import Indexer

    indexer = Indexer.load(trained_model)
    texts = [p.read_text(encoding="utf-8") for p in sorted(time_split[1].glob("*.txt"))[:20]]
    docs = [indexer.analyse(t) for t in texts]
    ensemble = indexer.backend_
    base = ensemble.base_scores(docs)
    sparse = ensemble.predict_sparse(docs)
    if base[0].shape[1] <= RANK_DEPTH:
        assert np.array_equal(sparse.toarray(), ensemble.combine(base))
    else:  # the dense path picks zero-score candidates in no defined order: compare where both have scores
        dense = ensemble.combine(base)
        both = (dense > 0) & (sparse.toarray() > 0)
        assert both.sum() > 0
    scores = indexer.scores(texts)
    assert np.array_equal(scores, indexer.sparse_scores(texts).toarray())
    assert indexer.decide_batch(texts) == _decided(scores, indexer.rule())


def test_knn_sparse_votes_match_the_dense_neighbours():
    from tests.synthetic import analyse, indicator, make_corpus

    from fahras.models.knn import KnnBackend

    texts, labels = make_corpus(60, seed=4)
    docs = analyse(texts)
    knn = KnnBackend(k=5).fit(docs[:45], indicator(labels[:45]))
    x = knn.features_.transform(docs[45:])
    dense = np.clip(knn._votes(*knn._neighbours(x)), 0, 1).astype(np.float32)
    sparse = knn.predict_sparse(docs[45:]).toarray()
    # the same neighbours unless similarities tie at the k-th place; sums within float rounding
    assert np.allclose(sparse, dense, rtol=1e-5, atol=1e-7)
    assert np.array_equal(sparse > 0, dense > 0)
